import { QueryCurrentPlanRequest, QueryCurrentPlanResponse } from 'cosmjs-types/cosmos/upgrade/v1beta1/query';
import type { UpgradeFacts, UpgradePlanFact } from '../protocol/index.js';
import { type CosmovisorSettings, haltedFor, isStaged, readUpgradeInfo } from './cosmovisor.js';
import type { CometRpc } from './rpc.js';

const CURRENT_PLAN = '/cosmos.upgrade.v1beta1.Query/CurrentPlan';

/**
 * x/upgrade's pending plan (null: none scheduled), over the daemon's own RPC. One ABCI query with
 * cosmjs-types' codec: the stargate client stays unloaded on sentries.
 */
async function currentPlan(rpc: CometRpc): Promise<UpgradePlanFact | null> {
  const bytes = await rpc.abciQuery(CURRENT_PLAN, QueryCurrentPlanRequest.encode({}).finish());
  const plan = QueryCurrentPlanResponse.decode(bytes).plan;
  if (!plan) return null;
  const height = Number(plan.height);
  if (!plan.name || !(height > 0)) throw new Error('the current plan has no name or height');
  return { name: plan.name.slice(0, 128), height, info: plan.info.slice(0, 2000) };
}

export interface UpgradeReading {
  facts: UpgradeFacts;
  /** The plan query answered: `facts.plan` null then means none is scheduled, not unknown. */
  planKnown: boolean;
  /** Problems reading, one line each (for the chain facts' errors). */
  errors: string[];
}

/** The node through chain upgrades (protocol UpgradeFacts); reads fail into nulls and error lines. */
export async function collectUpgrade(o: {
  rpc: CometRpc;
  /** Whether the daemon's RPC answered this round (no plan query otherwise). */
  rpcReachable: boolean;
  daemonHome: string;
  cosmovisor: CosmovisorSettings | null;
  /** The node's latest block height, or the last one seen while its RPC is down. */
  height: number | null;
}): Promise<UpgradeReading> {
  const errors: string[] = [];
  let plan: UpgradePlanFact | null = null;
  let planKnown = false;
  if (o.rpcReachable) {
    try {
      plan = await currentPlan(o.rpc);
      planKnown = true;
    } catch (error) {
      errors.push(`upgrade plan: ${(error as Error).message.slice(0, 300)}`);
    }
  }
  const info = await readUpgradeInfo(o.daemonHome).catch((error: Error) => {
    errors.push(error.message.slice(0, 300));
    return null;
  });
  const staged = plan && o.cosmovisor ? await isStaged(o.cosmovisor, plan.name) : null;
  return {
    facts: { cosmovisor: o.cosmovisor !== null, plan, staged, halted: haltedFor(info, o.height) },
    planKnown,
    errors,
  };
}
