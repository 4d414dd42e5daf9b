/**
 * What a chain upgrade means for alerting: nodes that will not take a scheduled upgrade by
 * themselves and what is not through by the settle time are warnings; while the chain is halted for
 * it, every health alert of its nodes waits (the thread is the one message).
 */
import type { Hold } from '../alerting/holds.js';
import type { Finding } from '../domain/health.js';
import { atMinute } from './messages.js';
import type { ChainUpgradeState, TrackedUpgrade } from './state.js';

/** The `by` of a plan's holds: alerts waiting on it name it. */
export const holdId = (chainId: string, name: string) => `chain-upgrade:${chainId}:${name}`;

export function chainUpgradeHolds(state: ChainUpgradeState): Hold[] {
  return Object.values(state.upgrades)
    .filter((u) => u.phase === 'upgrading')
    .map((u) => ({ by: holdId(state.chainId, u.name), chainId: state.chainId }));
}

function when(u: TrackedUpgrade): string {
  return `at height ${u.height}${u.eta === null ? '' : ` (about ${atMinute(u.eta)})`}`;
}

function readinessFindings(chainId: string, u: TrackedUpgrade): Finding[] {
  const nodes = Object.entries(u.nodes).sort(([a], [b]) => a.localeCompare(b));
  return nodes.flatMap(([nodeId, p]): Finding[] => {
    if (p.ready !== 'not-staged' && p.ready !== 'manual') return [];
    const staged = p.ready === 'not-staged';
    return [
      {
        key: `node:${nodeId}:upgrade-not-staged`,
        kind: 'upgrade-not-staged',
        nodeId,
        chainId,
        severity: 'warning',
        title: staged
          ? `${nodeId}: binary for chain upgrade ${u.name} not staged`
          : `${nodeId}: not under cosmovisor for chain upgrade ${u.name}`,
        detail: staged
          ? `the chain halts ${when(u)}: put the new binary in cosmovisor/upgrades/${u.name}/bin`
          : `the chain halts ${when(u)}: someone installs the new binary on it then`,
      },
    ];
  });
}

function incompleteFindings(chainId: string, u: TrackedUpgrade): Finding[] {
  return u.laggards.map((l) => ({
    key: l.validator
      ? `validator:${chainId}:${l.validator}:upgrade-incomplete`
      : `node:${l.node}:upgrade-incomplete`,
    kind: 'upgrade-incomplete' as const,
    nodeId: l.node,
    chainId,
    ...(l.validator ? { validator: l.validator } : {}),
    severity: 'warning' as const,
    title: l.validator
      ? `validator ${l.validator.slice(0, 8)} not signing since chain upgrade ${u.name}`
      : `${l.node}: not through chain upgrade ${u.name}`,
    detail: `${l.why} (the chain halted for it at height ${u.height})`,
  }));
}

export function chainUpgradeFindings(state: ChainUpgradeState): Finding[] {
  return Object.values(state.upgrades).flatMap((u) =>
    u.phase === 'scheduled'
      ? readinessFindings(state.chainId, u)
      : u.phase === 'incomplete'
        ? incompleteFindings(state.chainId, u)
        : [],
  );
}
