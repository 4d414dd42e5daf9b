import * as z from 'zod';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** `settings.chainUpgrade`: how Beam follows x/upgrade plans through their halt (commander/chain-upgrade). */
export const ChainUpgradeSettings = z.strictObject({
  /** Announce plans and follow their halt; off: no thread, no holds, no not-staged alerts. */
  enabled: z.boolean().default(true),
  /** Reminders this long before the estimated upgrade time (each once per plan). */
  reminderLeadsMs: z
    .array(
      z
        .number()
        .int()
        .min(MIN, 'use at least 60000 (one minute)')
        .max(30 * DAY, 'use at most 30 days'),
    )
    .max(10)
    .default([DAY, HOUR, 10 * MIN]),
  /**
   * From the halt: how long the chain's health alerts wait for the upgrade to finish. Past it, the
   * nodes still on their old binary (or a validator not signing yet) are named, and alerts flow.
   */
  settleMs: z
    .number()
    .int()
    .min(MIN)
    .max(2 * DAY)
    .default(HOUR),
  /**
   * A plan no fresh report lists for this long, before its height, was cancelled: one node's failed
   * read (the pilot reports no plan then too) cancels nothing while another still lists it.
   */
  cancelAfterMs: z
    .number()
    .int()
    .min(0)
    .max(DAY)
    .default(2 * MIN),
});
export type ChainUpgradeSettings = z.infer<typeof ChainUpgradeSettings>;
