/**
 * Blocksync, as CometBFT's blocksync reactor: a node behind the chain takes the blocks it lacks in
 * order from peers that hold them, at most `rate` blocks a second (a bucket of a second's worth, full
 * at start: a node a few blocks behind catches up at once), and switches to consensus once it holds
 * the highest block any peer has. Peers are its p2p peers (their store ranges) and the
 * network's nodes; a block no peer holds any more (pruned) stalls it for good, which the devnet logs
 * every 10 s (CometBFT waits silently). A block the node cannot execute (x/upgrade's pre-blocker)
 * stops the pool there: CometBFT's poolRoutine panics.
 */
import { cometLog } from './cometlog.js';

/** Blocks a second a node fetches by default: a fast link, small blocks. */
export const DEFAULT_BLOCKSYNC_RATE = 300;
const TICK_MS = 50;
/** CometBFT's status update interval: how often a stall is told again. */
const STALL_LOG_MS = 10_000;

/** A peer with its block range (0/0: none). */
export interface BlockSource {
  id: string;
  base: number;
  height: number;
  /** Delivers blocks from..to (or fewer); resolves with the highest delivered, from - 1 for none. */
  fetch(from: number, to: number): Promise<number>;
}

export interface BlocksyncOptions {
  /** Blocks a second at most. */
  rate: number;
  /** The store's height. */
  height(): number;
  sources(): BlockSource[];
  /**
   * Executes and saves the next block (snapshots are taken); false when the node could not execute
   * it (x/upgrade's pre-blocker): the pool stops there for good.
   */
  deliver(height: number): boolean;
  /** After a batch of blocks: persist, report. */
  progress(): void;
  caughtUp(): void;
}

/** The first peer that holds block `height`. */
function sourceFor(sources: BlockSource[], height: number): BlockSource | undefined {
  return sources.find((s) => s.base >= 1 && s.base <= height && height <= s.height);
}

export class Blocksync {
  private timer: NodeJS.Timeout | undefined;
  private budget: number;
  private lastTick = Date.now();
  private busy = false;
  private stallLoggedAt = 0;
  private synced = 0;
  private lastHundred = Date.now();
  private lastRate = 0;

  constructor(private readonly o: BlocksyncOptions) {
    this.budget = o.rate;
  }

  /** Starts the pool; a node already at the peers' height switches to consensus at once. */
  start(stateSynced: boolean): void {
    cometLog('info', 'Starting blocksync pool routine', { module: 'blocksync', stateSynced });
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    this.budget = Math.min(this.o.rate, this.budget + (this.o.rate * (now - this.lastTick)) / 1000);
    this.lastTick = now;
    if (this.busy || !this.timer) return;
    const sources = this.o.sources();
    const maxPeerHeight = Math.max(0, ...sources.map((s) => s.height));
    const height = this.o.height();
    if (height >= maxPeerHeight) {
      this.stop();
      cometLog('info', 'Time to switch to consensus mode!', { module: 'blocksync', height });
      return this.o.caughtUp();
    }
    const source = sourceFor(sources, height + 1);
    if (!source) return this.stalled(height + 1, sources, maxPeerHeight, now);
    const count = Math.floor(this.budget);
    if (count < 1) return;
    this.busy = true;
    try {
      const to = await source.fetch(height + 1, Math.min(source.height, height + count));
      if (!this.timer) return;
      let delivered = height;
      for (let h = height + 1; h <= to; h++) {
        if (!this.o.deliver(h)) {
          this.stop();
          break;
        }
        delivered = h;
        this.count(h, maxPeerHeight);
      }
      this.budget -= delivered - height;
      if (delivered > height) this.o.progress();
    } catch {
      // The peer left or did not answer: the next tick asks whoever holds the block then.
    } finally {
      this.busy = false;
    }
  }

  /** CometBFT's rate line every 100 blocks. */
  private count(height: number, maxPeerHeight: number): void {
    if (++this.synced % 100 !== 0) return;
    this.lastRate = 0.9 * this.lastRate + 0.1 * (100 / ((Date.now() - this.lastHundred) / 1000));
    this.lastHundred = Date.now();
    cometLog('info', 'Block Sync Rate', {
      module: 'blocksync',
      height: height + 1,
      max_peer_height: maxPeerHeight,
      'blocks/s': this.lastRate.toFixed(2),
    });
  }

  private stalled(height: number, sources: BlockSource[], maxPeerHeight: number, now: number): void {
    if (now - this.stallLoggedAt < STALL_LOG_MS) return;
    this.stallLoggedAt = now;
    const bases = sources.map((s) => s.base).filter((b) => b >= 1);
    cometLog('error', 'No peer has the block we need', {
      module: 'blocksync',
      height,
      max_peer_height: maxPeerHeight,
      lowest_peer_base: bases.length ? Math.min(...bases) : 0,
      peers: sources.length,
      err: `block ${height} was pruned by every peer (state sync is needed)`,
    });
  }
}
