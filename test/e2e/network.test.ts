/**
 * Beam on a realistic network: 20 background validators hold 95 % of the voting power, a block
 * commits only with more than 2/3 of it, and the chain halts when more than 1/3 is offline. Two
 * validator nodes run with their pilots as remote signers (real processes) against the real
 * self-hosted commander. Beam's validator going down is a miss of ours alone (the chain goes on, and
 * Beam fails over); a third of the network going down is a halt (Beam says so, keeps its signer and
 * fails nothing over).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../bots/model.js';
import { requestFailover } from '../../commander/app/failover-ops.js';
import type { RunningCommander } from '../../commander/server/serve.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { PilotProcess } from '../../local/pilot-process.js';
import { RecordingTransport } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase, pilotConfigFor } from '../pilot/harness.js';
import { FailoverProbe, Link, SIGNER_FAILOVER, serveCommander } from './failover-kit.js';

const TOKEN = 'e2e-network-enrollment-token-01';
const ACTOR = { kind: 'console' as const, id: 'e2e' };
const BLOCK_MS = 300;

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let probe: FailoverProbe;
const chat = new RecordingTransport('console');
const pilots = new Map<string, PilotProcess>();
const links: Link[] = [];

const pilot = (name: string) => pilots.get(name)!;
const said = () => [...chat.posts, ...chat.updates].map((m) => m.message);
const text = (m: ChatMessage) =>
  [m.title, m.text, ...(m.fields ?? []).map((f) => `${f.label}: ${f.value}`), m.context].join('\n');

async function background(route: string, body: unknown): Promise<void> {
  const res = await fetch(`${devnet.info.hub.controlUrl}/background/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

/** A validator node back as a standby: daemon up and answering, its signer connected, not signing. */
function standby(name: string): Promise<unknown> {
  return waitFor(async () => {
    const r = await probe.lastReport(name);
    return r?.daemon.running && r.daemon.rpcReachable && r.custody?.signerConnected === true;
  }, `${name} up as a standby`);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-network-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: BLOCK_MS,
    standby: 1,
    sentries: 0,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
    keyMode: 'signer',
    params: { slashing: { signedBlocksWindow: 5_000 } },
  });
  expect(devnet.hub.background.list()).toHaveLength(20);
  probe = new FailoverProbe(devnet, devnet.info.validators[0]!.consensusAddress, () => commander);
  commander = await serveCommander(dir, TOKEN, SIGNER_FAILOVER, chat, {
    // Reports every 500 ms: 10 intervals before a pilot counts as silent on a loaded machine; the
    // halt alert after 10 s of no block rather than a minute, to keep the test short.
    thresholds: { silentIntervals: 10, chainHaltedMs: 10_000 },
  });
  const tokenFile = path.join(dir, 'enrollment-token');
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  for (const name of ['val-a', 'val-b']) {
    const link = new Link(() => commander.url);
    await link.start();
    links.push(link);
    const setup = await pilotConfigFor(devnet.info, name, dir, {
      commanderUrl: link.url,
      enrollmentTokenFile: tokenFile,
    });
    const p = new PilotProcess(
      name,
      setup.file,
      setup.stateDir,
      path.join(dir, `pilot-${name}.log`),
      setup.config.upgrade.install_dir,
    );
    pilots.set(name, p);
    p.start();
  }
  await approveOnEnrollment(commander.deps, ['val-a', 'val-b']);
  await standby('val-a');
  await standby('val-b');
  const from = probe.height();
  // Accepted once the commander sees val-a synced and following new blocks.
  await waitFor(
    async () => (await requestFailover(commander.deps, { to: 'val-a', actor: ACTOR })).accepted,
    'the first promotion accepted',
  );
  await probe.signingAgain('val-a', from);
}, 90_000);

afterAll(async () => {
  await background('up', {}).catch(() => {});
  for (const p of pilots.values()) {
    p.signalDaemon('SIGCONT');
    await p.stop(2_000);
  }
  for (const l of links) await l.stop();
  await commander?.close();
  await devnet?.stop();
  if (!process.env.KEEP_E2E_DIR) await fs.rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
});

describe('Beam on a network of many validators', () => {
  it('our validator down: the chain goes on without us, and Beam fails over', async () => {
    const from = probe.height();
    const messages = said().length;
    pilot('val-a').signalDaemon('SIGSTOP');
    try {
      // The chain does not need us: 95 % of the power keeps committing while we miss.
      await waitFor(() => probe.height() >= from + 5, 'five blocks without our validator');
      expect(probe.signedBy('val-a', from + 1)).toEqual([]);
      await probe.signingAgain('val-b', from);
    } finally {
      pilot('val-a').signalDaemon('SIGCONT');
    }
    const s = await probe.state();
    expect(s.op).toMatchObject({ kind: 'failover', from: 'val-a', to: 'val-b' });
    const thread = said().slice(messages).map(text).join('\n');
    // Named for what it is: our miss while the network signed, never a network stall or a halt.
    expect(thread).toMatch(/without our signature/);
    expect(thread).not.toMatch(/stall|halted/i);
    await standby('val-a');
    probe.noDoubleSign();
  }, 90_000);

  it('a third of the network down: the chain halts, Beam says so and fails nothing over; it resumes with the same signer', async () => {
    const before = await probe.state();
    const holder = before.lease.holder!;
    const epoch = before.lease.epoch;
    const messages = said().length;
    const posts = chat.posts.length;
    // 8 of 20 background validators (38 % of the power): less than 2/3 remains.
    await background('down', { count: 8 });
    const haltedAt = probe.height();
    const halted = await probe.diagnosed(() =>
      waitFor(
        () =>
          said()
            .slice(messages)
            .find((m) => /the chain halted at height/.test(`${m.title}\n${m.text ?? ''}`)),
        'Beam saying the chain halted',
        { timeoutMs: 90_000 },
      ),
    );
    expect(halted.severity).toBe('critical');
    expect(probe.height()).toBeLessThanOrEqual(haltedAt + 1);
    // Through the halt: the same signer at the same epoch, nothing moving, no failover alert.
    const during = await probe.state();
    expect(during.lease).toMatchObject({ holder, epoch });
    expect(during.op?.kind === 'failover' && during.op.phase !== 'done').toBe(false);
    expect(Date.now()).toBeLessThan(during.lease.expiresAt + SIGNER_FAILOVER.leaseDurationMs);
    // No failover thread and no failover alert: a halt is nobody's fault.
    const posted = chat.posts.slice(posts).map((p) => text(p.message));
    expect(posted.join('\n')).not.toMatch(/no standby|is failing|^Failover/im);

    const resumedFrom = probe.height();
    await background('up', {});
    await probe.signingAgain(holder, resumedFrom);
    const after = await probe.state();
    expect(after.lease).toMatchObject({ holder, epoch });
    probe.noDoubleSign();
  }, 150_000);
});
