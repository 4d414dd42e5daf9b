/**
 * What nodes ask each other over p2p to sync (CometBFT's blocksync and state sync channels), and
 * the answers: a peer's block store range, blocks (a range request stands for CometBFT's
 * per-height BlockRequest; the answer says how far the peer served), its snapshots, a chunk.
 */
import * as z from 'zod';
import { Snapshot } from './snapshots.js';

const height = z.number().int().nonnegative();

export const SyncRequest = z.discriminatedUnion('t', [
  z.object({ t: z.literal('status') }),
  z.object({ t: z.literal('blocks'), from: z.number().int().positive(), to: z.number().int().positive() }),
  z.object({ t: z.literal('snapshots') }),
  z.object({
    t: z.literal('chunk'),
    height: z.number().int().positive(),
    format: z.number().int().nonnegative(),
    index: z.number().int().nonnegative(),
  }),
]);
export type SyncRequest = z.infer<typeof SyncRequest>;

export const StatusAnswer = z.object({ base: height, height });
/** `to`: the highest block served (from - 1: none); the peer's range comes along. */
export const BlocksAnswer = StatusAnswer.extend({ to: z.number().int().nonnegative() });
/** CometBFT offers its 10 most recent snapshots. */
export const SnapshotsAnswer = z.object({ snapshots: z.array(Snapshot).max(10) });
export const ChunkAnswer = z.object({ chunk: z.string().base64().nullable() });
