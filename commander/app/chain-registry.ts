/**
 * Chains the commander knows from the Cosmos chain registry (`beam-commander chain add <chain.json>`):
 * one `CHAIN/<chainId>` item each, holding the facts `protocol/chain-registry.ts` keeps. Each process
 * reads them once at start and takes the chain's settings from them where the commander's own
 * settings say nothing: the bond denom is the chain's staking token.
 */
import { ChainFacts } from '../../protocol/chain-registry.js';
import { templatesOf } from '../domain/explorer.js';
import { createDocClient, createDynamoClient } from '../adapters/store/client.js';
import { KEYS, Store, withRetry } from '../adapters/store/store.js';
import type { CommanderSettings } from '../settings.js';

interface ChainItem {
  facts: ChainFacts;
  addedAt: number;
}

/** Stores (or replaces) a chain's facts; says which it did. */
export async function putChain(store: Store, facts: ChainFacts, now: number): Promise<'added' | 'updated'> {
  return withRetry(async () => {
    const current = await store.get<ChainItem>(KEYS.chain(facts.chainId));
    await store.put(KEYS.chain(facts.chainId), 'chain', { facts, addedAt: now }, current?.version ?? null);
    return current ? 'updated' : 'added';
  });
}

export async function listChains(store: Store): Promise<ChainFacts[]> {
  const items = await store.query<ChainItem>('CHAIN');
  return items.map(({ value }) => {
    const parsed = ChainFacts.safeParse(value.facts);
    if (!parsed.success) {
      throw new Error(
        `stored chain item CHAIN/${String(value.facts?.chainId)} is unreadable (${parsed.error.issues[0]?.message}): add the chain again with beam-commander chain add <chain.json>`,
      );
    }
    return parsed.data;
  });
}

/**
 * The settings with each stored chain's facts under them: a chain's bond denom (governance
 * `chains.<id>.autoBond.denom`) is its staking token unless the settings name one, for the chain or
 * the whole fleet; its explorer pages are the registry's where `explorers.<id>` sets none.
 */
export function withChainDefaults(
  settings: CommanderSettings,
  chains: readonly ChainFacts[],
): CommanderSettings {
  const governance = settings.governance;
  const perChain = { ...governance.chains };
  const explorers = { ...settings.explorers };
  for (const chain of chains) explorers[chain.chainId] = templatesOf(chain, explorers[chain.chainId]);
  for (const chain of chains) {
    const own = perChain[chain.chainId];
    if (own?.autoBond?.denom || governance.autoBond?.denom) continue;
    perChain[chain.chainId] = { ...own, autoBond: { ...own?.autoBond, denom: chain.stakingDenom } };
  }
  return { ...settings, explorers, governance: { ...governance, chains: perChain } };
}

/** Reads the stored chains from the settings' table (one query) and layers them under the settings. */
export async function withRegistryChains(settings: CommanderSettings): Promise<CommanderSettings> {
  const dynamo = createDynamoClient(settings.dynamodbEndpoint ? { endpoint: settings.dynamodbEndpoint } : {});
  const store = new Store(createDocClient(dynamo), { tableName: settings.tableName });
  return withChainDefaults(settings, await listChains(store));
}
