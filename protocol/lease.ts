import * as z from 'zod';
import { ChainId, EpochMs, NodeId } from './common.js';

/**
 * The right to sign with one validator key. Held by one node at a time, changed only by conditional
 * writes; `epoch` rises on every change of holder and fences stale key actions.
 */
export const Lease = z.strictObject({
  chainId: ChainId,
  /** Name of the validator key (one per validator identity). */
  validator: z.string().min(1).max(64),
  holder: NodeId.nullable(),
  epoch: z.number().int().nonnegative(),
  expiresAt: EpochMs,
});
export type Lease = z.infer<typeof Lease>;

/** What a report reply tells the pilot about its own lease. */
export const LeaseGrant = z.strictObject({
  epoch: z.number().int().nonnegative(),
  /** True when this node holds the lease. */
  holder: z.boolean(),
  /** Expiry in commander time; the pilot converts it to a local monotonic deadline. */
  expiresAt: EpochMs,
});
export type LeaseGrant = z.infer<typeof LeaseGrant>;
