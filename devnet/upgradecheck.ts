/**
 * The Cosmos SDK's x/upgrade pre-blocker as a validator's binary meets it at a height: a binary
 * without the handler of a plan due now halts ("UPGRADE … NEEDED", after writing upgrade-info.json),
 * one that holds the handler of a plan not yet due halts too ("BINARY UPDATED BEFORE TRIGGER"), and
 * so does one without the handler of the last applied upgrade (an old binary after the upgrade).
 */
import type { UpgradePlan, UpgradeStatus } from './chain/types.js';

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
