import * as z from 'zod';
import { Coin, describeZodError, EpochMs, VoteOption } from './common.js';
import { ConfigPatch } from './config.js';
import { PeerAddress } from './p2p.js';
import { PilotVersion, ReleaseSource, Sha256Hex } from './release.js';
import { BlockHash, GoDuration, RpcServerUrl } from './state-sync.js';

/** Unique per node; the pilot executes an id at most once, ever. */
export const ActionId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'use 1-128 characters of [A-Za-z0-9_.:-]');

/** Peers one `dial-peers` carries; the commander splits longer lists over several actions. */
export const MAX_DIAL_PEERS = 100;

const ActionBase = {
  id: ActionId,
  /**
   * Commander time of issue: the order of ids. The pilot remembers the recent ids it executed and,
   * below them, only a watermark: an action issued at or before it that the pilot cannot find is
   * refused, never run (see pilot/ledger.ts).
   */
  issuedAt: EpochMs,
};

/** Lease epochs are fencing tokens: a pilot refuses any key action below the highest it has seen. */
const Epoch = z.number().int().positive();

export const Action = z.discriminatedUnion('type', [
  z.strictObject({ ...ActionBase, type: z.literal('restart-daemon') }),
  z.strictObject({ ...ActionBase, type: z.literal('stop-daemon') }),
  z.strictObject({ ...ActionBase, type: z.literal('start-daemon') }),
  z.strictObject({
    ...ActionBase,
    type: z.literal('apply-config'),
    version: z.string().min(1).max(64),
    patch: ConfigPatch,
    /** Restart the daemon after writing, for keys the daemon only reads at start. */
    restart: z.boolean().default(false),
  }),
  z.strictObject({
    ...ActionBase,
    type: z.literal('dial-peers'),
    peers: z.array(PeerAddress).min(1).max(MAX_DIAL_PEERS),
    persistent: z.boolean().default(true),
    unconditional: z.boolean().default(false),
    private: z.boolean().default(false),
  }),
  z.strictObject({
    ...ActionBase,
    type: z.literal('promote'),
    epoch: Epoch,
    /** The lease as the commander granted it; the pilot self-fences past it. */
    leaseExpiresAt: EpochMs,
    /**
     * Signer mode: the signer signs nothing at or below this height (above every committed height
     * and every mark the commander knows of). File mode: the daemon's sign state is raised to at
     * least this height before it starts with the key.
     */
    minHeight: z.number().int().nonnegative(),
  }),
  z.strictObject({ ...ActionBase, type: z.literal('demote'), epoch: Epoch }),
  z.strictObject({
    ...ActionBase,
    type: z.literal('vote'),
    proposalId: z.string().regex(/^\d+$/, 'use the numeric proposal id'),
    option: VoteOption,
    memo: z.string().max(256).optional(),
  }),
  z.strictObject({
    ...ActionBase,
    type: z.literal('delegate'),
    amount: Coin,
    memo: z.string().max(256).optional(),
  }),
  z.strictObject({
    ...ActionBase,
    type: z.literal('withdraw-rewards'),
    commission: z.boolean().default(true),
  }),
  z.strictObject({
    ...ActionBase,
    /** `MsgExec(MsgUnjail)` with the hot key, for the validator this pilot watches. */
    type: z.literal('unjail'),
  }),
  z.strictObject({
    ...ActionBase,
    /**
     * Starts (until in the future) or ends (until null) a maintenance window: the pilot neither
     * restarts nor starts a daemon the operator stopped, and reports the window.
     */
    type: z.literal('maintenance'),
    until: EpochMs.nullable(),
    reason: z.string().max(200).default(''),
  }),
  z.strictObject({
    ...ActionBase,
    /**
     * Install this release next to the running one and restart into it: the pilot fetches the
     * tarball, checks its sha256 and the bundle's own SHA256SUMS line, lets the new bundle check the
     * config, switches its install's `current` link and exits for its service manager to restart it.
     */
    type: z.literal('upgrade-pilot'),
    version: PilotVersion,
    source: ReleaseSource,
    sha256: Sha256Hex,
  }),
  z.strictObject({
    ...ActionBase,
    /** Switch back to this installed release (checked against its SHA256SUMS), restarting if needed. */
    type: z.literal('rollback-pilot'),
    version: PilotVersion,
  }),
  z.strictObject({
    ...ActionBase,
    /**
     * For a node waiting with an empty block store: the pilot writes config.toml's [statesync] (enable,
     * rpc_servers, trust_height, trust_hash, trust_period) and `peers` into p2p.persistent_peers, then
     * starts the daemon, which restores a snapshot a peer offers and blocksyncs to the tip.
     */
    type: z.literal('state-sync'),
    /** CometBFT's light client takes the first that answers as primary, the others as witnesses. */
    rpcServers: z
      .array(RpcServerUrl)
      .min(2, 'list at least two RPC servers: CometBFT checks the trust against a witness')
      .max(10),
    trustHeight: z.number().int().positive(),
    /** The hash of the block at trustHeight. */
    trustHash: BlockHash,
    trustPeriod: GoDuration,
    /** Nodes that take snapshots (app.toml snapshot-interval), dialed as persistent peers while syncing. */
    peers: z.array(PeerAddress).max(MAX_DIAL_PEERS).default([]),
  }),
]);
export type Action = z.infer<typeof Action>;
export type ActionType = Action['type'];

/** An action as the pilot takes it: valid, or refused on its own with the reason naming the field. */
export type ParsedAction =
  | { ok: true; action: Action }
  | {
      ok: false;
      /** The id to answer the refusal under; null when the action has no usable id (logged only). */
      id: string | null;
      type: string;
      /** When it was issued, if that much is readable (orders the refusal in the pilot's ledger). */
      issuedAt: number | null;
      reason: string;
    };

/**
 * Parses one action of a reply. One bad action (a peer address CometBFT would refuse, an unknown
 * type) must never stop the others or the lease grant in the same reply, so each is parsed alone.
 */
export function parseAction(raw: unknown): ParsedAction {
  const parsed = Action.safeParse(raw);
  if (parsed.success) return { ok: true, action: parsed.data };
  const fields = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const id = ActionId.safeParse(fields.id);
  const issuedAt = EpochMs.safeParse(fields.issuedAt);
  return {
    ok: false,
    id: id.success ? id.data : null,
    type: typeof fields.type === 'string' && /^[a-z-]{1,32}$/.test(fields.type) ? fields.type : 'invalid',
    issuedAt: issuedAt.success ? issuedAt.data : null,
    // Zod names unknown keys as sent: control characters never reach a log, a result or a chat.
    reason: `invalid action: ${describeZodError(parsed.error)}`.replace(/\p{Cc}/gu, '?').slice(0, 1900),
  };
}

export const ActionResult = z.strictObject({
  id: ActionId,
  type: z.string().max(32),
  ok: z.boolean(),
  finishedAt: EpochMs,
  /** A short human-readable outcome or error; never secrets. */
  message: z.string().max(2000).optional(),
  txHash: z
    .string()
    .regex(/^[0-9A-F]{64}$/)
    .optional(),
  height: z.number().int().nonnegative().optional(),
});
export type ActionResult = z.infer<typeof ActionResult>;
