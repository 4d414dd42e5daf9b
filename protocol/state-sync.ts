import * as z from 'zod';
import { EpochMs } from './common.js';

/**
 * CometBFT state sync as Beam drives it: a node with an empty block store waits (`bootstrap` in its
 * report) until the commander sends a `state-sync` action with the trust (a height and the block hash
 * there, from the fleet's own healthy nodes) and the RPC servers its light client checks it against.
 */

/** A CometBFT block hash as /status and /commit show it: 64 uppercase hex characters. */
export const BlockHash = z
  .string()
  .regex(/^[0-9A-F]{64}$/, 'use the block hash as CometBFT shows it: 64 uppercase hex characters');

/**
 * A Go duration as config.toml's `trust_period` takes it, in whole hours, minutes and seconds
 * ("168h0m0s", "336h", "90m"), and above zero.
 */
export const GoDuration = z
  .string()
  .regex(
    /^(?=\d)(\d{1,6}h)?(\d{1,6}m)?(\d{1,6}s)?$/,
    'use a Go duration in hours, minutes and seconds, e.g. "168h0m0s"',
  )
  .refine((d) => /[1-9]/.test(d), 'use a duration above zero, e.g. "168h0m0s"');

/**
 * An RPC server as `[statesync] rpc_servers` lists it (comma-separated): an http(s) URL with no comma,
 * quote or space, which would split or end the list in config.toml.
 */
export const RpcServerUrl = z
  .url({ protocol: /^https?$/, error: 'use the http:// or https:// URL of a CometBFT RPC' })
  .max(256)
  .refine((url) => !/[,\s"'\\]/.test(url), 'use a URL without commas, quotes or spaces');

/** Where a node is in its state sync; absent (null) when it never needed one. */
export const BootstrapState = z.enum([
  /** The block store is empty: the daemon is kept down until a `state-sync` action brings the trust. */
  'awaiting-state-sync',
  /** [statesync] is written and the daemon restores a snapshot, then blocksyncs to the tip. */
  'syncing',
  /** Caught up; [statesync] is switched off again. */
  'synced',
]);
export type BootstrapState = z.infer<typeof BootstrapState>;

export const BootstrapFacts = z.strictObject({
  state: BootstrapState,
  /** When the node started waiting for state sync, by the pilot's clock. */
  since: EpochMs,
  /** The trust height the node syncs from (the action's); null while it waits for one. */
  trustHeight: z.number().int().positive().nullable(),
  /** When it caught up, by the pilot's clock; null before. */
  syncedAt: EpochMs.nullable(),
});
export type BootstrapFacts = z.infer<typeof BootstrapFacts>;
