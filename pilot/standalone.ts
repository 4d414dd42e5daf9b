import type { ChainFacts, ProposalFact } from '../protocol/index.js';
import type { AllowContext } from './allowlist.js';

export interface StandalonePlan {
  /** Proposals in voting not announced before. */
  announce: ProposalFact[];
  /** Withdraw rewards and commission before bonding. */
  withdraw: boolean;
  /** Amount to delegate to the own validator, or 0n. */
  bond: bigint;
}

/**
 * The local policies of a pilot without a commander, as a pure decision: announce new proposals;
 * above the threshold, bond the liquid balance minus the fee reserve, bounded by the local caps
 * (a low cap means smaller bonds, not a refusal every round).
 */
export function planStandalone(
  chain: Pick<ChainFacts, 'proposals' | 'balances'>,
  announced: ReadonlySet<string>,
  policy: {
    denom: string;
    threshold: bigint | null;
    feeReserve: bigint;
    withdrawFirst: boolean;
    canSign: boolean;
  },
  caps: Pick<AllowContext, 'maxDelegatePerAction' | 'maxDelegatePerDay' | 'delegatedToday'>,
): StandalonePlan {
  const announce = chain.proposals.filter((p) => p.status === 'voting' && !announced.has(p.id));
  const liquid = BigInt(chain.balances.find((b) => b.denom === policy.denom)?.amount ?? '0');
  if (policy.threshold === null || !policy.canSign || liquid <= policy.threshold) {
    return { announce, withdraw: false, bond: 0n };
  }
  const room = caps.maxDelegatePerDay - caps.delegatedToday;
  const wanted = liquid - policy.feeReserve;
  const bond = [wanted, caps.maxDelegatePerAction, room].reduce((a, b) => (a < b ? a : b));
  return { announce, withdraw: policy.withdrawFirst, bond: bond > 0n ? bond : 0n };
}
