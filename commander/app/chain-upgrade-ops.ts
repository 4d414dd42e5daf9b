/**
 * Chain upgrades in the tick: per chain, the nodes' latest reports through the pure decisions of
 * commander/chain-upgrade, one item per chain (`CHAINUPGRADE/<chainId>`) written with a conditional
 * put before anything is said (a restart, or a tick that lost the race, never announces twice), then
 * the thread's chat. Returns the warnings and, while a chain is halted for an upgrade, the holds.
 */
import { type Key, type Store, withRetry } from '../adapters/store/store.js';
import type { Hold } from '../alerting/holds.js';
import { chainUpgradeFindings, chainUpgradeHolds } from '../chain-upgrade/alerts.js';
import { chainUpgradeFacts } from '../chain-upgrade/facts.js';
import { decideChainUpgrade } from '../chain-upgrade/machine.js';
import { type ChainUpgradeState, initialChainUpgradeState } from '../chain-upgrade/state.js';
import type { Finding } from '../domain/health.js';
import type { NodeRecord } from '../domain/registry.js';
import { sameData } from '../sentry/persistence.js';
import type { CommanderDeps } from './context.js';

const stateKey = (chainId: string): Key => ({ pk: 'CHAINUPGRADE', sk: chainId });

export async function loadChainUpgrade(
  store: Store,
  chainId: string,
): Promise<{ state: ChainUpgradeState; version: number | null }> {
  const item = await store.get<ChainUpgradeState>(stateKey(chainId));
  return item
    ? { state: item.value, version: item.version }
    : { state: initialChainUpgradeState(chainId), version: null };
}

/** Decides one chain on fresh state and writes it (deciding again on a lost race); the chat follows the write. */
async function decideChain(deps: CommanderDeps, nodes: readonly NodeRecord[], chainId: string) {
  const { settings } = deps;
  const freshMs = settings.thresholds.silentIntervals * settings.reportIntervalMs;
  const out = await withRetry(async () => {
    const stored = await loadChainUpgrade(deps.store, chainId);
    const now = deps.now();
    const decided = decideChainUpgrade(
      stored.state,
      chainUpgradeFacts(nodes, chainId, now, freshMs),
      settings.chainUpgrade,
      now,
    );
    if (stored.version === null || !sameData(decided.state, stored.state))
      await deps.store.put(stateKey(chainId), 'chain-upgrade', decided.state, stored.version);
    return decided;
  });
  for (const effect of out.effects) {
    try {
      if (effect.kind === 'post') await deps.chat.post(effect.subject, effect.message);
      else await deps.chat.update(effect.subject, effect.message);
    } catch (error) {
      // The state is written: the next change edits the thread again.
      deps.log.warn({ subject: effect.subject, err: (error as Error).message }, 'chain upgrade chat failed');
    }
  }
  return out.state;
}

/** The tick's share for every chain of the fleet; one chain's failure is logged, the others carry on. */
export async function runChainUpgradeTick(
  deps: CommanderDeps,
  fleet: readonly NodeRecord[],
): Promise<{ findings: Finding[]; holds: Hold[] }> {
  const findings: Finding[] = [];
  const holds: Hold[] = [];
  if (!deps.settings.chainUpgrade.enabled) return { findings, holds };
  const nodes = fleet.filter((n) => n.status === 'approved');
  for (const chainId of [...new Set(nodes.map((n) => n.chainId))].sort()) {
    try {
      const state = await decideChain(deps, nodes, chainId);
      findings.push(...chainUpgradeFindings(state));
      holds.push(...chainUpgradeHolds(state));
    } catch (error) {
      deps.log.error({ chainId, err: (error as Error).message }, 'chain upgrade tick failed');
    }
  }
  return { findings, holds };
}
