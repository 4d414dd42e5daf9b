/** tx_search over the tx index: `tx.hash='…'`, `tx.height=N`, and `type.attr='value'` event matches, joined by AND. */
import type { IndexedTx } from './types.js';

interface Condition {
  key: string;
  value: string;
}

function parseQuery(query: string): Condition[] {
  return query
    .split(/\s+AND\s+/i)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^([\w.]+)\s*=\s*'?([^']*)'?$/.exec(part);
      if (!match) throw new Error(`unsupported tx_search condition "${part}": use key='value' joined by AND`);
      return { key: match[1]!, value: match[2]! };
    });
}

function matches(tx: IndexedTx, { key, value }: Condition): boolean {
  if (key === 'tx.hash') return Buffer.from(tx.hash).toString('hex').toUpperCase() === value.toUpperCase();
  if (key === 'tx.height') return tx.height === Number(value);
  const dot = key.indexOf('.');
  const type = key.slice(0, dot);
  const attr = key.slice(dot + 1);
  return tx.result.events.some(
    (e) => e.type === type && e.attributes.some((a) => a.key === attr && a.value === value),
  );
}

export function searchIndexedTxs(
  query: string,
  index: Map<string, IndexedTx>,
  byHeight: Map<number, IndexedTx[]>,
): IndexedTx[] {
  const conditions = parseQuery(query);
  const hash = conditions.find((c) => c.key === 'tx.hash');
  const height = conditions.find((c) => c.key === 'tx.height');
  const candidates = hash
    ? [index.get(hash.value.toLowerCase())].filter((t): t is IndexedTx => t !== undefined)
    : height
      ? (byHeight.get(Number(height.value)) ?? [])
      : [...index.values()];
  return candidates
    .filter((tx) => conditions.every((c) => matches(tx, c)))
    .sort((a, b) => a.height - b.height || a.index - b.index);
}
