import { describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/index.js';
import {
  type Finding,
  type FirstSigned,
  defaultThresholds,
  evaluateHealth as evaluate,
  findingsFor,
} from '../../commander/domain/health.js';
import { renewOnReport } from '../../commander/domain/lease.js';
import { configGenerator, desiredConfig } from '../../commander/domain/node-config.js';
import {
  type NodeRecord,
  applyReport,
  decideEnrollment,
  queueAction,
} from '../../commander/domain/registry.js';
import { sampleReport } from '../fixtures/report.js';
import { T0, enrollRequest } from './helpers.js';
import { node as registryNode } from './sentry/fixtures.js';

const t = defaultThresholds();

function node(overrides: Partial<Report> = {}, id = 'val-a'): NodeRecord {
  const created = decideEnrollment(null, enrollRequest({ name: id }), 'h', { roles: ['validator'] }, T0);
  if (created.kind !== 'created') throw new Error('expected a new node');
  const base = sampleReport({ nodeId: id, seq: 1 });
  return applyReport(
    created.node,
    { ...base, daemon: { ...base.daemon, latestBlockTime: T0 }, ...overrides },
    T0,
  ).node;
}

const chain = (overrides: Partial<NonNullable<Report['chain']>> = {}): NonNullable<Report['chain']> => ({
  validatorAddress: 'A'.repeat(40),
  operatorAddress: null,
  recentCommits: [],
  signingInfo: null,
  validator: { jailed: false, status: 'bonded', tokens: '1' },
  networkSignedShare: 1,
  balances: [],
  rewards: [],
  commission: [],
  proposals: [],
  grants: null,
  errors: [],
  ...overrides,
});

const keys = (findings: Finding[]) => findings.map((f) => `${f.kind}/${f.severity}`).sort();

/** The validator first signed at height 1 (no genesis grace in the way). */
const signedFromGenesis: FirstSigned = () => 1;
const evaluateHealth = (n: NodeRecord, siblings: NodeRecord[], th: typeof t, interval: number, now: number) =>
  evaluate(n, siblings, th, interval, now, signedFromGenesis);

describe('health', () => {
  it('finds nothing wrong with a healthy node', () => {
    expect(evaluateHealth(node(), [node()], t, 5000, T0 + 1000)).toEqual([]);
  });

  it('calls a pilot silent after three intervals, and judges nothing else on stale facts', () => {
    const n = node({ daemon: { ...sampleReport().daemon, running: false } });
    expect(keys(evaluateHealth(n, [n], t, 5000, T0 + 15_000))).toEqual(['daemon-down/critical']);
    expect(keys(evaluateHealth(n, [n], t, 5000, T0 + 15_001))).toEqual(['pilot-silent/critical']);
  });

  it('grades lag against our best node, peers, disk and memory', () => {
    const base = sampleReport();
    const behind = node({
      daemon: { ...base.daemon, height: 4, peers: 0, latestBlockTime: T0 },
      host: { ...base.host, diskFreeBytes: 0.04e9, memAvailableBytes: 0.1e9 },
    });
    const ahead = node({ daemon: { ...base.daemon, height: 60, latestBlockTime: T0 } }, 'val-b');
    expect(keys(evaluateHealth(behind, [behind, ahead], t, 5000, T0))).toEqual([
      'disk/critical',
      'height-lag/critical',
      'low-peers/critical',
      'memory/warning',
    ]);
  });

  it('calls a miss while the network signs ours alone, and tiers the downtime allowance', () => {
    const commits = [1, 2, 3, 4].map((h) => ({ height: h, signed: h === 1, at: T0 }));
    const signingInfo = {
      missedBlocksCounter: 20,
      signedBlocksWindow: 100,
      minSignedPerWindow: 0.5,
      jailedUntil: null,
      tombstoned: false,
    };
    const solo = node({ chain: chain({ recentCommits: commits, networkSignedShare: 0.95, signingInfo }) });
    const soloFindings = evaluateHealth(solo, [solo], t, 5000, T0);
    expect(keys(soloFindings)).toEqual(['missed-blocks/critical', 'missed-window/warning']);
    const [miss] = soloFindings;
    expect(`${miss!.title} ${miss!.detail}`).toBe(
      'validator AAAAAAAA missed 3 blocks in a row while 95% of the network signed: this miss is ours alone',
    );
    // A commit signed by too little of the set (a share read against the wrong set) is no "stall":
    // only the streak grades it.
    const low = node({ chain: chain({ recentCommits: commits, networkSignedShare: 0.4 }) });
    expect(evaluateHealth(low, [low], t, 5000, T0)).toMatchObject([
      {
        severity: 'warning',
        title: 'validator AAAAAAAA missed 3 blocks in a row',
        detail: '40% of the network signed the latest commit',
      },
    ]);
  });

  it('reports jailed, tombstoned and inactive', () => {
    const jailed = node({ chain: chain({ validator: { jailed: true, status: 'unbonding', tokens: '1' } }) });
    expect(keys(evaluateHealth(jailed, [jailed], t, 5000, T0))).toEqual(['jailed/critical']);
    const out = node({ chain: chain({ validator: { jailed: false, status: 'unbonded', tokens: '1' } }) });
    expect(keys(evaluateHealth(out, [out], t, 5000, T0))).toEqual(['inactive/critical']);
    const info = {
      missedBlocksCounter: 0,
      signedBlocksWindow: 100,
      minSignedPerWindow: 0.5,
      jailedUntil: null,
      tombstoned: true,
    };
    const dead = node({ chain: chain({ signingInfo: info }) });
    expect(keys(evaluateHealth(dead, [dead], t, 5000, T0))).toEqual(['tombstoned/critical']);
  });
});

describe('chain halt', () => {
  const STALE = T0 - 120_000;
  /** An approved node at `height` whose latest block is from `blockAt`. */
  const at = (id: string, height: number, blockAt: number, overrides: Partial<Report> = {}): NodeRecord => {
    const daemon = { ...sampleReport().daemon, height, latestBlockTime: blockAt };
    return { ...node({ daemon, ...overrides }, id), status: 'approved' };
  };
  const halts = (nodes: NodeRecord[]) =>
    [...findingsFor(nodes, t, 5000, T0, signedFromGenesis)].map(
      ([id, findings]) => [id, findings.filter((f) => f.kind === 'chain-halted')] as const,
    );

  it('is one finding for the chain when every node following it agrees, down nodes aside', () => {
    const down = at('val-c', 50, STALE, { daemon: { ...sampleReport().daemon, running: false } });
    const found = halts([at('val-b', 50, STALE), at('sentry-1', 49, STALE - 1_000), down]);
    const finding = {
      key: 'chain:beam-devnet-1:chain-halted',
      kind: 'chain-halted',
      nodeId: 'sentry-1',
      chainId: 'beam-devnet-1',
      severity: 'critical',
      title: 'beam-devnet-1: the chain halted at height 50',
      detail: 'no block for 2 min: all 2 of our nodes following the chain agree',
    };
    expect(found).toEqual([
      ['val-b', [finding]],
      ['sentry-1', [finding]],
      ['val-c', []],
    ]);
  });

  it('is a node problem when one node alone sees no new blocks while its siblings move', () => {
    const stuck = at('val-a', 40, STALE);
    const nodes = [stuck, at('val-b', 60, T0)];
    expect(halts(nodes)).toEqual([
      ['val-a', []],
      ['val-b', []],
    ]);
    expect(keys(findingsFor(nodes, t, 5000, T0, signedFromGenesis).get('val-a')!)).toEqual([
      'height-lag/warning',
    ]);
  });

  it('names the upgrade a node halted for, as a warning', () => {
    const halted = { name: 'v2', height: 51, info: '' };
    const upgrade = { cosmovisor: true, plan: halted, staged: true, halted };
    const found = halts([at('val-a', 50, STALE, { upgrade }), at('val-b', 50, STALE)])[0]![1];
    expect(found[0]).toMatchObject({
      severity: 'warning',
      title: 'beam-devnet-1: the chain halted for upgrade v2 at height 51',
      detail: 'no block for 2 min: all 2 of our nodes following the chain agree',
    });
  });

  it('is said by a lone node following the chain, and not before chainHaltedMs', () => {
    expect(halts([at('val-a', 50, STALE)])[0]![1][0]!.detail).toBe(
      'no block for 2 min: our only node following the chain (val-a) sees none',
    );
    expect(halts([at('val-a', 50, T0 - t.chainHaltedMs)])).toEqual([['val-a', []]]);
  });
});

describe('registry and lease', () => {
  it('caps queued actions and ignores a repeated id', () => {
    let n = node();
    const action = { id: 'a', type: 'restart-daemon' as const, issuedAt: T0 };
    n = queueAction(queueAction(n, action), action);
    expect(n.actions).toHaveLength(1);
    for (let i = 1; i < 50; i++) n = queueAction(n, { ...action, id: `a${i}` });
    expect(() => queueAction(n, { ...action, id: 'over' })).toThrow(/50 actions/);
  });

  it('renews a lease only for its healthy, unexpired holder', () => {
    const lease = { chainId: 'c', validator: 'v', holder: 'val-a', epoch: 3, expiresAt: T0 + 10_000 };
    expect(renewOnReport(lease, 'val-a', true, T0, 30_000).expiresAt).toBe(T0 + 30_000);
    expect(renewOnReport(lease, 'val-a', false, T0, 30_000)).toBe(lease);
    expect(renewOnReport(lease, 'val-b', true, T0, 30_000)).toBe(lease);
    expect(renewOnReport(lease, 'val-a', true, T0 + 10_000, 30_000)).toBe(lease);
  });
});

describe('generated configs across chains', () => {
  it('gives each node only its own chain’s peers, and equal patches one shared version', () => {
    const on = (chainId: string, overrides: Partial<NodeRecord> = {}) => ({ chainId, ...overrides });
    const fleet = [
      registryNode('a-val-1', 'validator', 1, on('chain-a')),
      registryNode('a-val-2', 'validator', 2, on('chain-a')),
      registryNode('a-sentry-1', 'sentry', 3, on('chain-a')),
      registryNode('a-sentry-2', 'sentry', 4, on('chain-a', { publicAddress: '198.51.100.4:26656' })),
      registryNode('b-val-1', 'validator', 5, on('chain-b')),
      registryNode('b-sentry-1', 'sentry', 6, on('chain-b')),
      registryNode('a-sentry-3', 'sentry', 7, on('chain-a', { status: 'pending' })),
    ];
    const configFor = configGenerator(fleet);
    const [aVal1, aVal2, aSentry1, aSentry2, bVal1, bSentry1] = fleet.map(configFor);
    const peer = (n: number) => `${fleet[n - 1]!.cometNodeId}@10.0.0.${n}:26656`;
    expect(aVal1!.patch.p2p?.persistent_peers).toEqual([peer(3), peer(4)].sort()); // not the pending sentry
    expect(aVal2).toBe(aVal1); // same sentries: one patch, one version
    expect(aSentry1!.patch.p2p?.persistent_peers).toEqual([peer(1), peer(2)].sort());
    expect(aSentry1!.patch.p2p?.external_address).toBe('10.0.0.3:26656');
    expect(aSentry2!.patch.p2p?.external_address).toBe('198.51.100.4:26656');
    expect(aSentry2!.version).not.toBe(aSentry1!.version);
    expect(bVal1!.patch.p2p?.persistent_peers).toEqual([peer(6)]);
    expect(bSentry1!.patch.p2p?.private_peer_ids).toEqual([fleet[4]!.cometNodeId]);
    // One node at a time gives the same configs as the whole fleet at once.
    for (const n of fleet) expect(desiredConfig(n, fleet)).toEqual(configFor(n));
  });
});
