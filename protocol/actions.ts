import { z } from 'zod';
import { Coin, EpochMs, VoteOption } from './common.js';
import { ConfigPatch } from './config.js';

const ActionBase = {
  /** Unique id; the pilot executes an id at most once, ever. */
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'use 1-128 characters of [A-Za-z0-9_.:-]'),
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
    peers: z.array(z.string().min(1).max(300)).min(1).max(100),
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
]);
export type Action = z.infer<typeof Action>;
export type ActionType = Action['type'];

export const ActionResult = z.strictObject({
  id: Action.options[0].shape.id,
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
