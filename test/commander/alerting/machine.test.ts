import { describe, expect, it } from 'vitest';
import { describeZodError } from '../../../protocol/index.js';
import { digestDueAt } from '../../../commander/alerting/digest.js';
import { failoverHolds, restartHolds, sentryHolds } from '../../../commander/alerting/holds.js';
import { DEFAULT_PENDING_MS } from '../../../commander/alerting/kinds.js';
import { AlertPolicy, pendingFor } from '../../../commander/alerting/settings.js';
import { type FailoverOp, initialFailoverState } from '../../../commander/failover/state.js';
import { initialSentryDefenceState } from '../../../commander/sentry/state.js';
import { AlertingRun, CHAIN, T0, VALIDATOR, commits, fleetNode } from './kit.js';

const S = 1000;

/** A healthy fleet seen at `now`: val-a signing, val-b standby, three sentries. */
function fleet(now: number, overrides: Record<string, Parameters<typeof fleetNode>[3]> = {}) {
  return [
    fleetNode('val-a', 'validator', now, overrides['val-a']),
    fleetNode('val-b', 'validator', now, overrides['val-b']),
    ...['sentry-1', 'sentry-2', 'sentry-3'].map((id) => fleetNode(id, 'sentry', now, overrides[id])),
  ];
}

/** The fleet with `dead` silent since `since`. */
function withDead(now: number, since: number, dead: string, overrides = {}) {
  return fleet(now, overrides).map((n) => (n.id === dead ? { ...n, lastSeen: since } : n));
}

function op(overrides: Partial<FailoverOp>): FailoverOp {
  return {
    id: 'so-e3-3',
    kind: 'switchover',
    from: 'val-b',
    to: 'val-a',
    toChosen: false,
    epoch: 3,
    phase: 'promoting',
    startedAt: T0,
    phaseAt: { detected: T0 },
    demoteActionId: null,
    promoteActionId: null,
    demoteResult: null,
    missedAtStart: 0,
    lastSignedHeight: 90,
    minHeight: null,
    missedBlocks: null,
    reason: 'switchover requested by console:operator',
    requestedBy: 'console:operator',
    confirmedBy: null,
    declinedBy: null,
    abortReason: null,
    ...overrides,
  };
}

describe('pending durations', () => {
  it('fires each kind after its own duration: silence at once, peers after a minute', () => {
    const run = new AlertingRun();
    run.tick(fleet(T0), T0);
    const lowPeers = { 'sentry-1': { peers: 1 } };
    run.tick(withDead(T0 + 10 * S, T0, 'val-b', lowPeers), T0 + 10 * S);
    expect(run.open().map((a) => a.key)).toEqual(['node:val-b:pilot-silent']);
    run.tick(withDead(T0 + 69 * S, T0, 'val-b', lowPeers), T0 + 69 * S);
    expect(run.open()).toHaveLength(1);
    run.tick(withDead(T0 + 70 * S, T0, 'val-b', lowPeers), T0 + 70 * S);
    expect(
      run
        .open()
        .map((a) => a.key)
        .sort(),
    ).toEqual(['node:sentry-1:low-peers', 'node:val-b:pilot-silent']);
  });

  it('takes per-chain overrides over fleet ones over the defaults', () => {
    const policy = AlertPolicy.parse({
      pendingMs: { 'low-peers': 5000 },
      chains: { [CHAIN]: { pendingMs: { 'rpc-unreachable': 0 } } },
    });
    expect(pendingFor(policy, CHAIN, 'rpc-unreachable')).toBe(0);
    expect(pendingFor(policy, 'other-1', 'rpc-unreachable')).toBe(DEFAULT_PENDING_MS['rpc-unreachable']);
    expect(pendingFor(policy, CHAIN, 'low-peers')).toBe(5000);
    expect(pendingFor(policy, CHAIN, 'disk')).toBe(5 * 60_000);
    const run = new AlertingRun(policy);
    run.tick(fleet(T0), T0);
    run.tick(fleet(T0 + S, { 'sentry-2': { rpcReachable: false } }), T0 + S);
    expect(run.open().map((a) => a.key)).toEqual(['node:sentry-2:rpc-unreachable']);
  });

  it('refuses settings that do not fit, naming the field', () => {
    const bad = (input: object) => {
      const parsed = AlertPolicy.safeParse(input);
      return parsed.success ? 'ok' : describeZodError(parsed.error);
    };
    expect(bad({ pendingMs: { 'low-peer': 1000 } })).toMatch(/^pendingMs: Unrecognized key: "low-peer"/);
    expect(bad({ pendingMs: { 'low-peers': -1 } })).toMatch(/^pendingMs\.low-peers: /);
    expect(bad({ chains: { [CHAIN]: { pendingMs: { disk: 1.5 } } } })).toMatch(
      /^chains\.beam-devnet-1\.pendingMs\.disk: /,
    );
    expect(bad({ chains: { 'bad chain': {} } })).toMatch(/^chains\.bad chain: /);
    expect(bad({ digest: { hourUtc: 24 } })).toMatch(/^digest\.hourUtc: /);
    expect(bad({ statusRefreshMs: 100 })).toMatch(/^statusRefreshMs: /);
  });
});

describe('graces', () => {
  it('says nothing about a node before it has reported healthy once', () => {
    const run = new AlertingRun();
    const starting = (t: number, sentry4 = { rpcReachable: false, peers: 0 }) => [
      ...fleet(t),
      fleetNode('sentry-4', 'sentry', t, sentry4),
    ];
    run.tick(starting(T0), T0);
    run.tick(starting(T0 + 5 * 60_000), T0 + 5 * 60_000);
    expect(run.open()).toEqual([]);
    expect(run.alerts.get('node:sentry-4:rpc-unreachable')).toMatchObject({
      state: 'pending',
      heldBy: 'start-up',
    });
    // Healthy once: from now on its problems count.
    run.tick(starting(T0 + 6 * 60_000, { rpcReachable: true, peers: 3 }), T0 + 6 * 60_000);
    expect(run.state.healthy['sentry-4']).toBe(T0 + 6 * 60_000);
    run.tick(withDead(T0 + 7 * 60_000, T0, 'sentry-1'), T0 + 7 * 60_000);
    expect(run.open().map((a) => a.key)).toEqual(['node:sentry-1:pilot-silent']);
    // A node that leaves the registry is forgotten: the same name enrolling again starts afresh.
    expect(run.state.healthy['sentry-4']).toBeUndefined();
  });

  it('counts no miss before the validator ever signed, nor below its first signature', () => {
    const run = new AlertingRun();
    // Genesis: blocks are committed, nobody of ours signs yet.
    const genesis = (now: number) =>
      fleet(now).map((n) =>
        n.role === 'validator' ? fleetNode(n.id, 'validator', now, {}, commits(100, null)) : n,
      );
    run.tick(genesis(T0), T0);
    run.tick(genesis(T0 + 5 * 60_000), T0 + 5 * 60_000);
    expect([...run.alerts.values()].filter((a) => a.kind === 'missed-blocks')).toEqual([]);
    // The first promotion: signed from 98 on; the genesis commits below never count.
    const signing = (now: number, missedFrom?: number) =>
      fleet(now).map((n) =>
        n.role === 'validator' ? fleetNode(n.id, 'validator', now, {}, commits(100, 98, missedFrom)) : n,
      );
    run.tick(signing(T0 + 6 * 60_000), T0 + 6 * 60_000);
    expect(run.state.firstSigned[`${CHAIN}#${VALIDATOR}`]).toBe(98);
    expect([...run.alerts.values()].filter((a) => a.kind === 'missed-blocks')).toEqual([]);
    // Real misses above it do (one alert for the validator, whichever nodes see them).
    run.tick(signing(T0 + 7 * 60_000, 96), T0 + 7 * 60_000);
    const t = T0 + 7 * 60_000;
    const missing = (now: number) =>
      fleet(now).map((n) =>
        n.role === 'validator'
          ? fleetNode(n.id, 'validator', now, { height: 110 }, commits(110, 98, 105))
          : n,
      );
    run.tick(missing(t), t);
    run.tick(missing(t + 30 * S), t + 30 * S);
    expect(run.open().map((a) => a.key)).toEqual([`validator:${CHAIN}:${VALIDATOR}:missed-blocks`]);
    expect(run.open()[0]!.title).toBe('validator AAAAAAAA missed 6 blocks in a row');
  });
});

describe('one message per event', () => {
  it('gathers a dead validator and the peers every sentry loses into one message, edited as it grows', () => {
    const run = new AlertingRun();
    run.tick(fleet(T0), T0);
    const peersLow = { 'sentry-1': { peers: 1 }, 'sentry-2': { peers: 1 }, 'sentry-3': { peers: 1 } };
    for (let t = T0 + 5 * S; t <= T0 + 70 * S; t += 5 * S) run.tick(withDead(t, T0, 'val-a', peersLow), t);
    expect(run.open()).toHaveLength(4);
    expect(new Set(run.open().map((a) => a.group)).size).toBe(1);
    expect(run.posts()).toEqual(['val-a: pilot silent']);
    const last = run.chat.at(-1)!;
    expect(last).toMatchObject({ mode: 'update', message: { title: 'val-a: pilot silent (+3 more)' } });
    expect(last.message.text).toContain('sentry-2: 1 peer');
    // val-a comes back: everything resolves in the same message.
    run.tick(fleet(T0 + 80 * S), T0 + 80 * S);
    expect(run.open()).toEqual([]);
    expect(run.posts()).toHaveLength(1);
    expect(run.chat.at(-1)!.message).toMatchObject({
      title: 'Resolved: val-a: pilot silent (+3 more)',
      severity: 'ok',
    });
  });

  it('puts one node’s problems in its message, and one symptom on several nodes in one', () => {
    const run = new AlertingRun(AlertPolicy.parse({ pendingMs: { 'rpc-unreachable': 0, 'height-lag': 0 } }));
    run.tick(fleet(T0), T0);
    run.tick(fleet(T0 + S, { 'sentry-1': { rpcReachable: false, height: 80 } }), T0 + S);
    expect(run.posts()).toEqual(['sentry-1: daemon RPC not answering (+1 more)']);
    const run2 = new AlertingRun();
    run2.tick(fleet(T0), T0);
    const low = { 'sentry-1': { peers: 0 }, 'sentry-3': { peers: 1 } };
    run2.tick(fleet(T0 + S, low), T0 + S);
    run2.tick(fleet(T0 + 61 * S, low), T0 + 61 * S);
    expect(run2.posts()).toEqual(['sentry-1: 0 peers (+1 more)']);
  });
});

describe('Beam’s own actions are expected', () => {
  it('holds the nodes of a running switchover, and starts counting when it ends', () => {
    const run = new AlertingRun();
    run.tick(fleet(T0), T0);
    const state = { ...initialFailoverState({ chainId: CHAIN, validator: VALIDATOR }), op: op({}) };
    const holds = failoverHolds(state);
    const during = (t: number) => fleet(t, { 'val-a': { running: false }, 'val-b': { rpcReachable: false } });
    for (let t = T0 + S; t <= T0 + 5 * 60_000; t += 30 * S) run.tick(during(t), t, { holds });
    expect(run.open()).toEqual([]);
    expect(run.alerts.get('node:val-a:daemon-down')).toMatchObject({ state: 'pending', heldBy: 'so-e3-3' });
    // Failed, and val-a is still down: now it is news (daemon down fires at once).
    const done = { ...state, op: op({ phase: 'aborted' }) };
    expect(failoverHolds(done)).toEqual([]);
    run.tick(during(T0 + 6 * 60_000), T0 + 6 * 60_000, { holds: failoverHolds(done) });
    expect(run.open().map((a) => a.key)).toEqual(['node:val-a:daemon-down']);
  });

  it('holds a validator’s misses from the moment a failover starts, its nodes once the lease moves', () => {
    const asking = {
      ...initialFailoverState({ chainId: CHAIN, validator: VALIDATOR }),
      op: op({ kind: 'failover', from: 'val-a', to: 'val-b', phase: 'awaiting-confirmation' }),
    };
    expect(failoverHolds(asking)).toEqual([
      { by: 'so-e3-3', chainId: CHAIN, validator: VALIDATOR, kinds: ['missed-blocks'] },
    ]);
    const moving = { ...asking, op: { ...asking.op, phase: 'promoting' as const } };
    expect(failoverHolds(moving).map((h) => h.nodeId ?? h.kinds?.join())).toEqual([
      'missed-blocks',
      'val-b',
      'low-peers',
    ]);
  });

  it('holds a rotated sentry and the peers its neighbours lose, and a restarted node', () => {
    const run = new AlertingRun(AlertPolicy.parse({ pendingMs: { 'low-peers': 0 } }));
    const nodes = fleet(T0);
    run.tick(nodes, T0);
    const sentry = initialSentryDefenceState('beam');
    sentry.ops['rot-sentry-1-1'] = {
      id: 'rot-sentry-1-1',
      kind: 'rotation',
      node: 'sentry-1',
      instanceId: 'i-1',
      startedAt: T0,
      phaseAt: T0,
      requestedBy: 'commander',
      reason: 'flooded',
      attempts: 0,
      nextCloudAt: null,
      lastError: null,
      finishedAt: null,
      failure: null,
      phase: 'stopping',
      previousAddress: null,
      newAddress: null,
      allocationId: null,
      config: null,
      actionIds: [],
    };
    const rotating = fleet(T0 + S, { 'sentry-1': { running: false, peers: 0 }, 'val-a': { peers: 1 } });
    run.tick(rotating, T0 + S, { holds: sentryHolds(sentry, nodes) });
    expect(run.open()).toEqual([]);
    const restarting = fleet(T0 + 2 * S, { 'val-b': { running: false } }).map((n) =>
      n.id === 'val-b'
        ? { ...n, actions: [{ id: 'restart-1', type: 'restart-daemon' as const, issuedAt: T0 }] }
        : n,
    );
    run.tick(restarting, T0 + 2 * S, { holds: restartHolds(restarting) });
    expect(run.open()).toEqual([]);
    expect(run.alerts.get('node:val-b:daemon-down')?.heldBy).toBe('restart-1');
  });
});

describe('digest', () => {
  it('counts signed and missed commits, alerts and finished operations, and is due daily at its hour', () => {
    expect(digestDueAt(Date.UTC(2026, 0, 5, 7, 59), 8)).toBe(Date.UTC(2026, 0, 5, 8));
    expect(digestDueAt(Date.UTC(2026, 0, 5, 8), 8)).toBe(Date.UTC(2026, 0, 6, 8));
    const run = new AlertingRun(AlertPolicy.parse({ digest: { enabled: true, hourUtc: 13 } }));
    const at = (t: number, height: number, missedFrom?: number) =>
      fleet(t).map((n) =>
        n.role === 'validator'
          ? fleetNode(n.id, 'validator', t, { height }, commits(height, 1, missedFrom))
          : n,
      );
    run.tick(at(T0, 100), T0);
    run.tick(at(T0 + 60_000, 110, 108), T0 + 60_000, {
      finished: [
        { id: 'so-e3-3', chainId: CHAIN, kind: 'switchover', ok: true, at: T0 + 30_000 },
        { id: 'fo-e1-1', chainId: CHAIN, kind: 'failover', ok: true, at: T0 - 60_000 },
      ],
    });
    run.tick(at(T0 + 120_000, 112, 108), T0 + 120_000, {
      finished: [{ id: 'so-e3-3', chainId: CHAIN, kind: 'switchover', ok: true, at: T0 + 30_000 }],
    });
    expect(run.state.digest[CHAIN]).toMatchObject({ signed: 7, missed: 5, actions: { switchover: 1 } });
    const due = run.tick(at(Date.UTC(2026, 0, 5, 13), 120), Date.UTC(2026, 0, 5, 13));
    expect(due.digests).toEqual([
      { chainId: CHAIN, progress: expect.objectContaining({ since: T0, missed: 5 }) },
    ]);
    expect(run.state.digest[CHAIN]).toMatchObject({ since: Date.UTC(2026, 0, 5, 13), signed: 0, missed: 0 });
  });
});
