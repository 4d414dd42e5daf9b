/**
 * The state sync snapshots a node takes and serves, as the SDK's snapshot manager: one at every
 * height that is a multiple of app.toml's `snapshot-interval` (0: none), the `snapshot-keep-recent`
 * newest kept (0: all), listed in `<home>/data/snapshots/metadata.db/snapshots.json`. A snapshot's
 * chunks are derived from the chain id and height (every honest node's snapshot of a height is the
 * same, as the SDK's are), so only the list is stored; its hash is the sha256 of its chunks.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { cometLog } from './cometlog.js';
import { readJsonFile, replaceJsonFile } from './jsonfile.js';

/** The SDK's current snapshot format. */
const SNAPSHOT_FORMAT = 3;
/** A devnet app state is small: a few chunks (the SDK cuts 10 MB chunks). */
const SNAPSHOT_CHUNKS = 3;

export const Snapshot = z.object({
  height: z.number().int().positive(),
  format: z.number().int().nonnegative(),
  chunks: z.number().int().positive(),
  /** Uppercase hex sha256 of the chunks, in order. */
  hash: z.string().regex(/^[0-9A-F]{64}$/),
});
export type Snapshot = z.infer<typeof Snapshot>;

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export function snapshotChunk(chainId: string, height: number, index: number): Buffer {
  return sha256(`devnet snapshot ${chainId} ${height} ${index}`);
}

export function chunksHash(chunks: Uint8Array[]): string {
  return sha256(Buffer.concat(chunks)).toString('hex').toUpperCase();
}

export function snapshotOf(chainId: string, height: number): Snapshot {
  const chunks = Array.from({ length: SNAPSHOT_CHUNKS }, (_, i) => snapshotChunk(chainId, height, i));
  return { height, format: SNAPSHOT_FORMAT, chunks: SNAPSHOT_CHUNKS, hash: chunksHash(chunks) };
}

export class SnapshotStore {
  private constructor(
    private readonly path: string,
    private readonly chainId: string,
    private readonly interval: number,
    private readonly keepRecent: number,
    private snapshots: Snapshot[],
  ) {}

  static open(home: string, chainId: string, interval: number, keepRecent: number): SnapshotStore {
    const path = join(home, 'data', 'snapshots', 'metadata.db', 'snapshots.json');
    const list = existsSync(path) ? readJsonFile(path, z.array(Snapshot)) : [];
    return new SnapshotStore(path, chainId, interval, keepRecent, list);
  }

  /** Newest first. */
  list(): Snapshot[] {
    return [...this.snapshots];
  }

  /** After the node commits `height`: a snapshot when the height is due, then the old ones pruned. */
  onCommit(height: number): void {
    if (this.interval === 0 || height % this.interval !== 0) return;
    cometLog('info', 'creating state snapshot', { module: 'server', height });
    const snapshot = snapshotOf(this.chainId, height);
    this.snapshots = [snapshot, ...this.snapshots.filter((s) => s.height !== height)];
    if (this.keepRecent > 0) this.snapshots = this.snapshots.slice(0, this.keepRecent);
    replaceJsonFile(this.path, this.snapshots);
    cometLog('info', 'completed state snapshot', { module: 'server', height, format: snapshot.format });
  }

  /** A chunk of a snapshot this node holds, or null. */
  chunk(height: number, format: number, index: number): Buffer | null {
    const s = this.snapshots.find((x) => x.height === height && x.format === format);
    return s && index >= 0 && index < s.chunks ? snapshotChunk(this.chainId, height, index) : null;
  }
}
