/**
 * The Cosmos SDK's x/upgrade pre-blocker as a node's binary meets it before each block it executes
 * (a validator's, a full node's, in consensus or blocksync): a binary without the handler of a plan
 * due now halts ("UPGRADE … NEEDED", after writing upgrade-info.json), one that holds the handler of
 * a plan not yet due halts too ("BINARY UPDATED BEFORE TRIGGER"), and so does one without the
 * handler of the last applied upgrade (an old binary after the upgrade). x/upgrade's state at a
 * height comes from the chain's history of it (`upgradeAt`), as a node's own app state would.
 */
import * as z from 'zod';
import type { UpgradeChange, UpgradePlan, UpgradeStatus } from './chain/types.js';

/** x/upgrade's state as the hub sends it (round and proposal pushes, tips). */
export const UpgradeStatusSchema = z.object({
  plan: z.object({ name: z.string(), height: z.number().int(), info: z.string() }).nullable(),
  applied: z.object({ name: z.string(), height: z.number().int() }).nullable(),
  appVersion: z.number().int().nonnegative(),
});

/** The chain's history of x/upgrade's state (ChainApp.upgradeHistory), as the hub sends it. */
export const UpgradeHistorySchema = z.array(
  z.object({ height: z.number().int().positive(), status: UpgradeStatusSchema }),
);

const GENESIS_STATUS: UpgradeStatus = { plan: null, applied: null, appVersion: 0 };

/** x/upgrade's state before block `height` executes, from the chain's history of it. */
export function upgradeAt(history: readonly UpgradeChange[], height: number): UpgradeStatus {
  let status = GENESIS_STATUS;
  for (const change of history) {
    if (change.height > height) break;
    status = change.status;
  }
  return status;
}

/** What a daemon binary is: its version and the upgrade handler it registers (null: the genesis binary). */
export interface Binary {
  version: string;
  upgrade: string | null;
}

export interface UpgradeHalt {
  /** The error the SDK logs and panics with. */
  message: string;
  /** The plan to write to data/upgrade-info.json (only when an upgrade is needed). */
  needed: UpgradePlan | null;
}

/** BuildUpgradeNeededMsg. */
export function upgradeNeededMessage(plan: UpgradePlan): string {
  return `UPGRADE "${plan.name}" NEEDED at height: ${plan.height}: ${plan.info}`;
}

/** Null when the binary goes on at `height`, else why it halts (PreBlocker's order of checks). */
export function upgradeHalt(binary: Binary, chain: UpgradeStatus, height: number): UpgradeHalt | null {
  const plan = chain.plan;
  const due = plan !== null && plan.height <= height;
  if (!due && chain.applied && binary.upgrade !== chain.applied.name) {
    return {
      message: `wrong app version ${chain.appVersion}, upgrade handler is missing for ${chain.applied.name} upgrade plan`,
      needed: null,
    };
  }
  if (!plan) return null;
  if (due) return binary.upgrade === plan.name ? null : { message: upgradeNeededMessage(plan), needed: plan };
  if (binary.upgrade === plan.name) {
    return {
      message: `BINARY UPDATED BEFORE TRIGGER! UPGRADE "${plan.name}" - in binary but not executed on chain. Downgrade your binary`,
      needed: null,
    };
  }
  return null;
}
