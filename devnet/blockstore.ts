/**
 * A node's block store: the range of blocks it holds, `{base, height}` (0/0: empty), kept in
 * `<home>/<db_dir>/blockstore.db/store.json` where CometBFT keeps its LevelDB of blocks. The blocks
 * themselves are the hub's (the chain); the range decides what the node's RPC answers and what it
 * serves to peers. It grows one contiguous block at a time and is pruned below the SDK's retain
 * height; a restored snapshot starts it at the snapshot's height.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { readJsonFile, replaceJsonFile } from './jsonfile.js';

export interface StoreRange {
  base: number;
  height: number;
}

/** What decides pruning: app.toml's min-retain-blocks and the snapshots the node keeps. */
export interface Retention {
  minRetainBlocks: number;
  snapshotInterval: number;
  snapshotKeepRecent: number;
}

/** Blocks the network's nodes keep by default (min-retain-blocks). */
export const DEFAULT_RETAIN_BLOCKS = 1000;

/**
 * The SDK's GetBlockRetentionHeight at commit `height`: blocks below it are pruned (0: none). The
 * node keeps min-retain-blocks, and more when its snapshots reach further back. CometBFT's evidence
 * age term is left out: the devnet reports max_age_num_blocks 100000, which would keep everything.
 */
export function retainHeight(height: number, r: Retention): number {
  const window = height - r.minRetainBlocks;
  if (r.minRetainBlocks === 0 || window <= 0) return 0;
  const snapshots = r.snapshotInterval * r.snapshotKeepRecent;
  return Math.max(0, snapshots > 0 ? Math.min(window, height - snapshots) : window);
}

const StoreFile = z.object({ base: z.number().int().nonnegative(), height: z.number().int().nonnegative() });

export class BlockStore {
  private constructor(
    private readonly path: string,
    private range: StoreRange,
    private readonly retention: Retention,
  ) {}

  /** Opens the store under `dbDir` (the home's db_dir); none there is an empty store, as after `init`. */
  static open(dbDir: string, retention: Retention): BlockStore {
    const path = join(dbDir, 'blockstore.db', 'store.json');
    const range = existsSync(path) ? readJsonFile(path, StoreFile) : { base: 0, height: 0 };
    return new BlockStore(path, range, retention);
  }

  get base(): number {
    return this.range.base;
  }

  get height(): number {
    return this.range.height;
  }

  /** Saves the next block (CometBFT only saves contiguous blocks), then prunes below the retain height. */
  append(height: number): void {
    if (height !== this.range.height + 1)
      throw new Error(
        `BlockStore can only save contiguous blocks. Wanted ${this.range.height + 1}, got ${height}`,
      );
    const base = this.range.base === 0 ? height : this.range.base;
    this.range = { base: Math.max(base, retainHeight(height, this.retention)), height };
  }

  /** The store after a snapshot restore at `height`: that block, nothing below. */
  restore(height: number): void {
    this.range = { base: height, height };
  }

  save(): void {
    replaceJsonFile(this.path, this.range);
  }
}
