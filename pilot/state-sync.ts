/**
 * A node that starts with an empty block store (a new machine: `[bootstrap] state_sync = true`) does
 * not start its daemon empty-handed, which would blocksync from genesis, from peers that pruned those
 * blocks long ago. It waits (`awaiting-state-sync`) until the commander sends `state-sync` with a trust
 * height and hash from the fleet's healthy nodes and their RPC servers; the pilot writes config.toml's
 * [statesync] and the snapshot peers, starts the daemon (`syncing`), and once it has caught up turns
 * [statesync] off again and takes those peers out (`synced`). Every other byte of config.toml stays.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { Action, BootstrapFacts, DaemonFacts } from '../protocol/index.js';
import { exists, writeFileAtomic } from './fsx.js';
import type { Outcome } from './ledger.js';
import { type BeamEntries, nodeIdOf, splitList } from './peer-lists.js';
import type { PilotState, StateStore } from './state.js';
import { editToml } from './toml-edit.js';

export type StateSyncAction = Extract<Action, { type: 'state-sync' }>;
type Bootstrapping = NonNullable<PilotState['bootstrap']>;
type Edits = Map<string, string | number | boolean>;

const PEERS = 'p2p.persistent_peers';

async function readToml(file: string): Promise<{ text: string; mode: number; doc: Record<string, unknown> }> {
  const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
  try {
    return { text, mode: stat.mode & 0o777, doc: parseToml(text) };
  } catch (error) {
    throw new Error(`${file} is not valid TOML (${(error as Error).message.split('\n')[0]}): fix it by hand`);
  }
}

const configFile = (home: string) => path.join(home, 'config', 'config.toml');
const tableOf = (doc: Record<string, unknown>, name: string) => (doc[name] ?? {}) as Record<string, unknown>;

/**
 * Whether the daemon home holds no blocks. CometBFT keeps them in `<db_dir>/blockstore.db`
 * (config.toml's db_dir, `data` by default, relative to the home), which its first start creates,
 * whatever the database backend: a home without it has never held a block.
 */
export async function blockStoreEmpty(home: string): Promise<boolean> {
  const file = configFile(home);
  const dbDir = (await exists(file)) ? (await readToml(file)).doc['db_dir'] : undefined;
  const dir = typeof dbDir === 'string' && dbDir !== '' ? dbDir : 'data';
  return !(await exists(path.join(path.resolve(home, dir), 'blockstore.db')));
}

/** app.toml's `[state-sync] snapshot-interval` (0: the node takes no snapshots); null without a readable value. */
export async function snapshotInterval(home: string): Promise<number | null> {
  const file = path.join(home, 'config', 'app.toml');
  try {
    const value = tableOf((await readToml(file)).doc, 'state-sync')['snapshot-interval'];
    return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
  } catch {
    return null;
  }
}

/**
 * config.toml edits for a state-sync action: [statesync] on with its trust and servers, and the
 * snapshot peers added to `persistent_peers` (a node already listed, by id, stays as it is). Returns
 * the peers it adds: they are taken out again once the node is synced.
 */
export function stateSyncEdits(
  action: StateSyncAction,
  currentPeers: readonly string[],
): { edits: Edits; added: string[] } {
  const listed = new Set(currentPeers.map(nodeIdOf));
  const added = action.peers.filter((p) => !listed.has(nodeIdOf(p)));
  const edits: Edits = new Map<string, string | number | boolean>([
    ['statesync.enable', true],
    ['statesync.rpc_servers', action.rpcServers.join(',')],
    ['statesync.trust_height', action.trustHeight],
    ['statesync.trust_hash', action.trustHash],
    ['statesync.trust_period', action.trustPeriod],
  ]);
  if (added.length > 0) edits.set(PEERS, [...currentPeers, ...added].join(','));
  return { edits, added };
}

/**
 * config.toml edits once synced: [statesync] off (CometBFT ignores it with blocks in the store, but the
 * file says what the node does), and the snapshot peers it added out, unless Beam's own config has
 * listed them since.
 */
export function syncedEdits(
  currentPeers: readonly string[],
  added: readonly string[],
  beamPeers: Readonly<BeamEntries>,
): Edits {
  const edits: Edits = new Map([['statesync.enable', false]]);
  const beam = new Set(beamPeers[PEERS] ?? []);
  const remove = new Set(added.filter((p) => !beam.has(p)));
  const kept = currentPeers.filter((p) => !remove.has(p));
  if (kept.length !== currentPeers.length) edits.set(PEERS, kept.join(','));
  return edits;
}

/** Whether the daemon has caught up with the chain past the trust height. */
export function caughtUp(daemon: DaemonFacts, trustHeight: number | null): boolean {
  return (
    daemon.rpcReachable &&
    daemon.catchingUp === false &&
    daemon.height !== null &&
    daemon.height > 0 &&
    daemon.height >= (trustHeight ?? 1)
  );
}

export interface BootstrapOptions {
  home: string;
  /** `[bootstrap] state_sync`. */
  enabled: boolean;
  store: StateStore;
  log: (msg: string) => void;
}

/** The node's state sync, from pilot start to caught up; persisted in the pilot's state. */
export class Bootstrap {
  constructor(private readonly o: BootstrapOptions) {}

  private get current(): Bootstrapping | null {
    return this.o.store.get().bootstrap;
  }

  private async save(next: Bootstrapping | null): Promise<void> {
    await this.o.store.update((s) => {
      s.bootstrap = next;
    });
  }

  /**
   * At pilot start, before the supervisor may start the daemon: a daemon that is down with an empty
   * block store waits for state sync. A daemon someone started meanwhile, or state sync switched off
   * in the config, ends the wait.
   */
  async begin(daemonRunning: boolean): Promise<void> {
    const now = this.current;
    if (this.o.enabled && !daemonRunning && (await blockStoreEmpty(this.o.home))) {
      if (now?.state === 'awaiting-state-sync') return;
      await this.save({
        state: 'awaiting-state-sync',
        since: Date.now(),
        trustHeight: null,
        syncedAt: null,
        addedPeers: [],
      });
      this.o.log("the block store is empty: the daemon waits for the commander's state-sync action");
    } else if (now?.state === 'awaiting-state-sync') {
      await this.save(null);
      this.o.log(
        daemonRunning
          ? 'the daemon runs (started by someone else): no longer waiting for state sync'
          : 'bootstrap.state_sync is off: no longer waiting for state sync',
      );
    }
  }

  /** Why the daemon must stay down now (the supervisor's hold), or null. */
  hold(): string | null {
    return this.current?.state === 'awaiting-state-sync'
      ? "waiting for the commander's state-sync action (empty block store, bootstrap.state_sync on)"
      : null;
  }

  /** Why a state-sync action may not run now, or null. */
  refusal(): string | null {
    const state = this.current?.state;
    if (state === 'awaiting-state-sync') return null;
    return `this node is not waiting for state sync (${state ?? 'its block store held blocks at start, or bootstrap.state_sync is off'})`;
  }

  /**
   * Writes [statesync] and the snapshot peers into config.toml and records `syncing`; the caller
   * starts the daemon then (or the supervisor, once the daemon's binary is in place). Recorded before the file changes: a crash in between leaves a node that
   * syncs, never one that waits with state sync on.
   */
  async apply(action: StateSyncAction): Promise<Outcome> {
    const file = configFile(this.o.home);
    const { text, mode, doc } = await readToml(file);
    const { edits, added } = stateSyncEdits(action, splitList(tableOf(doc, 'p2p')['persistent_peers']));
    const since = this.current?.since ?? Date.now();
    await this.save({
      state: 'syncing',
      since,
      trustHeight: action.trustHeight,
      syncedAt: null,
      addedPeers: added,
    });
    const out = editToml(text, edits);
    if (out.changed.length > 0) await writeFileAtomic(file, out.text, mode);
    const peers = added.length > 0 ? `; ${added.length} snapshot peer(s) added` : '';
    return {
      ok: true,
      height: action.trustHeight,
      message: `state sync from trust height ${action.trustHeight} (${action.trustHash.slice(0, 12)}…) with ${action.rpcServers.join(', ')}${peers}`,
    };
  }

  /** After each round's daemon facts: once caught up, [statesync] goes off and the node is `synced`. */
  async observe(daemon: DaemonFacts, beamPeers: Readonly<BeamEntries>): Promise<void> {
    const now = this.current;
    if (now?.state !== 'syncing' || !caughtUp(daemon, now.trustHeight)) return;
    const file = configFile(this.o.home);
    const { text, mode, doc } = await readToml(file);
    const edits = syncedEdits(splitList(tableOf(doc, 'p2p')['persistent_peers']), now.addedPeers, beamPeers);
    const out = editToml(text, edits);
    if (out.changed.length > 0) await writeFileAtomic(file, out.text, mode);
    await this.save({ ...now, state: 'synced', syncedAt: Date.now(), addedPeers: [] });
    this.o.log(`state sync done: caught up at height ${daemon.height}; [statesync] enable = false`);
  }

  facts(): BootstrapFacts | null {
    const now = this.current;
    if (!now) return null;
    const { addedPeers: _peers, ...facts } = now;
    return facts;
  }
}
