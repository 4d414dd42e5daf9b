import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '../../../commander/domain/registry.js';
import {
  type CloudOutcome,
  type RotationOp,
  activeOps,
  applyNodeEffects,
  initialSentryDefenceState,
  nodesTouched,
  parseSentrySettings,
  sentryFindings,
} from '../../../commander/sentry/index.js';
import { CHAIN, Driver, T0, actionsOf, node, ofType, ok, sentryReport, settings } from './fixtures.js';

const fleet = (...nodes: NodeRecord[]) => nodes;
const sentries = (count: number) =>
  Array.from({ length: count }, (_, i) => node(`sentry-${'abcdef'[i]}`, 'sentry', i + 1));
const validators = () => [node('val-1', 'validator', 11), node('val-2', 'validator', 12)];

/** A driver whose `wired` already knows the registry's sentries, as at start-up. */
function driver(nodes: NodeRecord[], input = settings()) {
  const wired = Object.fromEntries(
    nodes.filter((n) => n.role === 'sentry').map((n) => [n.id, `${n.cometNodeId}@${n.p2pAddress}`]),
  );
  return new Driver(initialSentryDefenceState('mainnet', wired), { nodes, settings: input });
}

function flood(d: Driver, nodeId: string, fromSeq: number, count: number, at = T0) {
  for (let i = 0; i < count; i++)
    d.apply({ type: 'report', report: sentryReport(nodeId, fromSeq + i, { flooded: true }) }, at);
}

const rotations = (d: Driver) => Object.values(d.state.ops).filter((op) => op.kind === 'rotation');

describe('flood → rotation decision', () => {
  it('starts one rotation after M consecutive flooded reports, not before, and a calm report resets the streak', () => {
    const d = driver(fleet(...sentries(3), ...validators()));
    flood(d, 'sentry-a', 2, 2);
    d.apply({ type: 'report', report: sentryReport('sentry-a', 4) }, T0);
    flood(d, 'sentry-a', 5, 2);
    expect(rotations(d)).toHaveLength(0);
    expect(actionsOf(d.take())).toEqual([]);

    flood(d, 'sentry-a', 7, 1);
    const [op] = rotations(d);
    expect(op).toMatchObject({
      kind: 'rotation',
      node: 'sentry-a',
      phase: 'stopping',
      instanceId: 'i-sentry-a',
    });
    const effects = d.take();
    expect(actionsOf(effects)).toEqual([{ nodeId: 'sentry-a', type: 'stop-daemon', id: `${op!.id}.stop` }]);
    expect(ofType(effects, 'chat')).toEqual([
      expect.objectContaining({ subject: 'sentry:sentry-a:rotation', mode: 'post' }),
    ]);
    expect(ofType(effects, 'audit').map((a) => a.entry.action)).toContain('sentry.rotation.started');
    expect(ofType(effects, 'cloud')).toEqual([]); // the address moves only once the daemon is stopped
  });

  it('counts a replayed report once', () => {
    const d = driver(fleet(...sentries(3)));
    for (let i = 0; i < 5; i++)
      d.apply({ type: 'report', report: sentryReport('sentry-a', 2, { flooded: true }) }, T0);
    expect(d.state.sentries['sentry-a']?.floodStreak).toBe(1);
    expect(rotations(d)).toHaveLength(0);
  });

  it('starts no second operation while one runs, then holds back during the cooldown, then rotates again', () => {
    const nodes = fleet(...sentries(3), ...validators());
    const d = driver(nodes);
    flood(d, 'sentry-a', 2, 3);
    const op = rotations(d)[0] as RotationOp;
    flood(d, 'sentry-a', 5, 6);
    expect(rotations(d)).toHaveLength(1);
    d.take();

    // The rotation runs to its end.
    d.apply(
      {
        type: 'report',
        report: sentryReport('sentry-a', 11, {
          running: false,
          results: [ok(`${op.id}.stop`, 'stop-daemon')],
        }),
      },
      T0 + 1000,
    );
    const [cloud] = ofType(d.take(), 'cloud');
    expect(cloud?.request).toEqual({
      kind: 'rotate',
      opId: op.id,
      attempt: 1,
      node: 'sentry-a',
      instanceId: 'i-sentry-a',
    });
    const outcome: CloudOutcome = {
      kind: 'rotate',
      opId: op.id,
      attempt: 1,
      ok: true,
      publicIp: '198.51.100.7',
      allocationId: 'eipalloc-1',
      previousPublicIp: '198.51.100.2',
      released: ['eipalloc-0'],
      foreignAllocationId: null,
    };
    d.apply({ type: 'cloud-result', outcome }, T0 + 2000);
    const configured = d.take();
    const config = ofType(configured, 'desired-config').find((e) => e.nodeId === 'sentry-a')!.config;
    expect(config.patch.p2p?.external_address).toBe('198.51.100.7:26656');
    expect(ofType(configured, 'public-address')).toEqual([
      {
        type: 'public-address',
        nodeId: 'sentry-a',
        address: '198.51.100.7:26656',
        previous: '198.51.100.2:26656',
      },
    ]);
    expect(actionsOf(configured)).toEqual([
      { nodeId: 'sentry-a', type: 'apply-config', id: `${op.id}.config` },
      { nodeId: 'sentry-a', type: 'start-daemon', id: `${op.id}.start` },
    ]);
    // A repeated outcome changes nothing.
    d.apply({ type: 'cloud-result', outcome }, T0 + 2100);
    expect(actionsOf(d.take())).toEqual([]);

    const results = [ok(`${op.id}.config`, 'apply-config'), ok(`${op.id}.start`, 'start-daemon')];
    d.apply(
      { type: 'report', report: sentryReport('sentry-a', 12, { results, configVersion: 'other' }) },
      T0 + 3000,
    );
    expect(d.state.ops[op.id]?.phase).toBe('starting'); // not yet at the new config version
    d.apply(
      { type: 'report', report: sentryReport('sentry-a', 13, { configVersion: config.version }) },
      T0 + 4000,
    );
    expect(d.state.ops[op.id]?.phase).toBe('done');
    expect(ofType(d.take(), 'chat').at(-1)).toMatchObject({
      subject: 'sentry:sentry-a:rotation',
      mode: 'update',
      message: { title: 'sentry-a has a new public address: 198.51.100.7:26656', severity: 'ok' },
    });

    // Still flooded: the cooldown holds it back, with one alert naming the time.
    flood(d, 'sentry-a', 14, 6, T0 + 60_000);
    expect(rotations(d)).toHaveLength(1);
    const held = ofType(d.take(), 'alert');
    expect(held).toHaveLength(1);
    expect(held[0]?.text).toContain('cooldown until 22:23 UTC');

    d.reportedAt(T0 + 4000 + 600_001);
    flood(d, 'sentry-a', 20, 3, T0 + 4000 + 600_001);
    expect(rotations(d)).toHaveLength(2);
    expect(ofType(d.take(), 'alert')).toEqual([
      expect.objectContaining({ key: 'sentry:sentry-a:flood-held', resolved: true }),
    ]);
  });

  it('never leaves fewer healthy sentries than the minimum, and says so to a person who asks', () => {
    const nodes = fleet(...sentries(2), ...validators());
    const d = driver(nodes);
    flood(d, 'sentry-a', 2, 5);
    expect(rotations(d)).toHaveLength(0);
    const [alert] = ofType(d.take(), 'alert');
    expect(alert).toMatchObject({ key: 'sentry:sentry-a:flood-held', resolved: false });
    expect(alert?.text).toContain('would leave 1 healthy sentry, minimum is 2');

    const out = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'slack:U1' }, T0);
    expect(out.answer).toEqual({
      accepted: false,
      summary: 'Not started: would leave 1 healthy sentry, minimum is 2',
    });
    expect(ofType(out.effects, 'audit')[0]?.entry).toMatchObject({ actor: 'slack:U1', outcome: 'denied' });

    // A stale sentry is not healthy: with 3 sentries of which one is silent, the count is the same.
    const stale = node('sentry-c', 'sentry', 3, { lastSeen: T0 - 60_000 });
    const d3 = driver(fleet(...sentries(2), stale));
    expect(d3.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer?.accepted).toBe(
      false,
    );
    const d4 = driver(fleet(...sentries(3)));
    expect(d4.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer).toMatchObject({
      accepted: true,
      operationId: 'rot-sentry-a-1',
    });
  });

  it('caps concurrent rotations fleet-wide', () => {
    const d = driver(fleet(...sentries(5)), settings({ minHealthySentries: 1, maxConcurrentRotations: 2 }));
    flood(d, 'sentry-a', 2, 3);
    flood(d, 'sentry-b', 2, 3);
    flood(d, 'sentry-c', 2, 3);
    expect(activeOps(d.state).map((op) => op.node)).toEqual(['sentry-a', 'sentry-b']);
    expect(ofType(d.take(), 'alert').map((a) => a.text)).toEqual([
      expect.stringContaining('2 rotations are under way, the maximum is 2'),
    ]);
  });

  it('applies commander-side thresholds when the pilot does not call it a flood', () => {
    const d = driver(fleet(...sentries(3)), settings({ floodThresholds: { synRecv: 100 } }));
    for (let seq = 2; seq < 5; seq++) {
      const report = sentryReport('sentry-a', seq);
      report.sockets!.inboundByState['SYN_RECV'] = 150;
      d.apply({ type: 'report', report }, T0);
    }
    expect(rotations(d)[0]?.reason).toContain('150 half-open connections (threshold 100)');
  });

  it('fails on a refused cloud call: alert, daemon restarted with its old address', () => {
    const d = driver(fleet(...sentries(3)));
    const op = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer!;
    d.apply(
      {
        type: 'report',
        report: sentryReport('sentry-a', 2, {
          running: false,
          results: [ok(`${op.operationId}.stop`, 'stop-daemon')],
        }),
      },
      T0,
    );
    d.take();
    const error = { kind: 'limit' as const, message: 'Elastic IP limit reached', retryable: false };
    d.apply(
      {
        type: 'cloud-result',
        outcome: { kind: 'rotate', opId: op.operationId!, attempt: 1, ok: false, error },
      },
      T0,
    );
    const effects = d.take();
    expect(d.state.ops[op.operationId!]).toMatchObject({
      phase: 'failed',
      failure: 'limit: Elastic IP limit reached',
    });
    expect(actionsOf(effects)).toEqual([
      { nodeId: 'sentry-a', type: 'start-daemon', id: `${op.operationId}.restore` },
    ]);
    expect(ofType(effects, 'desired-config')).toEqual([]);
    expect(ofType(effects, 'alert')).toEqual([
      expect.objectContaining({
        key: 'sentry:sentry-a:rotation-failed',
        severity: 'critical',
        resolved: false,
      }),
    ]);
  });

  it('retries a retryable cloud error with backoff on a later tick, and ignores stale outcomes', () => {
    const d = driver(fleet(...sentries(3)), settings({ cloudRetryBaseMs: 10_000 }));
    const { operationId } = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer!;
    d.apply(
      {
        type: 'report',
        report: sentryReport('sentry-a', 2, {
          running: false,
          results: [ok(`${operationId}.stop`, 'stop-daemon')],
        }),
      },
      T0,
    );
    d.take();
    const error = { kind: 'transient' as const, message: 'InternalError', retryable: true };
    d.apply(
      { type: 'cloud-result', outcome: { kind: 'rotate', opId: operationId!, attempt: 1, ok: false, error } },
      T0,
    );
    d.apply({ type: 'tick' }, T0 + 9_999);
    expect(ofType(d.take(), 'cloud')).toEqual([]);
    d.apply({ type: 'tick' }, T0 + 10_000);
    expect(ofType(d.take(), 'cloud').map((c) => c.request.attempt)).toEqual([2]);
    // The first attempt's late error is stale now.
    d.apply(
      { type: 'cloud-result', outcome: { kind: 'rotate', opId: operationId!, attempt: 1, ok: false, error } },
      T0 + 10_001,
    );
    expect(d.state.ops[operationId!]?.nextCloudAt).toBe(T0 + 10_000 + 120_000);
  });
});

describe('rotation timeouts and limits', () => {
  it('fails when the pilot never confirms the stop, and still queues a start', () => {
    const d = driver(fleet(...sentries(3)), settings({ pilotStepTimeoutMs: 60_000 }));
    const { operationId } = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer!;
    d.take();
    d.apply({ type: 'tick' }, T0 + 60_000);
    expect(d.state.ops[operationId!]?.phase).toBe('stopping');
    d.apply({ type: 'tick' }, T0 + 60_001);
    expect(d.state.ops[operationId!]).toMatchObject({
      phase: 'failed',
      failure: expect.stringContaining('no stop confirmed'),
    });
    expect(actionsOf(d.take())).toEqual([
      { nodeId: 'sentry-a', type: 'start-daemon', id: `${operationId}.restore` },
    ]);
  });

  it('leaves the cloud call to the tick when the report handler asks for no cloud calls', () => {
    const d = driver(fleet(...sentries(3)));
    const { operationId } = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer!;
    const stop = ok(`${operationId}.stop`, 'stop-daemon');
    d.input = { ...d.input, issueCloudCalls: false };
    d.apply({ type: 'report', report: sentryReport('sentry-a', 2, { running: false, results: [stop] }) }, T0);
    expect(ofType(d.take(), 'cloud')).toEqual([]);
    d.input = { ...d.input, issueCloudCalls: true };
    d.apply({ type: 'tick' }, T0 + 1000);
    expect(ofType(d.take(), 'cloud').map((c) => c.request)).toEqual([
      { kind: 'rotate', opId: operationId, attempt: 1, node: 'sentry-a', instanceId: 'i-sentry-a' },
    ]);
  });

  it('gives up after cloudMaxAttempts retryable errors', () => {
    const d = driver(fleet(...sentries(3)), settings({ cloudMaxAttempts: 2, cloudRetryBaseMs: 0 }));
    const { operationId } = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'x' }, T0).answer!;
    const stop = ok(`${operationId}.stop`, 'stop-daemon');
    d.apply({ type: 'report', report: sentryReport('sentry-a', 2, { running: false, results: [stop] }) }, T0);
    const error = { kind: 'transient' as const, message: 'ServiceUnavailable', retryable: true };
    for (const attempt of [1, 2]) {
      d.apply(
        { type: 'cloud-result', outcome: { kind: 'rotate', opId: operationId!, attempt, ok: false, error } },
        T0,
      );
    }
    expect(d.state.ops[operationId!]).toMatchObject({
      phase: 'failed',
      failure: 'gave up after 2 attempts: ServiceUnavailable',
    });
    expect(ofType(d.take(), 'cloud').map((c) => c.request.attempt)).toEqual([1, 2]);
  });
});

describe('replacement decision', () => {
  const silent = (id: string, n: number, extra: Partial<NodeRecord> = {}) =>
    node(id, 'sentry', n, { lastSeen: T0 - 20_000, ...extra });

  it('terminates a sentry only after replaceAfterMs of failing health, one at a time', () => {
    const nodes = fleet(...sentries(2), silent('sentry-x', 7), silent('sentry-y', 8), ...validators());
    const d = driver(nodes, settings({ replaceAfterMs: 60_000 }));
    d.apply({ type: 'tick' }, T0);
    d.apply({ type: 'tick' }, T0 + 40_000);
    expect(activeOps(d.state)).toEqual([]);
    // Silent since its report went stale (T0 - 20 s + 15 s fresh window): > 60 s at T0 + 56 s.
    d.apply({ type: 'tick' }, T0 + 56_000);
    expect(activeOps(d.state)).toEqual([
      expect.objectContaining({
        kind: 'replacement',
        node: 'sentry-x',
        phase: 'terminating',
        reason: 'pilot silent for 1 min',
      }),
    ]);
    expect(ofType(d.take(), 'cloud').map((c) => c.request)).toEqual([
      { kind: 'terminate', opId: 'rep-sentry-x-1', attempt: 1, node: 'sentry-x', instanceId: 'i-sentry-x' },
    ]);
  });

  it('never replaces a node without an instance id or that is not a sentry', () => {
    const nodes = fleet(
      ...sentries(2),
      silent('sentry-x', 7, { instanceId: null }),
      node('val-1', 'validator', 11, { lastSeen: T0 - 3_600_000, instanceId: 'i-val' }),
    );
    const d = driver(nodes, settings({ replaceAfterMs: 60_000 }));
    d.apply({ type: 'tick' }, T0);
    d.reportedAt(T0 + 3_600_000, 'sentry-x', 'val-1');
    d.apply({ type: 'tick' }, T0 + 3_600_000);
    expect(d.state.ops).toEqual({});
    expect(
      d.apply({ type: 'request-replacement', node: 'sentry-x', actor: 'x' }, T0).answer?.summary,
    ).toContain('sentry-x has no cloud instance id in the registry');
    expect(d.apply({ type: 'request-replacement', node: 'val-1', actor: 'x' }, T0).answer?.summary).toBe(
      'Not started: val-1 is not a sentry in the registry',
    );
  });

  it('counts a down daemon from when it was first seen down', () => {
    const down = node('sentry-x', 'sentry', 7);
    down.lastReport = { ...down.lastReport!, daemon: { ...down.lastReport!.daemon, running: false } };
    const d = driver(fleet(...sentries(2), down), settings({ replaceAfterMs: 60_000 }));
    d.apply({ type: 'tick' }, T0);
    d.reportedAt(T0 + 60_000);
    d.apply({ type: 'tick' }, T0 + 60_000);
    expect(activeOps(d.state)).toEqual([]);
    d.reportedAt(T0 + 60_001);
    d.apply({ type: 'tick' }, T0 + 60_001);
    expect(activeOps(d.state)[0]).toMatchObject({ node: 'sentry-x', reason: 'daemon down for 1 min' });
  });

  it('removes the terminated sentry, and is done once a new sentry enrolls and is wired to validators', () => {
    const nodes = fleet(...sentries(2), silent('sentry-x', 7), ...validators());
    const d = driver(nodes, settings({ replaceAfterMs: 60_000 }));
    const { operationId } = d.apply({ type: 'request-replacement', node: 'sentry-x', actor: 'slack:U1' }, T0)
      .answer!;
    d.take();
    d.apply(
      {
        type: 'cloud-result',
        outcome: { kind: 'terminate', opId: operationId!, attempt: 1, ok: true, released: [] },
      },
      T0 + 1000,
    );
    const terminated = d.take();
    expect(ofType(terminated, 'remove-node')).toEqual([{ type: 'remove-node', nodeId: 'sentry-x' }]);
    for (const v of ['val-1', 'val-2']) {
      const config = ofType(terminated, 'desired-config').find((e) => e.nodeId === v)!.config;
      expect(config.patch.p2p?.persistent_peers).toEqual(
        [nodes[0]!, nodes[1]!].map((s) => `${s.cometNodeId}@${s.p2pAddress}`).sort(),
      );
    }
    expect(d.state.ops[operationId!]?.phase).toBe('awaiting-replacement');

    // The dead node lingers in the registry until the core removes it: it is never wired again.
    d.apply({ type: 'tick' }, T0 + 2000);
    expect(actionsOf(d.take()).filter((a) => a.type === 'dial-peers')).toEqual([]);

    const fresh = node('sentry-x-r1', 'sentry', 9, { enrolledAt: T0 + 5000, lastSeen: T0 + 5000 });
    d.input = { ...d.input, nodes: [...nodes.filter((n) => n.id !== 'sentry-x'), fresh] };
    d.apply({ type: 'tick' }, T0 + 6000);
    const wired = d.take();
    const peer = `${fresh.cometNodeId}@10.0.0.9:26656`;
    const dials = ofType(wired, 'action').filter((e) => e.action.type === 'dial-peers');
    expect(dials.map((e) => [e.nodeId, e.action])).toEqual(
      ['val-1', 'val-2'].map((v) => [
        v,
        expect.objectContaining({ type: 'dial-peers', peers: [peer], persistent: true }),
      ]),
    );
    for (const v of ['val-1', 'val-2']) {
      const config = ofType(wired, 'desired-config').find((e) => e.nodeId === v)!.config;
      expect(config.patch.p2p?.persistent_peers).toContain(peer);
      expect(actionsOf(wired)).toContainEqual({
        nodeId: v,
        type: 'apply-config',
        id: `cfg-${v}-${config.version}`,
      });
    }
    expect(d.state.ops[operationId!]).toMatchObject({ phase: 'done', replacement: 'sentry-x-r1' });
  });

  it('alerts when no replacement enrolls in time', () => {
    const d = driver(fleet(...sentries(2), silent('sentry-x', 7)), settings({ replacementWaitMs: 60_000 }));
    const { operationId } = d.apply({ type: 'request-replacement', node: 'sentry-x', actor: 'x' }, T0)
      .answer!;
    d.apply(
      {
        type: 'cloud-result',
        outcome: { kind: 'terminate', opId: operationId!, attempt: 1, ok: true, released: [] },
      },
      T0,
    );
    d.take();
    d.apply({ type: 'tick' }, T0 + 60_001);
    expect(d.state.ops[operationId!]?.phase).toBe('failed');
    expect(ofType(d.take(), 'alert')[0]).toMatchObject({ key: 'sentry:sentry-x:replacement-failed' });
  });
});

describe('settings', () => {
  it('fills defaults and names the field and the fix on bad input', () => {
    expect(parseSentrySettings()).toMatchObject({
      floodReportsToAct: 3,
      minHealthySentries: 2,
      p2pPort: 26656,
    });
    expect(() => parseSentrySettings({ floodReportsToAct: 0 })).toThrow(/floodReportsToAct/);
    expect(() => parseSentrySettings({ replaceAfterMs: 10_000 })).toThrow(
      /replaceAfterMs: must exceed freshReportMs \(15000 ms\).*raise replaceAfterMs/,
    );
    expect(() => parseSentrySettings({ cooldownMs: 'soon' })).toThrow(/cooldownMs/);
    expect(CHAIN).toBe('beam-devnet-1');
  });
});

describe('registry effects', () => {
  it('queues actions once and sets the desired config on the addressed node only', () => {
    const nodes = fleet(...sentries(3), ...validators());
    const d = driver(nodes);
    d.apply({ type: 'tick' }, T0);
    d.input = { ...d.input, nodes: [...nodes, node('sentry-n', 'sentry', 20)] };
    const { effects } = d.apply({ type: 'tick' }, T0 + 1000);
    expect(nodesTouched(effects)).toEqual(['val-1', 'val-2']);
    const val1 = applyNodeEffects(applyNodeEffects(nodes[3]!, effects), effects);
    expect(val1.actions.map((a) => a.type)).toEqual(['apply-config', 'dial-peers']);
    expect(val1.desiredConfig?.patch.p2p?.persistent_peers).toHaveLength(4);
    expect(applyNodeEffects(nodes[0]!, effects)).toBe(nodes[0]);
  });
});

describe('serving sentries and repeated results', () => {
  it('counts a sentry as healthy only once its daemon serves (RPC and a peer): a freshly started one does not', () => {
    const [a, b] = sentries(2);
    const starting = {
      ...b!,
      lastReport: {
        ...b!.lastReport!,
        daemon: { ...b!.lastReport!.daemon, rpcReachable: false, peers: null },
      },
    };
    const d = driver(fleet(a!, starting, ...validators()), settings({ minHealthySentries: 1 }));
    const refused = d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'cli:ops' }, T0);
    expect(refused.answer).toMatchObject({ accepted: false });
    expect(refused.answer?.summary).toMatch(/would leave 0 healthy sentries, minimum is 1/);

    const lonely = {
      ...starting,
      lastReport: { ...b!.lastReport!, daemon: { ...b!.lastReport!.daemon, peers: 0 } },
    };
    d.input = { ...d.input, nodes: fleet(a!, lonely, ...validators()) };
    expect(
      d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'cli:ops' }, T0).answer?.accepted,
    ).toBe(false);

    d.input = { ...d.input, nodes: fleet(a!, b!, ...validators()) };
    expect(
      d.apply({ type: 'request-rotation', node: 'sentry-a', actor: 'cli:ops' }, T0).answer?.accepted,
    ).toBe(true);
  });

  it('acts once on a result that later reports repeat (the registry keeps recent results)', () => {
    const d = driver(fleet(...sentries(3), ...validators()));
    flood(d, 'sentry-a', 2, 3);
    const op = rotations(d)[0] as RotationOp;
    const stop = ok(`${op.id}.stop`, 'stop-daemon');
    d.apply(
      { type: 'report', report: sentryReport('sentry-a', 5, { running: false, results: [stop] }) },
      T0 + 1000,
    );
    const outcome: CloudOutcome = {
      kind: 'rotate',
      opId: op.id,
      attempt: 1,
      ok: true,
      publicIp: '198.51.100.7',
      allocationId: 'eipalloc-1',
      previousPublicIp: null,
      released: [],
      foreignAllocationId: null,
    };
    d.apply({ type: 'cloud-result', outcome }, T0 + 2000);
    d.take();
    const all = [stop, ok(`${op.id}.config`, 'apply-config'), ok(`${op.id}.start`, 'start-daemon')];
    for (const seq of [6, 7, 8]) {
      d.apply(
        { type: 'report', report: sentryReport('sentry-a', seq, { results: all, configVersion: 'old' }) },
        T0 + 3000,
      );
    }
    const steps = ofType(d.take(), 'audit').map((a) => a.entry.action);
    expect(steps.filter((s) => s === 'sentry.rotation.apply-config')).toHaveLength(1);
    expect(steps.filter((s) => s === 'sentry.rotation.start-daemon')).toHaveLength(1);
    expect(d.state.ops[op.id]?.phase).toBe('starting');
  });
});

describe('sentry findings for the alert machinery', () => {
  it('lists held floods and the latest failed operation, and clears a failed replacement once a sentry enrolls', () => {
    const nodes = fleet(...sentries(2), ...validators());
    const state = initialSentryDefenceState('mainnet');
    state.sentries['sentry-a'] = { ...newTrackFor(), heldReason: 'cooldown until 12:00 UTC' };
    const base = {
      instanceId: 'i-x',
      phaseAt: T0,
      requestedBy: 'commander',
      reason: 'r',
      attempts: 0,
      nextCloudAt: null,
      lastError: null,
    };
    state.ops['rep-sentry-z-1'] = {
      ...base,
      id: 'rep-sentry-z-1',
      node: 'sentry-z',
      kind: 'replacement',
      phase: 'failed',
      startedAt: T0,
      finishedAt: T0 + 1000,
      failure: 'no new sentry enrolled within 15 min of the termination',
      terminatedAt: T0,
      replacement: null,
    };
    const keys = sentryFindings(state, nodes).map((f) => [f.key, f.severity]);
    expect(keys).toEqual([
      ['sentry:sentry-a:flood-held', 'warning'],
      ['sentry:sentry-z:replacement-failed', 'critical'],
    ]);
    const late = node('sentry-n', 'sentry', 9, { enrolledAt: T0 + 2000 });
    expect(sentryFindings(state, [...nodes, late]).map((f) => f.key)).toEqual(['sentry:sentry-a:flood-held']);
  });
});

function newTrackFor() {
  return {
    lastSeq: 0,
    floodStreak: 0,
    cooldownUntil: 0,
    unhealthySince: null,
    publicAddress: null,
    heldReason: null,
  };
}
