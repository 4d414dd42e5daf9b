import type { ActionResult, ChainFacts } from '../../protocol/index.js';
import type { NodeRecord } from '../domain/registry.js';

/** What the governance decisions see of one chain at one moment. */
export interface GovernanceFacts {
  chainId: string;
  /** The validator node holding the signing key: its pilot votes and delegates. */
  activeNode: string | null;
  /** Chain facts from the active node's latest report; null when it could not read the chain. */
  chain: ChainFacts | null;
  /** When that report was sent (pilot clock; compare with action results' `finishedAt`). */
  reportSentAt: number | null;
  /** The report is recent enough to act on (auto-vote, auto-bond). */
  fresh: boolean;
  /** Recent action results of the chain's nodes, to settle what governance queued. */
  results: ActionResult[];
}

/**
 * The holder when the lease registry has none: the single approved validator node of the chain
 * whose latest report says it holds the validator key.
 */
export function reportedKeyHolder(nodes: readonly NodeRecord[], chainId: string): string | null {
  const holders = nodes.filter(
    (n) =>
      n.chainId === chainId &&
      n.status === 'approved' &&
      n.role === 'validator' &&
      n.lastReport?.custody?.holdsValidatorKey === true,
  );
  return holders.length === 1 ? holders[0]!.id : null;
}

export function governanceFacts(
  nodes: readonly NodeRecord[],
  chainId: string,
  holder: string | null,
  now: number,
  maxReportAgeMs: number,
): GovernanceFacts {
  const active = holder ? nodes.find((n) => n.id === holder && n.chainId === chainId) : undefined;
  const report = active?.lastReport ?? null;
  return {
    chainId,
    activeNode: active ? active.id : null,
    // Without the daemon's RPC the pilot reports empty chain facts: nothing is known then.
    chain: report?.daemon.rpcReachable ? (report.chain ?? null) : null,
    reportSentAt: report?.sentAt ?? null,
    fresh: active?.lastSeen != null && now - active.lastSeen <= maxReportAgeMs,
    results: nodes.filter((n) => n.chainId === chainId).flatMap((n) => n.recentResults),
  };
}
