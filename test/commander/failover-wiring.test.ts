import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/index.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { failoverSettingsOf, loadFailover } from '../../commander/app/failover.js';
import {
  answerFailover,
  failoverOverview,
  requestFailover,
  requestSwitchover,
} from '../../commander/app/failover-ops.js';
import { runTick } from '../../commander/app/tick.js';
import { loadServeConfig } from '../../commander/server/serve.js';
import { sampleReport } from '../fixtures/report.js';
import {
  OPERATOR,
  type TestCommander,
  enrollApproved,
  enrollRequest,
  makeCommander,
  sendReport,
  startDynalite,
} from './helpers.js';

const VALIDATOR = 'B'.repeat(40);
const CHAIN = 'beam-devnet-1';
const FAST = {
  reportIntervalMs: 1_000,
  failover: {
    reportIntervalMs: 1_000,
    leaseDurationMs: 10_000,
    renewMarginMs: 5_000,
    silentAfterMs: 3_000,
    chainHaltAfterMs: 5_000,
    startupGraceMs: 10_000,
    pilotFenceDelayMs: 2_000,
    maxClockSkewMs: 1_000,
    graceMs: 4_000,
    missedCommitsForFailover: 3,
    mode: 'confirm' as const,
  },
  access: { console: { users: { op: 'operator' as const }, chats: ['ops'] } },
};

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

/** A world of one chain with a block per second; each node reports what its own daemon sees. */
class World {
  height = 100;
  signer: string | null = 'val-a';
  readonly signed = new Map<number, boolean>();
  readonly seq = new Map<string, number>();
  readonly secrets = new Map<string, string>();
  readonly key = new Map<string, boolean>([
    ['val-a', true],
    ['val-b', false],
  ]);
  readonly epochs = new Map<string, number>();
  readonly pending = new Map<string, Report['results']>();
  constructor(readonly c: TestCommander) {}

  block(): void {
    this.height++;
    this.signed.set(this.height, this.signer !== null);
    this.c.clock.advance(1_000);
  }

  report(nodeId: string, over: Partial<Report['daemon']> = {}): Report {
    const seq = (this.seq.get(nodeId) ?? 0) + 1;
    this.seq.set(nodeId, seq);
    const base = sampleReport();
    const commits = [4, 3, 2, 1].map((d) => ({
      height: this.height - d,
      signed: this.signed.get(this.height - d) ?? true,
      at: this.c.clock.now(),
    }));
    return sampleReport({
      nodeId,
      seq,
      sentAt: this.c.clock.now(),
      chainId: CHAIN,
      daemon: { ...base.daemon, height: this.height, latestBlockTime: this.c.clock.now(), ...over },
      chain: {
        validatorAddress: VALIDATOR,
        operatorAddress: null,
        recentCommits: commits,
        signingInfo: null,
        validator: null,
        networkSignedShare: null,
        balances: [],
        rewards: [],
        commission: [],
        proposals: [],
        grants: null,
        errors: [],
      },
      custody: {
        mode: 'file',
        signMark: null,
        signerConnected: null,
        holdsValidatorKey: this.key.get(nodeId) ?? false,
        highestEpoch: this.epochs.get(nodeId) ?? 0,
        leaseExpiresAt: null,
        fenced: false,
      },
      results: this.pending.get(nodeId) ?? [],
    });
  }

  /** Sends a report and executes the key actions of the reply the way a pilot would. */
  async send(nodeId: string, over: Partial<Report['daemon']> = {}) {
    const reply = await sendReport(this.c, this.secrets.get(nodeId)!, this.report(nodeId, over));
    expect(reply.status).toBe(200);
    const acked = new Set(reply.body.ackedResults as string[]);
    this.pending.set(
      nodeId,
      (this.pending.get(nodeId) ?? []).filter((r) => !acked.has(r.id)),
    );
    for (const action of reply.body.actions as { id: string; type: string; epoch: number }[]) {
      if (action.type !== 'promote' && action.type !== 'demote') continue;
      if ((this.pending.get(nodeId) ?? []).some((r) => r.id === action.id)) continue;
      this.epochs.set(nodeId, Math.max(this.epochs.get(nodeId) ?? 0, action.epoch));
      this.key.set(nodeId, action.type === 'promote');
      if (action.type === 'promote') this.signer = nodeId;
      else if (this.signer === nodeId) this.signer = null;
      this.pending.set(nodeId, [
        ...(this.pending.get(nodeId) ?? []),
        { id: action.id, type: action.type, ok: true, finishedAt: this.c.clock.now() },
      ]);
    }
    return reply.body;
  }
}

async function setup(overrides = {}) {
  const c = await makeCommander(db.endpoint, { ...FAST, ...overrides });
  const w = new World(c);
  for (const [name, claim] of [
    ['val-a', 'a'],
    ['val-b', 'b'],
  ] as const) {
    w.secrets.set(name, await enrollApproved(c, enrollRequest({ name, claim: claim.repeat(64) })));
  }
  for (let i = 0; i < 5; i++) w.block();
  return { c, w };
}

describe('failover wired into the report path and the tick', () => {
  it('adopts the signing node, renews it on healthy reports, and costs at most 3 store calls per report', async () => {
    const { c, w } = await setup();
    const first = await w.send('val-a');
    expect(first.lease).toMatchObject({ holder: true, epoch: 1 });
    expect((await w.send('val-b')).lease).toMatchObject({ holder: false, epoch: 1 });
    for (let i = 0; i < 8; i++) {
      w.block();
      c.calls.reset();
      const reply = await w.send('val-a');
      expect(c.calls.calls).toBeLessThanOrEqual(3);
      expect(reply.lease).toMatchObject({ holder: true });
      expect((reply.lease as { expiresAt: number }).expiresAt).toBeGreaterThan(c.clock.now());
      c.calls.reset();
      await w.send('val-b');
      expect(c.calls.calls).toBeLessThanOrEqual(3);
    }
    expect(await failoverOverview(c.deps)).toEqual([
      { chainId: CHAIN, validator: VALIDATOR, holder: 'val-a', epoch: 1, mode: 'confirm' },
    ]);
    const audit = await c.app.listAudit(OPERATOR, 50);
    expect(audit.map((a) => a.action)).toContain('failover.adopted');
  });

  it('asks in chat with buttons when the primary falls silent, fails over on confirm, and reports done', async () => {
    // A stray keeping the key is news after 4 s here (15 s by default).
    const { c, w } = await setup({ alerts: { pendingMs: { stray: 4_000 } } });
    await w.send('val-a');
    await w.send('val-b');
    // val-a's machine dies: nobody signs any more, val-b keeps reporting.
    w.signer = null;
    for (let i = 0; i < 5; i++) {
      w.block();
      await w.send('val-b');
    }
    await runTick(c.deps);
    const question = c.transport.posts.find((p) => p.message.title === 'Fail over to val-b?');
    expect(question?.message.buttons?.map((b) => b.label)).toEqual(['Fail over', 'Not now']);
    const state = (await loadFailover(c.store, { chainId: CHAIN, validator: VALIDATOR })).state;
    expect(state.op).toMatchObject({ phase: 'awaiting-confirmation', from: 'val-a', to: 'val-b' });
    const opId = state.op!.id;

    // A second failover request is refused while one is pending.
    const again = await requestFailover(c.deps, { actor: OPERATOR });
    expect(again).toMatchObject({ accepted: false, summary: expect.stringContaining('already') });

    // An operator presses [Fail over]: the button runs `confirm-failover <opId>` through chatops.
    const chatops = createChatOps(c.deps);
    const pressed = await chatops.handle({
      kind: 'button',
      platform: 'console',
      chat: 'ops',
      user: { id: 'op' },
      buttonId: question!.message.buttons![0]!.id,
      message: question!.ref,
    });
    expect(pressed[0]!.message.title).toContain('accepted');
    expect((await loadFailover(c.store, { chainId: CHAIN, validator: VALIDATOR })).state.op).toMatchObject({
      id: opId,
      confirmedBy: 'console:op',
    });
    expect((await answerFailover(c.deps, { opId, confirm: true, actor: OPERATOR })).accepted).toBe(false);

    // The lease moves only after expiry + grace (val-a never confirmed its demote).
    let promoted = false;
    for (let i = 0; i < 20 && !promoted; i++) {
      w.block();
      await w.send('val-b');
      promoted = w.signer === 'val-b';
    }
    expect(promoted).toBe(true);
    w.block();
    await w.send('val-b');
    w.block();
    w.block();
    const done = await w.send('val-b');
    expect(done.lease).toMatchObject({ holder: true, epoch: 2 });
    const final = (await loadFailover(c.store, { chainId: CHAIN, validator: VALIDATOR })).state;
    expect(final.op).toMatchObject({ id: opId, phase: 'done', confirmedBy: 'console:op' });
    const titles = c.transport.updates.map((u) => u.message.title);
    expect(titles).toContain('Failover done: val-b is signing');
    const audit = (await c.app.listAudit(OPERATOR, 200)).map((a) => a.action);
    expect(audit).toEqual(expect.arrayContaining(['failover.confirmed', 'failover.lease-moved']));

    // The old primary comes back with the key: it is demoted at once, and having obeyed within the
    // stray alert's pending time, nobody hears of it (val-a's other alerts share one message).
    const told = () =>
      [...c.transport.posts, ...c.transport.updates].filter((m) =>
        `${m.message.title}\n${m.message.text}`.includes('without the lease'),
      );
    w.key.set('val-a', true);
    const back = await w.send('val-a');
    expect(back.lease).toMatchObject({ holder: false, epoch: 2 });
    expect(w.key.get('val-a')).toBe(false);
    await runTick(c.deps);
    await w.send('val-a');
    await runTick(c.deps);
    expect(told()).toEqual([]);
    // One that keeps the key past it is critical news; resolved in place once it obeys.
    for (let i = 0; i < 6; i++) {
      w.key.set('val-a', true);
      await w.send('val-a');
      await w.send('val-b');
      w.block();
      await runTick(c.deps);
    }
    expect(told().length).toBeGreaterThan(0);
    expect(told()[0]!.message.severity).toBe('critical');
    const stray = `failover:${CHAIN}:${VALIDATOR}:stray:val-a`;
    expect((await c.store.getAlert(stray))?.value).toMatchObject({ state: 'open', nodeId: 'val-a' });
    await w.send('val-a');
    w.block();
    await runTick(c.deps);
    expect((await c.store.getAlert(stray))?.value).toMatchObject({ state: 'resolved' });
    expect(told().at(-1)!.message.text).toMatch(
      /resolved after \d+ s: val-a holds the \w+ key without the lease/,
    );
  });

  it('switchover demotes first and promotes on the demote result, without waiting for expiry', async () => {
    const { c, w } = await setup({ failover: { ...FAST.failover, mode: 'auto' } });
    await w.send('val-a');
    await w.send('val-b');
    w.block();
    await w.send('val-a');
    await w.send('val-b');
    const started = await requestSwitchover(c.deps, { actor: OPERATOR });
    expect(started).toMatchObject({ accepted: true, summary: expect.stringContaining('val-a → val-b') });
    const t0 = c.clock.now();
    await w.send('val-a'); // receives the demote
    expect(w.key.get('val-a')).toBe(false);
    await w.send('val-a'); // reports its result
    await w.send('val-b'); // receives the promote
    expect(w.signer).toBe('val-b');
    expect(c.clock.now() - t0).toBeLessThan(1_000);
    const refused = await requestSwitchover(c.deps, { to: 'val-x', actor: OPERATOR });
    expect(refused).toMatchObject({ accepted: false });
  });
});

describe('failover settings', () => {
  it('come from the self-hosted config file, checked against the report interval', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-failover-settings-'));
    try {
      const file = path.join(dir, 'commander.toml');
      await fs.writeFile(
        file,
        [
          '[settings]',
          'reportIntervalMs = 1000',
          '[settings.failover]',
          'reportIntervalMs = 1000',
          'mode = "auto"',
          'silentAfterMs = 3000',
          'missedCommitsForFailover = 5',
        ].join('\n'),
      );
      const config = loadServeConfig({ config: file }, { BEAM_ENROLLMENT_TOKEN: 'x'.repeat(20) });
      const settings = failoverSettingsOf({ ...config.settings, tableName: 't' });
      expect(settings).toMatchObject({ mode: 'auto', silentAfterMs: 3000, missedCommitsForFailover: 5 });
      expect(settings).toMatchObject({ keyMode: 'signer', graceMs: 5_000 });

      await fs.writeFile(file, ['[settings.failover]', 'keyMode = "file"', 'graceMs = 12000'].join('\n'));
      expect(() => loadServeConfig({ config: file }, { BEAM_ENROLLMENT_TOKEN: 'x'.repeat(20) })).toThrow(
        /failover\.graceMs: must exceed pilotFenceDelayMs \+ maxClockSkewMs \(25000 ms\)/,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
