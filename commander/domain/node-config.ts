import { createHash } from 'node:crypto';
import type { ConfigPatch, DesiredConfig } from '../../protocol/index.js';
import type { NodeRecord } from './registry.js';

/** A node that other nodes can dial: approved, with a known CometBFT id and p2p address. */
function peerOf(node: NodeRecord): string | null {
  return node.status === 'approved' && node.cometNodeId && node.p2pAddress
    ? `${node.cometNodeId}@${node.p2pAddress}`
    : null;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/**
 * The p2p keys Beam owns for one node, derived from the registry of its chain: validators talk only
 * to sentries; sentries shield the validators' ids and advertise their public address.
 */
export function generatePatch(node: NodeRecord, fleet: readonly NodeRecord[]): ConfigPatch {
  const sameChain = fleet.filter(
    (n) => n.chainId === node.chainId && n.id !== node.id && n.status === 'approved',
  );
  const sentries = sameChain.filter((n) => n.role === 'sentry');
  const validators = sameChain.filter((n) => n.role === 'validator');
  const peers = (nodes: NodeRecord[]) => sorted(nodes.map(peerOf).filter((p): p is string => p !== null));
  const ids = (nodes: NodeRecord[]) =>
    sorted(nodes.map((n) => n.cometNodeId).filter((id): id is string => !!id));

  if (node.role === 'validator') {
    return { p2p: { pex: false, persistent_peers: peers(sentries), addr_book_strict: false } };
  }
  const advertised = node.publicAddress ?? node.p2pAddress;
  return {
    p2p: {
      pex: true,
      persistent_peers: peers(validators),
      private_peer_ids: ids(validators),
      unconditional_peer_ids: ids(validators),
      ...(advertised ? { external_address: advertised } : {}),
    },
  };
}

/** Stable JSON: keys sorted at every level, so equal patches hash equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function configVersion(patch: ConfigPatch): string {
  return createHash('sha256').update(canonical(patch)).digest('hex').slice(0, 16);
}

export function desiredConfig(node: NodeRecord, fleet: readonly NodeRecord[]): DesiredConfig {
  const patch = generatePatch(node, fleet);
  return { version: configVersion(patch), patch };
}
