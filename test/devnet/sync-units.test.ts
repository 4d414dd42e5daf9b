/**
 * The pure pieces of how a devnet node catches up: the SDK's block retention, the block store and
 * snapshot files, blocksync's rate and choice of peers, [statesync] and app.toml as CometBFT and
 * the SDK read them, and the light client against RPC servers that disagree.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readAppConfig, renderAppToml } from '../../devnet/apptoml.js';
import { type BlockSource, Blocksync } from '../../devnet/blocksync.js';
import { BlockStore, retainHeight } from '../../devnet/blockstore.js';
import { parseNodeConfig, renderConfigToml, stateSyncProblem } from '../../devnet/config.js';
import { LightClient, rpcBase } from '../../devnet/lightclient.js';
import { SnapshotStore, chunksHash, snapshotChunk, snapshotOf } from '../../devnet/snapshots.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'devnet-sync-units-'));
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  rmSync(home, { recursive: true, force: true });
});

describe('block retention and the block store', () => {
  it("follows the SDK's GetBlockRetentionHeight: min-retain-blocks, widened by the snapshots kept", () => {
    const r = (minRetainBlocks: number, snapshotInterval = 0, snapshotKeepRecent = 2) => ({
      minRetainBlocks,
      snapshotInterval,
      snapshotKeepRecent,
    });
    expect(retainHeight(5000, r(0))).toBe(0); // 0 keeps every block
    expect(retainHeight(100, r(200))).toBe(0); // not enough blocks yet
    expect(retainHeight(1000, r(200))).toBe(800);
    expect(retainHeight(1000, r(200, 300))).toBe(400); // two snapshots 300 apart reach back 600
    expect(retainHeight(1000, r(200, 50))).toBe(800); // snapshots within the window change nothing
    expect(retainHeight(500, r(200, 300))).toBe(0); // snapshots reach before genesis
  });

  it('grows one contiguous block at a time, prunes, restores at a snapshot and persists', () => {
    const retention = { minRetainBlocks: 10, snapshotInterval: 0, snapshotKeepRecent: 0 };
    const store = BlockStore.open(join(home, 'data'), retention);
    expect([store.base, store.height]).toEqual([0, 0]);
    expect(() => store.append(2)).toThrow('BlockStore can only save contiguous blocks. Wanted 1, got 2');
    for (let h = 1; h <= 25; h++) store.append(h);
    expect([store.base, store.height]).toEqual([15, 25]);
    store.save();
    const reopened = BlockStore.open(join(home, 'data'), retention);
    expect([reopened.base, reopened.height]).toEqual([15, 25]);
    reopened.restore(500);
    reopened.append(501);
    expect([reopened.base, reopened.height]).toEqual([500, 501]);
  });
});

describe('snapshots', () => {
  it('are taken every interval, the newest kept, their chunks served and matching their hash', () => {
    const store = SnapshotStore.open(home, 'chain-1', 10, 2);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    for (let h = 1; h <= 35; h++) store.onCommit(h);
    expect(store.list().map((s) => s.height)).toEqual([30, 20]);
    const snapshot = snapshotOf('chain-1', 30);
    expect(store.list()[0]).toEqual(snapshot);
    const chunks = [0, 1, 2].map((i) => store.chunk(30, 3, i));
    expect(chunks.every((c) => c !== null)).toBe(true);
    expect(chunksHash(chunks as Buffer[])).toBe(snapshot.hash);
    expect(store.chunk(10, 3, 0)).toBeNull(); // pruned
    expect(store.chunk(30, 3, 3)).toBeNull();
    expect(chunksHash([snapshotChunk('chain-2', 30, 0)])).not.toBe(snapshot.hash);
    expect(SnapshotStore.open(home, 'chain-1', 10, 2).list()).toEqual(store.list());
  });
});

describe('blocksync', () => {
  const network = (base: number, height: number): BlockSource => ({
    id: 'network',
    base,
    height,
    fetch: async (from, to) => (from >= base ? Math.min(to, height) : from - 1),
  });
  /** `refuse`: the first height the node cannot execute (its pre-blocker). */
  const run = (sources: BlockSource[], rate: number, start = 0, refuse = Number.POSITIVE_INFINITY) => {
    const delivered: number[] = [];
    let progress = 0;
    let caughtUp = false;
    const sync = new Blocksync({
      rate,
      height: () => delivered.at(-1) ?? start,
      sources: () => sources,
      deliver: (h) => h < refuse && delivered.push(h) > 0,
      progress: () => {
        progress = delivered.at(-1) ?? start;
      },
      caughtUp: () => {
        caughtUp = true;
      },
    });
    sync.start(false);
    return { delivered, caughtUp: () => caughtUp, progress: () => progress, sync };
  };

  it('fetches a second of blocks at once, then at most `rate` a second, in order, then switches to consensus', async () => {
    vi.useFakeTimers();
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const { delivered, caughtUp } = run([network(1, 350)], 100);
    await vi.advanceTimersByTimeAsync(0);
    expect(delivered.length).toBe(100);
    await vi.advanceTimersByTimeAsync(1000);
    expect(delivered.length).toBeGreaterThanOrEqual(190);
    expect(delivered.length).toBeLessThanOrEqual(200);
    expect(delivered).toEqual(delivered.map((_, i) => i + 1));
    expect(caughtUp()).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(delivered.length).toBe(350);
    expect(caughtUp()).toBe(true);
  });

  it('takes pruned blocks from a peer that still holds them, and stalls, logged, when none does', async () => {
    vi.useFakeTimers();
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const archive: BlockSource = { id: 'archive', base: 1, height: 90, fetch: async (_from, to) => to };
    const withArchive = run([network(60, 100), archive], 1000);
    await vi.advanceTimersByTimeAsync(500);
    expect(withArchive.delivered.length).toBe(100);
    expect(withArchive.caughtUp()).toBe(true);

    const stalled = run([network(60, 100)], 1000);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(stalled.delivered).toEqual([]);
    expect(stalled.caughtUp()).toBe(false);
    expect(errors).toHaveBeenCalledTimes(3); // at once, then every 10 s
    expect(String(errors.mock.calls[0]?.[0])).toMatch(
      /No peer has the block we need +module=blocksync height=1 max_peer_height=100 lowest_peer_base=60 peers=1/,
    );
    stalled.sync.stop();
  });

  it('stops for good at a block the node cannot execute, the blocks below it kept', async () => {
    vi.useFakeTimers();
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const halted = run([network(1, 300)], 100, 0, 150);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(halted.delivered).toEqual(Array.from({ length: 149 }, (_, i) => i + 1));
    // The batch that met the refused block was persisted up to the block before it.
    expect(halted.progress()).toBe(149);
    expect(halted.caughtUp()).toBe(false);
  });
});

describe('config.toml [statesync] and app.toml', () => {
  const configToml = renderConfigToml({
    moniker: 'n',
    hubAddress: '127.0.0.1:1',
    rpcAddress: '127.0.0.2:2',
    p2pAddress: '127.0.0.2:3',
    persistentPeers: [],
    privatePeerIds: [],
    unconditionalPeerIds: [],
    pex: true,
    externalAddress: '',
    doubleSignCheckHeight: 0,
    timeoutCommitMs: 1000,
    privValidatorLaddr: '',
  });

  it("reads CometBFT's defaults, comma-separated rpc_servers and Go durations", () => {
    const defaults = parseNodeConfig(configToml, 'config.toml').statesync;
    expect(defaults).toMatchObject({
      enable: false,
      rpc_servers: [],
      trust_period: 168 * 3_600_000,
      discovery_time: 15_000,
      chunk_request_timeout: 10_000,
    });
    expect(stateSyncProblem(defaults)).toBeNull();
    const edited = configToml
      .replace('rpc_servers = ""', 'rpc_servers = "127.0.0.3:26657, http://127.0.0.4:26657"')
      .replace('trust_period = "168h0m0s"', 'trust_period = "1h30m"')
      .replace('discovery_time = "15s"', 'discovery_time = "0s"');
    expect(parseNodeConfig(edited, 'config.toml').statesync).toMatchObject({
      rpc_servers: ['127.0.0.3:26657', 'http://127.0.0.4:26657'],
      trust_period: 90 * 60_000,
      discovery_time: 0,
    });
    expect(() =>
      parseNodeConfig(configToml.replace('discovery_time = "15s"', 'discovery_time = "soon"'), 'c.toml'),
    ).toThrow(/statesync\.discovery_time: must be a duration/);
    expect(rpcBase('127.0.0.3:26657')).toBe('http://127.0.0.3:26657');
    expect(rpcBase('tcp://127.0.0.3:26657')).toBe('http://127.0.0.3:26657');
    expect(rpcBase('https://rpc.example.com/')).toBe('https://rpc.example.com');
  });

  it("refuses what CometBFT's ValidateBasic refuses, with its words", () => {
    const base = {
      enable: true,
      rpc_servers: ['a:1', 'b:2'],
      trust_height: 10,
      trust_hash: 'AB'.repeat(32),
      trust_period: 1000,
      discovery_time: 5000,
      chunk_request_timeout: 10_000,
    };
    expect(stateSyncProblem(base)).toBeNull();
    expect(stateSyncProblem({ ...base, enable: false, rpc_servers: [] })).toBeNull();
    expect(stateSyncProblem({ ...base, rpc_servers: [] })).toBe('rpc_servers is required');
    expect(stateSyncProblem({ ...base, rpc_servers: ['a:1'] })).toBe(
      'at least two rpc_servers entries is required',
    );
    expect(stateSyncProblem({ ...base, rpc_servers: ['a:1', ''] })).toBe('found empty rpc_servers entry');
    expect(stateSyncProblem({ ...base, discovery_time: 1000 })).toBe(
      'discovery time must be 0s or greater than five seconds',
    );
    expect(stateSyncProblem({ ...base, trust_height: 0 })).toBe('trusted_height is required');
    expect(stateSyncProblem({ ...base, trust_hash: '' })).toBe('trusted_hash is required');
    expect(stateSyncProblem({ ...base, trust_hash: 'ABG' })).toBe(
      "invalid trusted_hash: encoding/hex: invalid byte: U+0047 'G'",
    );
    expect(stateSyncProblem({ ...base, trust_hash: 'ABC' })).toBe(
      'invalid trusted_hash: encoding/hex: odd length hex string',
    );
    expect(stateSyncProblem({ ...base, chunk_request_timeout: 1000 })).toBe(
      'chunk_request_timeout must be at least 5 seconds',
    );
  });

  it("reads app.toml's retention and snapshot keys, and the SDK's defaults without one", () => {
    expect(readAppConfig(home)).toEqual({
      'min-retain-blocks': 0,
      'state-sync': { 'snapshot-interval': 0, 'snapshot-keep-recent': 2 },
    });
    mkdirSync(join(home, 'config'));
    writeFileSync(
      join(home, 'config', 'app.toml'),
      renderAppToml({ minRetainBlocks: 300, snapshotInterval: 100 }),
    );
    expect(readAppConfig(home)).toEqual({
      'min-retain-blocks': 300,
      'state-sync': { 'snapshot-interval': 100, 'snapshot-keep-recent': 2 },
    });
  });
});

describe('the light client', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    servers.length = 0;
  });
  /** An RPC server whose /commit answers `hash` at every height, with a header of `timeMs`. */
  const rpc = async (hash: string, timeMs = Date.now(), chainId = 'chain-1') => {
    const server = createServer((req, res) => {
      const height = new URL(req.url ?? '/', 'http://x').searchParams.get('height');
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: -1,
          result: {
            signed_header: {
              header: { chain_id: chainId, height, time: new Date(timeMs).toISOString() },
              commit: { block_id: { hash } },
            },
          },
        }),
      );
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const good = 'AA'.repeat(32);
  const trust = { height: 10, hash: good.toLowerCase(), periodMs: 3_600_000 };

  it('trusts a header the primary and a witness serve with the trust hash', async () => {
    const client = await LightClient.trust([await rpc(good), await rpc(good)], trust, 'chain-1');
    expect((await client.verify(12)).hash).toBe(good);
  });

  it('refuses a witness that disagrees, an expired header, another chain and a short hash', async () => {
    await expect(
      LightClient.trust([await rpc(good), await rpc('BB'.repeat(32))], trust, 'chain-1'),
    ).rejects.toThrow(`header hash (${'BB'.repeat(32)}) from witness (0) does not match primary`);
    const old = Date.parse('2026-01-01T00:00:00Z');
    await expect(
      LightClient.trust([await rpc(good, old), await rpc(good, old)], trust, 'chain-1'),
    ).rejects.toThrow(/^old header has expired at 2026-01-01T01:00:00\.000000000Z \(now: /);
    await expect(LightClient.trust([await rpc(good), await rpc(good)], trust, 'chain-2')).rejects.toThrow(
      'header belongs to another chain "chain-1", not "chain-2"',
    );
    await expect(
      LightClient.trust([await rpc(good), await rpc(good)], { ...trust, hash: 'AABB' }, 'chain-1'),
    ).rejects.toThrow('invalid TrustOptions: expected hash size to be 32 bytes, got 2 bytes');
  });
});
