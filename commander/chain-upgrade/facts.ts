import type { Role, UpgradeFacts } from '../../protocol/index.js';
import type { NodeRecord } from '../domain/registry.js';

/** One approved node of the chain as the upgrade thread sees it, from its latest report. */
export interface UpgradeNodeFacts {
  id: string;
  role: Role;
  /** Its report is recent: silence says nothing about a plan, nor that a node is through. */
  fresh: boolean;
  height: number | null;
  latestBlockTime: number | null;
  version: string | null;
  /** Null from a pilot that does not tell (an older release). */
  upgrade: UpgradeFacts | null;
  /** The validator it watches, and the heights of the commits that validator signed. */
  validator: string | null;
  signedHeights: number[];
}

export interface ChainUpgradeFacts {
  chainId: string;
  nodes: UpgradeNodeFacts[];
}

export function chainUpgradeFacts(
  nodes: readonly NodeRecord[],
  chainId: string,
  now: number,
  freshMs: number,
): ChainUpgradeFacts {
  return {
    chainId,
    nodes: nodes
      .filter((n) => n.chainId === chainId && n.status === 'approved' && n.lastReport !== null)
      .map((n) => {
        const report = n.lastReport!;
        return {
          id: n.id,
          role: n.role,
          fresh: n.lastSeen !== null && now - n.lastSeen <= freshMs,
          height: report.daemon.height,
          latestBlockTime: report.daemon.latestBlockTime,
          version: report.daemon.version,
          // Node items written before reports carried upgrade facts have no such field at all.
          upgrade: report.upgrade ?? null,
          validator: report.chain?.validatorAddress ?? null,
          signedHeights: (report.chain?.recentCommits ?? []).filter((c) => c.signed).map((c) => c.height),
        };
      }),
  };
}
