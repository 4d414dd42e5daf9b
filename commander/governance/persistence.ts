import { randomBytes } from 'node:crypto';
import { KEYS, type Store, withRetry } from '../adapters/store/store.js';
import {
  type GovernanceEvent,
  type GovernanceInput,
  type GovernanceOutput,
  decideGovernance,
} from './machine.js';
import { type GovernanceState, initialGovernanceState } from './state.js';

export interface StoredGovernanceState {
  state: GovernanceState;
  /** null while the item does not exist yet. */
  version: number | null;
}

export async function loadGovernanceState(store: Store, chainId: string): Promise<StoredGovernanceState> {
  const item = await store.get<GovernanceState>(KEYS.governance(chainId));
  if (item) return { state: item.value, version: item.version };
  return { state: initialGovernanceState(chainId, randomBytes(4).toString('hex')), version: null };
}

export async function listGovernanceStates(store: Store): Promise<GovernanceState[]> {
  return (await store.query<GovernanceState>('GOVERNANCE')).map((v) => v.value);
}

/**
 * Load → decide → conditional write (one item per chain), deciding again on a lost race; writes only
 * when the state changed. Perform the returned effects only after this resolves.
 */
export function decideAndSaveGovernance(
  store: Store,
  chainId: string,
  event: GovernanceEvent,
  now: number,
  input: GovernanceInput,
): Promise<GovernanceOutput> {
  return withRetry(async () => {
    const stored = await loadGovernanceState(store, chainId);
    const out = decideGovernance(stored.state, event, now, input);
    if (stored.version === null || canonical(out.state) !== canonical(stored.state)) {
      await store.put(KEYS.governance(chainId), 'governance', out.state, stored.version);
    }
    return out;
  });
}

/** JSON with sorted keys and without undefined members: a store returns maps in any key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
