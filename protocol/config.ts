import * as z from 'zod';
import { CometNodeId } from './common.js';
import { P2pAddress, PeerAddress } from './p2p.js';

/**
 * The config.toml keys Beam owns. The pilot changes exactly these and keeps every other byte of
 * the file. An absent key means "leave as it is".
 */
export const ConfigPatch = z.strictObject({
  p2p: z
    .strictObject({
      persistent_peers: z.array(PeerAddress).optional(),
      private_peer_ids: z.array(CometNodeId).optional(),
      unconditional_peer_ids: z.array(CometNodeId).optional(),
      pex: z.boolean().optional(),
      addr_book_strict: z.boolean().optional(),
      external_address: P2pAddress.optional(),
    })
    .optional(),
  consensus: z
    .strictObject({
      double_sign_check_height: z.number().int().nonnegative().optional(),
    })
    .optional(),
});
export type ConfigPatch = z.infer<typeof ConfigPatch>;

/** A generated config and the version the pilot converges to (a content hash). */
export const DesiredConfig = z.strictObject({
  version: z.string().min(1).max(64),
  patch: ConfigPatch,
});
export type DesiredConfig = z.infer<typeof DesiredConfig>;
