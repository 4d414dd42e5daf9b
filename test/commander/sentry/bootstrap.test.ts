/**
 * State sync of new nodes: which trust and servers the commander picks from the fleet's healthy
 * nodes, what stops it (told once as an alert), what it holds, and the tick that queues the action.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../../commander/app/tick.js';
import type { NodeRecord } from '../../../commander/domain/registry.js';
import {
  bootstrapHolds,
  decideSentryDefence,
  initialSentryDefenceState,
  planStateSync,
} from '../../../commander/sentry/index.js';
import { Action, type BootstrapFacts, type DaemonFacts } from '../../../protocol/index.js';
import { makeCommander, startDynalite, T0 as HELPERS_T0 } from '../helpers.js';
import { CHAIN, T0, node, settings } from './fixtures.js';

const S = settings();
const hash = (c: string) => c.repeat(64);

/** A node following the chain at `height`, serving state sync at its RPC unless `url` is null. */
function serving(
  id: string,
  role: 'sentry' | 'validator',
  n: number,
  daemon: Partial<DaemonFacts> = {},
  over: Partial<NodeRecord> = {},
): NodeRecord {
  const base = node(id, role, n, over);
  return {
    ...base,
    lastReport: {
      ...base.lastReport!,
      daemon: {
        ...base.lastReport!.daemon,
        height: 1000 + n,
        latestBlockHash: hash(String.fromCharCode(64 + n)),
        stateSyncRpcUrl: `http://10.0.0.${n}:26657`,
        snapshotInterval: role === 'sentry' ? 100 : 0,
        ...daemon,
      },
    },
  };
}

/** A new sentry whose pilot waits for state sync (or is in `state`). */
function waiting(
  id: string,
  state: BootstrapFacts['state'] = 'awaiting-state-sync',
  over: Partial<NodeRecord> = {},
) {
  const base = node(id, 'sentry', 9, over);
  const report = base.lastReport!;
  return {
    ...base,
    lastReport: {
      ...report,
      daemon: {
        ...report.daemon,
        running: state !== 'awaiting-state-sync',
        height: state === 'awaiting-state-sync' ? null : 0,
        catchingUp: state === 'syncing' ? true : null,
      },
      bootstrap: { state, since: report.sentAt - 60_000, trustHeight: null, syncedAt: null },
    },
  } satisfies NodeRecord;
}

const fleet = () => [
  serving('val-a', 'validator', 1),
  serving('sentry-1', 'sentry', 2),
  serving('sentry-2', 'sentry', 3),
];

describe('state sync plan', () => {
  it('takes the trust from the lowest latest block of the RPC servers, snapshots from the sentries', () => {
    const plan = planStateSync(waiting('sentry-9'), [...fleet(), waiting('sentry-9')], T0, S);
    expect(plan.problem).toBeUndefined();
    const action = plan.action!;
    expect(Action.parse(action)).toEqual(action);
    // val-a (1001) is the lowest of the three: all of them hold its block. The sentries take
    // snapshots, so they keep the blocks above them: one of them is the primary.
    expect(action).toMatchObject({
      id: `state-sync-sentry-9-${T0}`,
      type: 'state-sync',
      issuedAt: T0,
      trustHeight: 1001,
      trustHash: hash('A'),
      trustPeriod: '168h0m0s',
      rpcServers: ['http://10.0.0.3:26657', 'http://10.0.0.2:26657', 'http://10.0.0.1:26657'],
      peers: [`${'03'.repeat(20)}@10.0.0.3:26656`, `${'02'.repeat(20)}@10.0.0.2:26656`],
    });
    expect(plan.detail).toBe(
      `trust height 1001 (AAAAAAAAAAAA…) from val-a; RPC servers sentry-2, sentry-1, val-a; snapshots from sentry-2, sentry-1`,
    );
    const period = settings({ stateSyncTrustPeriod: '336h' });
    expect(planStateSync(waiting('sentry-9'), fleet(), T0, period).action?.trustPeriod).toBe('336h');
  });

  it('leaves out what cannot vouch: other chains, silent, catching up, syncing, pending or URL-less nodes', () => {
    const others = [
      serving('x-1', 'sentry', 4, { height: 5000 }, { chainId: 'other-1' }),
      serving('x-2', 'sentry', 5, { height: 5000 }, { lastSeen: T0 - S.freshReportMs - 1 }),
      serving('x-3', 'sentry', 6, { height: 5000, catchingUp: true }),
      {
        ...waiting('x-4', 'syncing'),
        lastReport: {
          ...waiting('x-4', 'syncing').lastReport,
          daemon: serving('x', 'sentry', 7).lastReport!.daemon,
        },
      },
      serving('x-5', 'sentry', 8, { height: 5000 }, { status: 'pending' }),
      serving('x-6', 'sentry', 10, { height: 5000, stateSyncRpcUrl: null }),
    ];
    const plan = planStateSync(waiting('sentry-9'), [...fleet(), ...others], T0, S);
    expect(plan.action?.rpcServers).toEqual([
      'http://10.0.0.3:26657',
      'http://10.0.0.2:26657',
      'http://10.0.0.1:26657',
    ]);
    expect(plan.action?.trustHeight).toBe(1001);
    // x-6 serves no RPC but takes snapshots: a peer to restore from all the same.
    expect(plan.action?.peers[0]).toBe(`${'0a'.repeat(20)}@10.0.0.10:26656`);
  });

  it('waits: a node not waiting, a stale report, an action queued, or a failed one not due again', () => {
    const nodes = fleet();
    expect(planStateSync(nodes[1]!, nodes, T0, S)).toEqual({});
    expect(planStateSync(waiting('sentry-9', 'syncing'), nodes, T0, S)).toEqual({});
    expect(
      planStateSync(waiting('sentry-9', 'awaiting-state-sync', { lastSeen: T0 - 60_000 }), nodes, T0, S),
    ).toEqual({});
    const queued = planStateSync(waiting('sentry-9'), nodes, T0, S).action!;
    expect(
      planStateSync(waiting('sentry-9', 'awaiting-state-sync', { actions: [queued] }), nodes, T0, S),
    ).toEqual({});

    const refused = {
      id: queued.id,
      type: 'state-sync',
      ok: false,
      finishedAt: T0,
      message: 'no config.toml',
    };
    const failedOnce = waiting('sentry-9', 'awaiting-state-sync', { recentResults: [refused] });
    // Told as a problem while the retry waits, and still while the next action runs: one alert, not a loop.
    expect(planStateSync(failedOnce, nodes, T0 + 1000, S)).toEqual({
      problem: 'its pilot did not take the state-sync action: no config.toml',
    });
    const later = T0 + S.stateSyncRetryMs;
    const seen = (n: NodeRecord) => ({ ...n, lastSeen: later });
    const again = planStateSync(seen(failedOnce), nodes.map(seen), later, S);
    expect(again.action?.id).toBe(`state-sync-sentry-9-${later}`);
    expect(again.problem).toMatch(/no config\.toml/);
  });

  it('names what stops it: no healthy node, fewer than two RPC servers, no block hash', () => {
    expect(planStateSync(waiting('sentry-9'), [waiting('sentry-9')], T0, S)).toEqual({
      problem: `no healthy node of ${CHAIN} to take a trust height and hash from (a fresh report, its daemon up and synced)`,
    });
    const one = [
      serving('val-a', 'validator', 1),
      serving('sentry-1', 'sentry', 2, { stateSyncRpcUrl: null }),
    ];
    expect(planStateSync(waiting('sentry-9'), one, T0, S).problem).toBe(
      `state sync needs two RPC servers and 1 healthy node(s) of ${CHAIN} serve one (val-a): set daemon.state_sync_rpc_url in the pilot config of at least two validators or sentries (the URL the others reach its RPC at)`,
    );
    const old = fleet().map((n) => ({
      ...n,
      lastReport: { ...n.lastReport!, daemon: { ...n.lastReport!.daemon, latestBlockHash: undefined } },
    }));
    expect(planStateSync(waiting('sentry-9'), old, T0, S).problem).toMatch(
      /^none of sentry-2, sentry-1, val-a reports its latest block hash: upgrade their pilots$/,
    );
    const noSnapshots = fleet().map((n) => ({
      ...n,
      lastReport: { ...n.lastReport!, daemon: { ...n.lastReport!.daemon, snapshotInterval: 0 } },
    }));
    const plan = planStateSync(waiting('sentry-9'), noSnapshots, T0, S);
    expect(plan.action?.peers).toEqual([]);
    expect(plan.detail).toMatch(/no node of the fleet takes snapshots/);
  });

  it('holds the waiting node’s health alerts (and the syncing one’s but daemon-down) for a while', () => {
    const nodes = [
      ...fleet(),
      waiting('sentry-8'),
      waiting('sentry-9', 'syncing'),
      waiting('sentry-7', 'synced'),
    ];
    const holds = bootstrapHolds(nodes, T0, S);
    expect(holds).toEqual([
      {
        by: 'state-sync:sentry-8',
        chainId: CHAIN,
        nodeId: 'sentry-8',
        kinds: ['daemon-down', 'rpc-unreachable', 'catching-up', 'height-lag', 'low-peers'],
      },
      {
        by: 'state-sync:sentry-9',
        chainId: CHAIN,
        nodeId: 'sentry-9',
        kinds: ['rpc-unreachable', 'catching-up', 'height-lag', 'low-peers'],
      },
    ]);
    // It began waiting a minute before its report: the hold ends stateSyncHoldMs after that.
    expect(bootstrapHolds(nodes, T0 - 60_000 + S.stateSyncHoldMs, S)).toHaveLength(2);
    expect(bootstrapHolds(nodes, T0 - 60_000 + S.stateSyncHoldMs + 1, S)).toEqual([]);
  });

  it('never replaces a sentry for the daemon its pilot keeps down to wait for state sync', () => {
    const input = {
      nodes: [...fleet(), waiting('sentry-9')],
      settings: settings({ replaceAfterMs: 60_000 }),
    };
    let state = initialSentryDefenceState('beam');
    for (const now of [T0, T0 + 120_000]) {
      const at = { ...input, nodes: input.nodes.map((n) => ({ ...n, lastSeen: now })) };
      const out = decideSentryDefence(state, { type: 'tick' }, now, at);
      state = out.state;
      expect(Object.values(state.ops)).toEqual([]);
    }
  });
});

describe('state sync in the tick', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('queues one action with an audit entry, then tells a blocked node once', async () => {
    const c = await makeCommander(dynamo.endpoint);
    const now = HELPERS_T0;
    const at = (n: NodeRecord): NodeRecord => ({
      ...n,
      lastSeen: now,
      lastReport: { ...n.lastReport!, sentAt: now },
    });
    const fresh = (n: NodeRecord) => {
      const b = n.lastReport!.bootstrap;
      return at(b ? { ...n, lastReport: { ...n.lastReport!, bootstrap: { ...b, since: now - 1000 } } } : n);
    };
    for (const n of [...fleet(), waiting('sentry-9')]) await c.store.putNode(fresh(n), null);
    await runTick(c.deps);
    await runTick(c.deps);
    const queued = (await c.store.getNode('sentry-9'))!.value.actions.filter((a) => a.type === 'state-sync');
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      trustHeight: 1001,
      rpcServers: expect.arrayContaining(['http://10.0.0.1:26657']),
    });
    const audit = (await c.store.listAudit(50)).filter((e) => e.action === 'state-sync');
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'commander',
        target: 'sentry-9',
        outcome: 'ok',
        detail: expect.stringMatching(/^state-sync-sentry-9-\d+: trust height 1001/),
      }),
    ]);

    // A second waiting node on a chain with only one RPC server: one alert, after its pending minute.
    const lonely = { ...waiting('sentry-8'), chainId: 'lonely-1' };
    await c.store.putNode(fresh({ ...serving('val-z', 'validator', 4), chainId: 'lonely-1' }), null);
    await c.store.putNode(fresh(lonely), null);
    await runTick(c.deps);
    c.clock.advance(61_000);
    for (const id of ['val-z', 'sentry-8']) {
      const stored = (await c.store.getNode(id))!;
      await c.store.putNode({ ...stored.value, lastSeen: c.clock.now() }, stored.version);
    }
    await runTick(c.deps);
    await runTick(c.deps);
    const alert = (await c.store.getAlert('node:sentry-8:state-sync-blocked'))?.value;
    expect(alert).toMatchObject({ state: 'open', severity: 'warning', nodeId: 'sentry-8' });
    const told = c.transport.posts.filter((p) => JSON.stringify(p.message).includes('cannot state-sync'));
    expect(told).toHaveLength(1);
    expect(JSON.stringify(told[0]!.message)).toMatch(/state sync needs two RPC servers and 1 healthy node/);
  });
});
