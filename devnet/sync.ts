/**
 * How a node's block store keeps up with the chain. At start (the hub's hello gives the network's
 * tip): an empty store with [statesync] enable restores a snapshot first; then blocksync from peers
 * while behind; then consensus, where each block the hub announces (standing for the network's
 * gossip) is saved as it commits. Each block goes through the app's pre-blocker first (x/upgrade's
 * state before it, from the history the hub's tips carry): one the node cannot execute stops the
 * store below it for good. Every saved block may take a snapshot (app.toml [state-sync]). The
 * node answers its peers (its range, blocks, snapshots, chunks) and reports its range and whether it
 * is catching up to the hub, which bounds the node's RPC by it.
 */
import { isAbsolute, join } from 'node:path';
import { readAppConfig } from './apptoml.js';
import { type BlockSource, Blocksync } from './blocksync.js';
import { BlockStore, type StoreRange } from './blockstore.js';
import type { UpgradeChange, UpgradeStatus } from './chain/types.js';
import { cometLog } from './cometlog.js';
import type { NodeConfig } from './config.js';
import { LightClient } from './lightclient.js';
import type { P2p, Peer } from './p2p.js';
import { SnapshotStore } from './snapshots.js';
import { StateSync } from './statesync.js';
import { BlocksAnswer, StatusAnswer, SyncRequest } from './syncmessages.js';
import { upgradeAt } from './upgradecheck.js';

/** CometBFT asks peers for their range every 10 s; the devnet every second, for tests' sake. */
const STATUS_INTERVAL_MS = 1_000;
const PEER_TIMEOUT_MS = 5_000;

/**
 * The network's latest block, the lowest one its nodes still serve, and x/upgrade's history up to
 * the block after the latest (the state each block's pre-blocker sees).
 */
export interface NetworkTip {
  height: number;
  base: number;
  upgrades: readonly UpgradeChange[];
}

export interface NodeSyncOptions {
  home: string;
  config: NodeConfig;
  chainId: string;
  p2p: P2p;
  /** Tells the hub the store's range and whether the node is catching up. */
  report(store: StoreRange, catchingUp: boolean): void;
  /** Ends the process (a state sync that cannot start, as CometBFT's OnStart error). */
  fatal(message: string): void;
  /**
   * The app's pre-blocker before block `height` executes, with x/upgrade's state then (`blocksync`:
   * the block comes through blocksync, else through consensus); false: the node cannot execute it,
   * and its store stops below it for good.
   */
  preBlock(height: number, upgrade: UpgradeStatus, blocksync: boolean): boolean;
}

export class NodeSync {
  /** CometBFT starts in blocksync (or state sync): catching up until it knows better. */
  private mode: 'statesync' | 'blocksync' | 'consensus' = 'blocksync';
  private network: NetworkTip = { height: 0, base: 0, upgrades: [] };
  /** A block could not execute: the store stays below it. */
  private halted = false;
  private rate = 0;
  private readonly store: BlockStore;
  private readonly snapshots: SnapshotStore;
  private readonly peerRanges = new Map<string, StoreRange>();
  private blocksync: Blocksync | undefined;
  private stateSync: StateSync | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly o: NodeSyncOptions) {
    const app = readAppConfig(o.home);
    const dbDir = isAbsolute(o.config.db_dir) ? o.config.db_dir : join(o.home, o.config.db_dir);
    const interval = app['state-sync']['snapshot-interval'];
    const keepRecent = app['state-sync']['snapshot-keep-recent'];
    this.store = BlockStore.open(dbDir, {
      minRetainBlocks: app['min-retain-blocks'],
      snapshotInterval: interval,
      snapshotKeepRecent: keepRecent,
    });
    this.snapshots = SnapshotStore.open(o.home, o.chainId, interval, keepRecent);
  }

  get range(): StoreRange {
    return { base: this.store.base, height: this.store.height };
  }

  get catchingUp(): boolean {
    return this.mode !== 'consensus';
  }

  /** Decides how to catch up, once the network's tip and blocksync's rate (blocks/s) are known. */
  start(tip: NetworkTip, rate: number): void {
    this.see(tip);
    this.rate = rate;
    const { statesync } = this.o.config;
    if (statesync.enable && this.store.height === 0) return void this.runStateSync();
    if (statesync.enable)
      cometLog('info', 'Found local state with non-zero height, skipping state sync', { module: 'node' });
    this.startBlocksync(false);
  }

  /** A block the network committed (or the tip again after a hub reconnect). */
  onTip(tip: NetworkTip): void {
    this.see(tip);
    if (this.mode !== 'consensus' || this.halted || this.network.height <= this.store.height) return;
    for (let h = this.store.height + 1; h <= this.network.height; h++) if (!this.commit(h)) break;
    this.persist();
  }

  /**
   * The node stopped executing blocks (the pre-blocker refused one, here or in consensus): the store
   * stays where it is, blocksync stops.
   */
  halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.blocksync?.stop();
    clearInterval(this.statusTimer);
  }

  /** A tip announced earlier (a hello answered before a push) must not take the network back. */
  private see(tip: NetworkTip): void {
    if (tip.height >= this.network.height)
      this.network = { height: tip.height, base: tip.base, upgrades: tip.upgrades };
  }

  onPeer(peer: Peer): void {
    if (this.mode === 'blocksync') this.askRange(peer.info.id);
    this.stateSync?.addPeer(peer.info.id);
  }

  /** Answers a peer's sync request, as CometBFT's blocksync and state sync reactors. */
  serve(peer: Peer, body: unknown): unknown {
    const parsed = SyncRequest.safeParse(body);
    if (!parsed.success) return undefined;
    const r = parsed.data;
    const range = this.range;
    switch (r.t) {
      case 'status':
        return range;
      case 'blocks': {
        const has = range.base >= 1 && range.base <= r.from && r.from <= range.height;
        if (!has)
          cometLog('info', "Peer asking for a block we don't have", {
            module: 'blocksync',
            src: peer.info.id,
            height: r.from,
          });
        return { ...range, to: has ? Math.min(r.to, range.height) : r.from - 1 };
      }
      case 'snapshots':
        return { snapshots: this.snapshots.list().slice(0, 10) };
      case 'chunk':
        return { chunk: this.snapshots.chunk(r.height, r.format, r.index)?.toString('base64') ?? null };
    }
  }

  stop(): void {
    this.abort.abort();
    this.blocksync?.stop();
    clearInterval(this.statusTimer);
  }

  private async runStateSync(): Promise<void> {
    this.mode = 'statesync';
    this.report();
    const config = this.o.config.statesync;
    cometLog('info', 'Starting state sync', { module: 'statesync' });
    let light: LightClient;
    try {
      light = await LightClient.trust(
        config.rpc_servers,
        { height: config.trust_height, hash: config.trust_hash, periodMs: config.trust_period },
        this.o.chainId,
      );
    } catch (error) {
      return this.o.fatal(
        `Error: failed to start state sync: failed to set up light client state provider: ${(error as Error).message}`,
      );
    }
    const stateSync = new StateSync({
      config,
      light,
      peers: () => [...this.o.p2p.peers.keys()],
      request: (peer, body, timeoutMs) => this.o.p2p.request(peer, body, timeoutMs),
      signal: this.abort.signal,
    });
    this.stateSync = stateSync;
    let height: number | null;
    try {
      height = await stateSync.run();
    } catch {
      return; // stopping
    } finally {
      this.stateSync = undefined;
    }
    // After "State sync failed" CometBFT does nothing more: the node stays behind until restarted.
    if (height === null) return;
    this.store.restore(height);
    this.persist();
    this.startBlocksync(true);
  }

  private startBlocksync(stateSynced: boolean): void {
    if (this.halted) return;
    this.mode = 'blocksync';
    this.report();
    for (const id of this.o.p2p.peers.keys()) this.askRange(id);
    this.statusTimer = setInterval(() => {
      for (const id of this.o.p2p.peers.keys()) this.askRange(id);
    }, STATUS_INTERVAL_MS);
    this.blocksync = new Blocksync({
      rate: this.rate,
      height: () => this.store.height,
      sources: () => this.sources(),
      deliver: (h) => this.commit(h),
      progress: () => this.persist(),
      caughtUp: () => this.toConsensus(),
    });
    this.blocksync.start(stateSynced);
  }

  private toConsensus(): void {
    clearInterval(this.statusTimer);
    this.blocksync = undefined;
    this.mode = 'consensus';
    this.report();
    this.onTip(this.network);
  }

  /**
   * The app executes the block (its pre-blocker first: false, and the node halts below it), the
   * block store saves it and the app commits it: a snapshot may be due.
   */
  private commit(height: number): boolean {
    if (this.halted) return false;
    const upgrade = upgradeAt(this.network.upgrades, height);
    if (!this.o.preBlock(height, upgrade, this.mode !== 'consensus')) {
      this.halt();
      return false;
    }
    this.store.append(height);
    this.snapshots.onCommit(height);
    return true;
  }

  private persist(): void {
    this.store.save();
    this.report();
  }

  private report(): void {
    this.o.report(this.range, this.catchingUp);
  }

  private askRange(peerId: string): void {
    this.o.p2p.request(peerId, { t: 'status' }, PEER_TIMEOUT_MS).then(
      (answer) => {
        const parsed = StatusAnswer.safeParse(answer);
        if (parsed.success) this.peerRanges.set(peerId, parsed.data);
      },
      () => this.peerRanges.delete(peerId),
    );
  }

  /**
   * Connected p2p peers with a known range, then the network's nodes (through the hub). Blocks above
   * the network's tip the node has heard of wait for it (x/upgrade's state is known up to there).
   */
  private sources(): BlockSource[] {
    const { base, height } = this.network;
    const peers: BlockSource[] = [...this.peerRanges]
      .filter(([id]) => this.o.p2p.peers.has(id))
      .map(([id, range]) => ({
        id,
        base: range.base,
        height: Math.min(range.height, height),
        fetch: (from, to) => this.fetchFromPeer(id, from, to),
      }));
    const network: BlockSource = {
      id: 'network',
      base,
      height,
      fetch: async (from, to) => (from >= base && from <= height ? Math.min(to, height) : from - 1),
    };
    return [...peers, network];
  }

  private async fetchFromPeer(peerId: string, from: number, to: number): Promise<number> {
    const answer = BlocksAnswer.parse(
      await this.o.p2p.request(peerId, { t: 'blocks', from, to }, PEER_TIMEOUT_MS),
    );
    this.peerRanges.set(peerId, { base: answer.base, height: answer.height });
    return answer.to;
  }
}
