/**
 * Finding: a sentry enrolled with the fleet token (then auto-approved) and the p2p address
 * `203.0.113.9:26656 x` made every validator's reply fail the pilot's schema (nothing executed, no
 * lease grant seen); with `203.0.113.9:99999` the address reached every validator's
 * persistent_peers and CometBFT refused to start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../commander/app/tick.js';
import type { NodeRecord } from '../../commander/domain/registry.js';
import { type Action, ReportReply } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import { waitFor } from '../helpers/wait.js';
import {
  enroll,
  enrollApproved,
  enrollRequest,
  makeCommander,
  refusalSamples,
  sendReport,
  snapshotBesideRefusals,
  startDynalite,
  type TestCommander,
} from '../commander/helpers.js';
import { FakeCommander } from '../pilot/harness.js';
import { attack, type PilotWorld, pilotWorld } from './kit.js';

const SPACED = '203.0.113.9:26656 x';
const OUT_OF_RANGE = '203.0.113.9:99999';
const ATTACKER_ID = 'f'.repeat(40);

let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint, { autoApprove: { roles: ['sentry'] } });
});
afterAll(async () => {
  await db?.close();
});

const sentry = (name: string, p2pAddress: string, i: number) =>
  enrollRequest({
    name,
    role: 'sentry',
    instanceId: `i-${i}`,
    claim: String(i % 10).repeat(64),
    cometNodeId: ATTACKER_ID,
    p2pAddress,
  });

describe('a bad p2p address from an enrolling sentry', () => {
  it('is refused at enrollment with a 400 naming p2pAddress and the fix; nothing is written', async () => {
    const before = await snapshotBesideRefusals(c);
    const cases: [string, RegExp][] = [
      [SPACED, /^p2pAddress: "203\.0\.113\.9:26656 x" contains a space or control character: use host:port/],
      [OUT_OF_RANGE, /^p2pAddress: port "99999" is not a port: use a number from 1 to 65535/],
      ['203.0.113.9:26656,ab@1.2.3.4:1', /^p2pAddress: host ".*" has a colon/],
      ['203.0.113.9\n:26656', /^p2pAddress: .*control character/],
      ['300.0.113.9:26656', /^p2pAddress: host "300\.0\.113\.9" is not an IPv4 address/],
      ['2001:db8::9:26656', /^p2pAddress: host "2001:db8::9" has a colon: an IPv6 host goes in brackets/],
    ];
    for (const [i, [address, detail]] of cases.entries()) {
      attack(`a sentry enrolls with p2pAddress ${JSON.stringify(address)}`);
      const reply = await enroll(c, sentry(`evil-${i}`, address, i));
      expect(reply.status, address).toBe(400);
      expect(reply.body.error).toBe('invalid enroll request');
      expect(reply.body.detail, address).toMatch(detail);
    }
    // Nothing is written but the sampled refusal: one audit item, its count rewritten after the minute.
    expect(await snapshotBesideRefusals(c)).toBe(before);
    expect(await refusalSamples(c)).toEqual(['malformed ×1']);
    // The same sentry with a good address is welcome (approved by a person: it proves no instance).
    await enrollApproved(c, sentry('sentry-ok', '203.0.113.9:26656', 7));
  });

  it('one that slipped in before the check never reaches a validator: not in its config, not in its reply', async () => {
    attack(
      'a sentry registered with 203.0.113.9:99999 before the strict check, and a dial-peers to it queued',
    );
    const secret = await enrollApproved(c, enrollRequest({ name: 'val-a', p2pAddress: '10.0.0.1:26656' }));
    const legacy = (await c.store.getNode('sentry-ok'))!.value;
    const planted: NodeRecord = {
      ...legacy,
      id: 'evil-old',
      claimHash: '0'.repeat(64),
      p2pAddress: OUT_OF_RANGE,
      cometNodeId: ATTACKER_ID,
    };
    await c.store.putNode(planted, null);
    await runTick(c.deps);
    const stored = (await c.store.getNode('val-a'))!;
    expect(stored.value.desiredConfig?.patch.p2p?.persistent_peers).toEqual([
      `${ATTACKER_ID}@203.0.113.9:26656`,
    ]);
    // A dial-peers to the bad address queued by an older commander is dropped, not sent.
    const queuedBad = {
      id: 'dial-legacy',
      type: 'dial-peers',
      issuedAt: c.clock.now(),
      peers: [`${ATTACKER_ID}@${OUT_OF_RANGE}`],
      persistent: true,
      unconditional: false,
      private: false,
    } as Action;
    await c.store.putNode({ ...stored.value, actions: [...stored.value.actions, queuedBad] }, stored.version);

    const reply = await sendReport(c, secret, sampleReport({ seq: 1, sentAt: c.clock.now() }));
    expect(reply.status).toBe(200);
    expect(ReportReply.safeParse(reply.body).success).toBe(true);
    expect(JSON.stringify(reply.body)).not.toContain(OUT_OF_RANGE);
    expect((reply.body.actions as Action[]).map((a) => a.type)).toEqual(['apply-config', 'dial-peers']);
    expect((await c.store.getNode('val-a'))!.value.actions.map((a) => a.id)).not.toContain('dial-legacy');
    const audit = await c.store.listAudit(20);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'action-dropped',
        target: 'val-a',
        detail: expect.stringMatching(
          /^dial-peers dial-legacy not sent: invalid action: peers\.0: port "99999"/,
        ),
      }),
    );
  });
});

describe('a validator pilot handed a bad action anyway', () => {
  const commander = new FakeCommander();
  let world: PilotWorld;

  beforeAll(async () => {
    await commander.start();
    world = await pilotWorld('val-b', commander.url);
    await waitFor(() => commander.last('val-b'), 'val-b reporting');
  });
  afterAll(async () => {
    await world?.stop();
    await commander.stop();
  });

  it('refuses the bad actions alone, naming the field; the lease grant and the other actions still apply', async () => {
    attack(
      'a reply whose config and dial-peers carry "203.0.113.9:26656 x", next to a lease grant and a good action',
    );
    const now = Date.now();
    Object.assign(commander.script('val-b'), {
      lease: { epoch: 7, holder: false, expiresAt: now + 30_000 },
      actions: [
        {
          id: 'cfg-evil',
          issuedAt: now,
          type: 'apply-config',
          version: 'evil-1',
          patch: { p2p: { persistent_peers: [`${ATTACKER_ID}@${SPACED}`] } },
          restart: false,
        },
        {
          id: 'dial-evil',
          issuedAt: now,
          type: 'dial-peers',
          peers: [`${ATTACKER_ID}@${SPACED}`],
          persistent: true,
          unconditional: false,
          private: false,
        },
        {
          id: 'cfg-good',
          issuedAt: now + 1,
          type: 'apply-config',
          version: 'good-1',
          patch: { p2p: { addr_book_strict: false } },
          restart: false,
        },
      ] as Action[],
    });
    const good = await waitFor(() => commander.resultsOf('val-b', 'cfg-good')[0], 'the good action', {
      timeoutMs: 15_000,
    });
    expect(good).toMatchObject({ ok: true });
    expect(commander.resultsOf('val-b', 'cfg-evil')).toEqual([
      expect.objectContaining({
        ok: false,
        type: 'apply-config',
        message: expect.stringMatching(/^refused: invalid action: patch\.p2p\.persistent_peers\.0: .*space/),
      }),
    ]);
    expect(commander.resultsOf('val-b', 'dial-evil')).toEqual([
      expect.objectContaining({
        ok: false,
        type: 'dial-peers',
        message: expect.stringMatching(
          /^refused: invalid action: peers\.0: .*contains a space or control character/,
        ),
      }),
    ]);
    expect(world.pilot.store.get().highestEpoch).toBe(7);
    expect(world.pilot.store.get().configVersion).toBe('good-1');
  });
});
