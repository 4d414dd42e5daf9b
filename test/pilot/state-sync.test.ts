/**
 * The pilot's side of state sync: a node that starts with an empty block store waits for the
 * commander's `state-sync` action, writes [statesync] and the snapshot peers into config.toml as
 * CometBFT reads them (checked with the devnet's CometBFT config rules), and turns it off once caught
 * up, every other byte of the file as it was.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseNodeConfig, renderConfigToml, stateSyncProblem } from '../../devnet/config.js';
import { type AllowContext, refusal } from '../../pilot/allowlist.js';
import {
  Bootstrap,
  blockStoreEmpty,
  type StateSyncAction,
  snapshotInterval,
  stateSyncEdits,
  syncedEdits,
} from '../../pilot/state-sync.js';
import { StateStore } from '../../pilot/state.js';
import { editToml } from '../../pilot/toml-edit.js';
import { sampleReport } from '../fixtures/report.js';

const VALIDATOR = `${'a'.repeat(40)}@127.0.0.2:26656`;
const SENTRY_1 = `${'b'.repeat(40)}@127.0.0.3:26656`;
const SENTRY_2 = `${'c'.repeat(40)}@127.0.0.4:26656`;
const HASH = 'A2AB6CAFD4C48E5433CE731C4696E58097E238678EBFDED674DE84C129C24634';

const action = (over: Partial<StateSyncAction> = {}): StateSyncAction => ({
  id: 'state-sync-sentry-9-1',
  issuedAt: 1,
  type: 'state-sync',
  rpcServers: ['http://127.0.0.3:26657', 'http://127.0.0.4:26657'],
  trustHeight: 4000,
  trustHash: HASH,
  trustPeriod: '168h0m0s',
  peers: [SENTRY_1, SENTRY_2],
  ...over,
});

const configToml = (persistentPeers: string[]) =>
  renderConfigToml({
    moniker: 'sentry-9',
    hubAddress: '127.0.0.1:26658',
    rpcAddress: '127.0.0.9:26657',
    p2pAddress: '127.0.0.9:26656',
    persistentPeers,
    privatePeerIds: [],
    unconditionalPeerIds: [],
    pex: true,
    externalAddress: '',
    doubleSignCheckHeight: 0,
    timeoutCommitMs: 1000,
    privValidatorLaddr: '',
  });

const daemon = (over: Partial<ReturnType<typeof sampleReport>['daemon']> = {}) => ({
  ...sampleReport().daemon,
  ...over,
});

/** Lines of `after` that are not in `before` (in order). */
const changedLines = (before: string, after: string) => {
  const old = new Set(before.split('\n'));
  return after.split('\n').filter((l) => !old.has(l));
};

let root: string;
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('state sync config', () => {
  it('writes [statesync] and the snapshot peers that CometBFT accepts, and nothing else', () => {
    const before = configToml([VALIDATOR, SENTRY_1]);
    const { edits, added } = stateSyncEdits(action(), [VALIDATOR, SENTRY_1]);
    // A peer listed already (by node id) is not added twice, nor taken out later.
    expect(added).toEqual([SENTRY_2]);
    const after = editToml(before, edits).text;
    expect(changedLines(before, after)).toEqual([
      `persistent_peers = "${VALIDATOR},${SENTRY_1},${SENTRY_2}"`,
      'enable = true',
      'rpc_servers = "http://127.0.0.3:26657,http://127.0.0.4:26657"',
      'trust_height = 4000',
      `trust_hash = "${HASH}"`,
    ]);
    const statesync = parseNodeConfig(after, 'config.toml').statesync;
    expect(stateSyncProblem(statesync)).toBeNull();
    expect(statesync).toMatchObject({ enable: true, trust_height: 4000, trust_period: 168 * 3_600_000 });

    // Once synced: off again, the peers it added out, unless Beam's own config lists them since.
    const synced = editToml(after, syncedEdits([VALIDATOR, SENTRY_1, SENTRY_2], added, {})).text;
    expect(changedLines(after, synced)).toEqual([
      `persistent_peers = "${VALIDATOR},${SENTRY_1}"`,
      'enable = false',
    ]);
    const kept = syncedEdits([VALIDATOR, SENTRY_2], added, { 'p2p.persistent_peers': [SENTRY_2] });
    expect(kept).toEqual(new Map([['statesync.enable', false]]));
  });

  it('tells an empty block store: no <db_dir>/blockstore.db under the home', async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-state-sync-'));
    const home = path.join(root, 'store-check');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    expect(await blockStoreEmpty(home)).toBe(true); // no config.toml: CometBFT's default data/
    await fs.writeFile(path.join(home, 'config', 'config.toml'), configToml([]));
    expect(await blockStoreEmpty(home)).toBe(true);
    await fs.mkdir(path.join(home, 'data', 'blockstore.db'), { recursive: true });
    expect(await blockStoreEmpty(home)).toBe(false);
    const dbDir = configToml([]).replace(/^db_dir = .*$/m, 'db_dir = "db"');
    expect(dbDir).toContain('db_dir = "db"');
    await fs.writeFile(path.join(home, 'config', 'config.toml'), dbDir);
    expect(await blockStoreEmpty(home)).toBe(true);
    await fs.mkdir(path.join(home, 'db', 'blockstore.db'), { recursive: true });
    expect(await blockStoreEmpty(home)).toBe(false);
    // app.toml's snapshot interval, null without a readable one.
    expect(await snapshotInterval(home)).toBeNull();
    await fs.writeFile(path.join(home, 'config', 'app.toml'), '[state-sync]\nsnapshot-interval = 100\n');
    expect(await snapshotInterval(home)).toBe(100);
  });
});

describe('a node waiting for state sync', () => {
  let home: string;
  let store: StateStore;
  let boot: Bootstrap;
  const logs: string[] = [];
  const configFile = () => path.join(home, 'config', 'config.toml');

  beforeEach(async () => {
    root ??= await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-state-sync-'));
    home = await fs.mkdtemp(path.join(root, 'home-'));
    await fs.mkdir(path.join(home, 'config'));
    await fs.writeFile(configFile(), configToml([VALIDATOR]), { mode: 0o640 });
    store = await StateStore.open(path.join(home, 'state'));
    boot = new Bootstrap({ home, enabled: true, store, log: (m) => logs.push(m) });
  });

  it('waits with its daemon held, syncs with the action, and is synced once caught up past the trust', async () => {
    await boot.begin(false);
    expect(boot.facts()).toMatchObject({ state: 'awaiting-state-sync', trustHeight: null, syncedAt: null });
    expect(boot.hold()).toMatch(/waiting for the commander's state-sync action/);
    expect(boot.refusal()).toBeNull();
    // A pilot restart while it waits keeps waiting, from when it began.
    const since = boot.facts()!.since;
    await boot.begin(false);
    expect(boot.facts()!.since).toBe(since);

    const outcome = await boot.apply(action());
    expect(outcome).toMatchObject({ ok: true, height: 4000 });
    expect(outcome.message).toMatch(
      /^state sync from trust height 4000 \(A2AB6CAFD4C4…\) with http:\/\/127\.0\.0\.3:26657, http:\/\/127\.0\.0\.4:26657; 2 snapshot peer\(s\) added$/,
    );
    expect(boot.facts()).toMatchObject({ state: 'syncing', since, trustHeight: 4000 });
    expect(boot.hold()).toBeNull();
    expect(boot.refusal()).toMatch(/not waiting for state sync \(syncing\)/);
    expect((await fs.stat(configFile())).mode & 0o777).toBe(0o640);
    const written = parseToml(await fs.readFile(configFile(), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(written['statesync']).toMatchObject({ enable: true, trust_hash: HASH });
    expect(written['p2p']!['persistent_peers']).toBe(`${VALIDATOR},${SENTRY_1},${SENTRY_2}`);

    // Restoring (height 0), then blocksync (catching up), then below the trust: not yet.
    for (const d of [
      daemon({ height: 0, catchingUp: true }),
      daemon({ height: 4100, catchingUp: true }),
      daemon({ height: 3990, catchingUp: false }),
      daemon({ height: 4200, catchingUp: false, rpcReachable: false }),
    ]) {
      await boot.observe(d, {});
      expect(boot.facts()!.state).toBe('syncing');
    }
    await boot.observe(daemon({ height: 4200, catchingUp: false }), {});
    expect(boot.facts()).toMatchObject({ state: 'synced', trustHeight: 4000, syncedAt: expect.any(Number) });
    expect(store.get().bootstrap?.addedPeers).toEqual([]);
    const after = parseToml(await fs.readFile(configFile(), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(after['statesync']!['enable']).toBe(false);
    expect(after['p2p']!['persistent_peers']).toBe(VALIDATOR);
    expect(logs.at(-1)).toMatch(/state sync done: caught up at height 4200/);
  });

  it('does not wait with blocks in the store, with state sync off, or once someone started the daemon', async () => {
    await fs.mkdir(path.join(home, 'data', 'blockstore.db'), { recursive: true });
    await boot.begin(false);
    expect(boot.facts()).toBeNull();
    expect(boot.refusal()).toMatch(/its block store held blocks at start, or bootstrap.state_sync is off/);
    await fs.rm(path.join(home, 'data'), { recursive: true });

    await boot.begin(false);
    expect(boot.facts()?.state).toBe('awaiting-state-sync');
    await boot.begin(true);
    expect(boot.facts()).toBeNull();
    expect(logs.at(-1)).toMatch(/the daemon runs \(started by someone else\)/);

    await boot.begin(false);
    await new Bootstrap({ home, enabled: false, store, log: (m) => logs.push(m) }).begin(false);
    expect(boot.facts()).toBeNull();
    expect(boot.hold()).toBeNull();
  });

  it('waits again when a synced node lost its store (the operator wiped data/ to sync anew)', async () => {
    await boot.begin(false);
    await boot.apply(action({ peers: [] }));
    await boot.observe(daemon({ height: 4100, catchingUp: false }), {});
    expect(boot.facts()?.state).toBe('synced');
    await boot.begin(false);
    expect(boot.facts()).toMatchObject({ state: 'awaiting-state-sync', trustHeight: null });
  });

  it('refuses the action unless the node waits for it (the allow-list asks the node)', () => {
    const ctx = { stateSyncRefusal: 'this node is not waiting for state sync (synced)' } as AllowContext;
    expect(refusal(action(), ctx)).toBe('this node is not waiting for state sync (synced)');
    expect(refusal(action(), { ...ctx, stateSyncRefusal: null })).toBeNull();
  });
});
