import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/index.js';
import { runTick } from '../../commander/app/tick.js';
import { sampleReport } from '../fixtures/report.js';
import {
  OPERATOR,
  type TestCommander,
  enroll,
  enrollApproved,
  enrollRequest,
  makeCommander,
  sendReport,
  startDynalite,
} from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

function healthy(c: TestCommander, seq: number, overrides: Partial<Report> = {}): Report {
  const base = sampleReport({ seq, sentAt: c.clock.now() });
  return { ...base, daemon: { ...base.daemon, latestBlockTime: c.clock.now() - 1000 }, ...overrides };
}

describe('enroll → approve → report', () => {
  it('keeps a node pending until approved, hands its secret only to the claimant, then accepts signed reports', async () => {
    const c = await makeCommander(db.endpoint);
    const request = enrollRequest();
    expect(await enroll(c, request)).toMatchObject({
      status: 202,
      body: { status: 'pending', nodeId: 'val-a' },
    });
    expect(await enroll(c, { ...request, claim: 'd'.repeat(64) })).toMatchObject({
      status: 409,
      body: { error: 'name taken' },
    });
    expect(await enroll(c, { ...request, enrollmentToken: 'x'.repeat(30) })).toMatchObject({ status: 401 });

    const [pendingView] = await c.app.listNodes(OPERATOR);
    expect(pendingView).toMatchObject({ id: 'val-a', status: 'pending', health: 'pending' });
    expect(c.transport.posts.map((p) => p.message.title)).toEqual(['Node val-a asks to join']);
    await c.app.approveNode(OPERATOR, 'val-a');
    expect(c.transport.updates).toEqual([
      {
        ref: c.transport.posts[0]!.ref,
        message: expect.objectContaining({
          title: 'Node val-a approved',
          context: expect.stringContaining('slack:U123'),
        }),
      },
    ]);
    const approved = await enroll(c, request);
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', nodeId: 'val-a' } });
    const secret = approved.body.secret as string;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);

    c.calls.reset();
    const reply = await sendReport(c, secret, healthy(c, 1));
    expect(reply.status).toBe(200);
    expect(c.calls.calls).toBeLessThanOrEqual(3);
    expect(reply.body).toMatchObject({
      actions: [],
      lease: null,
      nextReportMs: 5000,
      commanderTime: c.clock.now(),
    });

    // Once it has reported, the secret is never handed out again, even to the claimant.
    expect(await enroll(c, request)).toMatchObject({ status: 409, body: { error: 'already enrolled' } });

    const [view] = await c.app.listNodes(OPERATOR);
    expect(view).toMatchObject({ id: 'val-a', status: 'approved', health: 'healthy', height: 10, peers: 3 });
    const audit = await c.app.listAudit(OPERATOR, 50);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['enroll', 'approve', 'nodes']));
    expect(audit.find((a) => a.action === 'approve')).toMatchObject({
      actor: 'slack:U123 (alice)',
      target: 'val-a',
    });
  });

  it('holds a sentry that only claims an instance id for approval, and re-sends queued actions until their result arrives', async () => {
    const c = await makeCommander(db.endpoint, { autoApprove: { roles: ['sentry'] } });
    const bare = await enroll(c, enrollRequest({ name: 'sentry-x', role: 'sentry', instanceId: null }));
    expect(bare.body.status).toBe('pending');
    // A claimed instance id proves nothing (test/security/instance-claim.test.ts): a person approves.
    const claimed = enrollRequest({
      name: 'sentry-1',
      role: 'sentry',
      instanceId: 'i-0abc',
      claim: 'e'.repeat(64),
    });
    expect((await enroll(c, claimed)).body.status).toBe('pending');
    const secret = await enrollApproved(
      c,
      enrollRequest({ name: 'sentry-1', role: 'sentry', instanceId: 'i-0abc', claim: 'e'.repeat(64) }),
    );
    const report = (seq: number, results: Report['results'] = []) =>
      healthy(c, seq, { nodeId: 'sentry-1', role: 'sentry', results });

    const id = await c.app.queueRestart(OPERATOR, 'sentry-1');
    const first = await sendReport(c, secret, report(1));
    expect(first.body.actions).toEqual([expect.objectContaining({ id, type: 'restart-daemon' })]);
    const again = await sendReport(c, secret, report(2));
    expect(again.body.actions).toEqual([expect.objectContaining({ id })]);
    const done = await sendReport(
      c,
      secret,
      report(3, [{ id, type: 'restart-daemon', ok: true, finishedAt: c.clock.now() }]),
    );
    expect(done.body).toMatchObject({ actions: [], ackedResults: [id] });
    const detail = await c.app.nodeDetail(OPERATOR, 'sentry-1');
    expect(detail.recentResults).toEqual([expect.objectContaining({ id, ok: true })]);
    expect(detail.queuedActions).toEqual([]);
  });
});

describe('a silent pilot', () => {
  it('alerts once, re-notifies per policy, honours ack and mute, and resolves by updating the same message', async () => {
    const c = await makeCommander(db.endpoint, { alerts: { renotifyCriticalMs: 10 * 60_000 } });
    const secret = await enrollApproved(c, enrollRequest());
    const alertPosts = () => c.transport.posts.filter((p) => p.message.title.includes('pilot silent'));
    let seq = 0;
    expect((await sendReport(c, secret, healthy(c, ++seq))).status).toBe(200);

    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(0);
    const tickAt = c.clock.now();
    expect((await sendReport(c, secret, healthy(c, ++seq))).body.lastTickAt).toBe(tickAt);

    c.clock.advance(20_000); // > 3 intervals of 5 s
    await runTick(c.deps);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(1);
    const opened = alertPosts()[0]!;
    expect(opened.message).toMatchObject({ title: 'val-a: pilot silent', severity: 'critical' });

    c.clock.advance(5 * 60_000);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(1); // not yet due
    c.clock.advance(5 * 60_000);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(2); // the reminder
    expect(alertPosts()[1]!.message.context).toContain('reminder 1');

    const key = 'node:val-a:pilot-silent';
    const acked = await c.app.ackAlert(OPERATOR, key);
    expect(acked[0]!.acknowledgedBy).toBe('slack:U123 (alice)');
    expect(c.transport.updates.at(-1)).toMatchObject({
      ref: alertPosts()[1]!.ref,
      message: { context: expect.stringContaining('acknowledged by slack:U123 (alice)') },
    });
    c.clock.advance(30 * 60_000);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(2); // acknowledged: no more reminders

    // The pilot comes back: the alert resolves, and the latest message is updated in place.
    const updatesBefore = c.transport.updates.length;
    expect((await sendReport(c, secret, healthy(c, ++seq))).status).toBe(200);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(2);
    expect(c.transport.updates).toHaveLength(updatesBefore + 1);
    expect(c.transport.updates.at(-1)).toMatchObject({
      ref: alertPosts()[1]!.ref,
      message: { title: 'Resolved: val-a: pilot silent', severity: 'ok' },
    });
    expect((await c.app.listAlerts(OPERATOR)).length).toBe(0);
    expect(await c.app.listAlerts(OPERATOR, { includeResolved: true })).toEqual([
      expect.objectContaining({ key, state: 'resolved' }),
    ]);

    // Muted: going silent again stays quiet until the mute ends, then it is told.
    await c.app.muteAlert(OPERATOR, key, c.clock.now() + 60 * 60_000);
    c.clock.advance(20_000);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(2);
    expect(await c.app.listAlerts(OPERATOR)).toEqual([
      expect.objectContaining({ key, state: 'open', lastNotifiedAt: null }),
    ]);
    await c.app.unmuteAlert(OPERATOR, key);
    await runTick(c.deps);
    expect(alertPosts()).toHaveLength(3);

    // Muting a node mutes each of its open alerts.
    const muted = await c.app.muteNodeAlerts(OPERATOR, 'val-a', c.clock.now() + 60_000);
    expect(muted.map((a) => [a.key, a.mutedBy])).toEqual([[key, 'slack:U123 (alice)']]);
    await expect(c.app.muteNodeAlerts(OPERATOR, 'val-a', c.clock.now())).rejects.toMatchObject({
      code: 'invalid',
    });

    const audit = await c.app.listAudit(OPERATOR, 100);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['ack', 'mute', 'unmute']));
  });

  it('refuses operations on unknown things, and audits the refusal', async () => {
    const c = await makeCommander(db.endpoint);
    await expect(c.app.ackAlert(OPERATOR, 'node:nope:pilot-silent')).rejects.toMatchObject({
      code: 'not-found',
    });
    await expect(c.app.queueRestart(OPERATOR, 'nope')).rejects.toMatchObject({ code: 'not-found' });
    const audit = await c.app.listAudit(OPERATOR);
    expect(
      audit
        .filter((a) => a.outcome === 'denied')
        .map((a) => a.action)
        .sort(),
    ).toEqual(['ack', 'restart']);
  });
});

describe('generated configs', () => {
  it('wires 2 validators behind 3 sentries and converges nodes with apply-config', async () => {
    const c = await makeCommander(db.endpoint);
    const hex = (ch: string) => ch.repeat(40);
    const nodes = [
      { name: 'val-a', role: 'validator' as const, id: hex('a'), addr: '10.0.0.1:26656' },
      { name: 'val-b', role: 'validator' as const, id: hex('b'), addr: '10.0.0.2:26656' },
      { name: 'sentry-1', role: 'sentry' as const, id: hex('1'), addr: '198.51.100.1:26656' },
      { name: 'sentry-2', role: 'sentry' as const, id: hex('2'), addr: '198.51.100.2:26656' },
      { name: 'sentry-3', role: 'sentry' as const, id: hex('3'), addr: '198.51.100.3:26656' },
    ];
    const secrets = new Map<string, string>();
    for (const [i, n] of nodes.entries()) {
      const claim = String(i).repeat(64);
      secrets.set(
        n.name,
        await enrollApproved(
          c,
          enrollRequest({ name: n.name, role: n.role, cometNodeId: n.id, p2pAddress: n.addr, claim }),
        ),
      );
    }
    const sentryPeers = ['1', '2', '3'].map((d) => `${hex(d)}@198.51.100.${d}:26656`);
    const validatorPeers = [`${hex('a')}@10.0.0.1:26656`, `${hex('b')}@10.0.0.2:26656`];

    const valA = await c.app.nodeConfig(OPERATOR, 'val-a');
    expect(valA.patch).toEqual({
      p2p: { pex: false, persistent_peers: sentryPeers, addr_book_strict: false },
    });
    const s2 = await c.app.nodeConfig(OPERATOR, 'sentry-2');
    expect(s2.patch).toEqual({
      p2p: {
        pex: true,
        persistent_peers: validatorPeers,
        private_peer_ids: [hex('a'), hex('b')],
        unconditional_peer_ids: [hex('a'), hex('b')],
        external_address: '198.51.100.2:26656',
      },
    });
    expect((await c.app.nodeConfig(OPERATOR, 'val-b')).version).toBe(valA.version); // same sentries, same patch
    expect(s2.version).not.toBe((await c.app.nodeConfig(OPERATOR, 'sentry-1')).version);

    const summary = await runTick(c.deps);
    expect(summary.configsQueued).toBe(5);
    expect((await runTick(c.deps)).configsQueued).toBe(0); // converged: nothing new
    const reply = await sendReport(c, secrets.get('val-a')!, healthy(c, 1, { configVersion: null }));
    expect(reply.body.configVersion).toBe(valA.version);
    expect(reply.body.actions).toEqual([
      expect.objectContaining({ type: 'apply-config', version: valA.version, patch: valA.patch }),
      expect.objectContaining({ type: 'dial-peers', peers: sentryPeers, private: false }),
    ]);
    const sentryReport = healthy(c, 1, { nodeId: 'sentry-2', role: 'sentry' });
    const sentryReply = await sendReport(c, secrets.get('sentry-2')!, {
      ...sentryReport,
      daemon: { ...sentryReport.daemon, cometNodeId: hex('2') },
    });
    expect(sentryReply.body.actions).toEqual([
      expect.objectContaining({ type: 'apply-config', version: s2.version }),
      expect.objectContaining({
        type: 'dial-peers',
        peers: validatorPeers,
        private: true,
        unconditional: true,
      }),
    ]);

    // Only pending nodes can be rejected, and a rejected node changes nobody's peers.
    await expect(c.app.rejectNode(OPERATOR, 'val-b')).rejects.toMatchObject({ code: 'conflict' });
    const pending = await enroll(
      c,
      enrollRequest({ name: 'sentry-4', role: 'sentry', claim: '9'.repeat(64) }),
    );
    expect(pending.body.status).toBe('pending');
    await c.app.rejectNode(OPERATOR, 'sentry-4');
    expect(
      await enroll(c, enrollRequest({ name: 'sentry-4', role: 'sentry', claim: '9'.repeat(64) })),
    ).toMatchObject({
      status: 403,
      body: { error: 'enrollment rejected' },
    });
    expect((await runTick(c.deps)).configsQueued).toBe(0);

    // A node reporting a new CometBFT id (a rebuilt sentry) changes the validators' config.
    const moved = healthy(c, 2, { nodeId: 'sentry-2', role: 'sentry' });
    await sendReport(c, secrets.get('sentry-2')!, {
      ...moved,
      daemon: { ...moved.daemon, cometNodeId: hex('7') },
    });
    expect((await runTick(c.deps)).configsQueued).toBe(2);
    const after = await sendReport(c, secrets.get('val-a')!, healthy(c, 2));
    const applies = (after.body.actions as { type: string; version?: string }[]).filter(
      (a) => a.type === 'apply-config',
    );
    expect(applies).toHaveLength(1);
    expect(applies[0]!.version).not.toBe(valA.version);
  });
});

describe('fleet status', () => {
  it('summarizes per chain: nodes, heights, lag, the signing node and recent misses', async () => {
    const c = await makeCommander(db.endpoint);
    const a = await enrollApproved(c, enrollRequest());
    const b = await enrollApproved(
      c,
      enrollRequest({ name: 'val-b', claim: 'b'.repeat(64), cometNodeId: 'b'.repeat(40) }),
    );
    const other = await enrollApproved(
      c,
      enrollRequest({
        name: 'osmo-a',
        chainId: 'osmo-test-5',
        claim: 'f'.repeat(64),
        cometNodeId: 'f'.repeat(40),
      }),
    );
    const commits = [8, 9, 10].map((height) => ({ height, signed: height !== 9, at: c.clock.now() }));
    const custody = {
      mode: 'signer' as const,
      signMark: null,
      signerConnected: null,
      holdsValidatorKey: true,
      highestEpoch: 1,
      leaseExpiresAt: null,
      fenced: false,
    };
    const chain = {
      validatorAddress: 'A'.repeat(40),
      operatorAddress: null,
      recentCommits: commits,
      signingInfo: null,
      validator: null,
      networkSignedShare: 1,
      balances: [],
      rewards: [],
      commission: [],
      proposals: [],
      grants: null,
      errors: [],
    };
    await sendReport(c, a, healthy(c, 1, { custody, chain }));
    const lagging = healthy(c, 1, { nodeId: 'val-b' });
    await sendReport(c, b, { ...lagging, daemon: { ...lagging.daemon, height: 7 } });
    await sendReport(c, other, healthy(c, 1, { nodeId: 'osmo-a', chainId: 'osmo-test-5' }));
    await runTick(c.deps);

    const status = await c.app.fleetStatus(OPERATOR);
    expect(status).toMatchObject({ lastTickAt: c.clock.now(), pending: [], openAlerts: 0 });
    const devnet = status.chains.find((ch) => ch.chainId === 'beam-devnet-1')!;
    expect(devnet).toMatchObject({ bestHeight: 10, signer: 'val-a', recentMissed: 1, recentCommits: 3 });
    expect(devnet.nodes.map((n) => [n.id, n.role, n.health, n.height, n.lag, n.peers])).toEqual([
      ['val-a', 'validator', 'healthy', 10, 0, 3],
      ['val-b', 'validator', 'healthy', 7, 3, 3],
    ]);
    expect(status.chains.find((ch) => ch.chainId === 'osmo-test-5')?.nodes.map((n) => n.id)).toEqual([
      'osmo-a',
    ]);
    const detail = await c.app.nodeDetail(OPERATOR, 'val-b');
    expect(detail).toMatchObject({
      id: 'val-b',
      p2pAddress: '10.0.0.1:26656',
      decidedBy: 'slack:U123 (alice)',
      alerts: [],
    });
  });
});
