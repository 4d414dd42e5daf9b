import { createHash } from 'node:crypto';
import {
  type Action,
  type ConfigPatch,
  type DesiredConfig,
  MAX_DIAL_PEERS,
  P2pAddress,
  PeerAddress,
} from '../../protocol/index.js';
import type { NodeRecord } from './registry.js';

/**
 * `<comet id>@<p2p address>`, or null while either is unknown or the address is one CometBFT
 * would refuse: a node registered before addresses were checked strictly never reaches a config.
 */
export function peerAddressOf(node: NodeRecord): string | null {
  if (!node.cometNodeId || !node.p2pAddress) return null;
  const peer = `${node.cometNodeId}@${node.p2pAddress}`;
  return PeerAddress.safeParse(peer).success ? peer : null;
}

/** A node that other nodes can dial: approved, with a known CometBFT id and a valid p2p address. */
function peerOf(node: NodeRecord): string | null {
  return node.status === 'approved' ? peerAddressOf(node) : null;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** What one chain's approved nodes offer each other: the same for every node of a role. */
interface ChainPeers {
  sentryPeers: string[];
  validatorPeers: string[];
  validatorIds: string[];
}

function chainPeers(fleet: readonly NodeRecord[], chainId: string): ChainPeers {
  const approved = fleet.filter((n) => n.chainId === chainId && n.status === 'approved');
  const peers = (role: NodeRecord['role']) =>
    sorted(
      approved
        .filter((n) => n.role === role)
        .map(peerOf)
        .filter((p): p is string => p !== null),
    );
  return {
    sentryPeers: peers('sentry'),
    validatorPeers: peers('validator'),
    validatorIds: sorted(
      approved.filter((n) => n.role === 'validator' && n.cometNodeId).map((n) => n.cometNodeId as string),
    ),
  };
}

/** The address a sentry tells its peers to dial: its public one once it has one (if valid). */
function advertisedAddress(node: NodeRecord): string | null {
  const address = node.publicAddress ?? node.p2pAddress;
  return address && P2pAddress.safeParse(address).success ? address : null;
}

/**
 * The p2p keys Beam owns for one node, from its chain's peers: validators talk only to sentries;
 * sentries shield the validators' ids and advertise their public address. A node is never its
 * own peer, as the lists it gets hold only the other role.
 */
function patchFor(node: NodeRecord, peers: ChainPeers): ConfigPatch {
  if (node.role === 'validator') {
    return { p2p: { pex: false, persistent_peers: peers.sentryPeers, addr_book_strict: false } };
  }
  const advertised = advertisedAddress(node);
  return {
    p2p: {
      pex: true,
      persistent_peers: peers.validatorPeers,
      private_peer_ids: peers.validatorIds,
      unconditional_peer_ids: peers.validatorIds,
      ...(advertised ? { external_address: advertised } : {}),
    },
  };
}

export function generatePatch(node: NodeRecord, fleet: readonly NodeRecord[]): ConfigPatch {
  return patchFor(node, chainPeers(fleet, node.chainId));
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

/**
 * The actions that bring a node to `config`: the file (read at the next start), and `dial` dialed now
 * (without a restart), split over as many `dial-peers` as MAX_DIAL_PEERS needs. The ids are the
 * same whichever path (config convergence, sentry defence) mints them, so a node never gets them twice.
 */
export function configActions(
  node: NodeRecord,
  config: DesiredConfig,
  issuedAt: number,
  dial: readonly string[],
): Action[] {
  const base = `${node.id}-${config.version}`;
  const actions: Action[] = [
    {
      id: `cfg-${base}`,
      type: 'apply-config',
      issuedAt,
      version: config.version,
      patch: config.patch,
      restart: false,
    },
  ];
  // Sentries keep the validators they dial private and always let them in.
  const sentry = node.role === 'sentry';
  for (let start = 0; start < dial.length; start += MAX_DIAL_PEERS) {
    const part = start / MAX_DIAL_PEERS + 1;
    actions.push({
      id: part === 1 ? `dial-${base}` : `dial-${base}-${part}`,
      type: 'dial-peers',
      issuedAt,
      peers: dial.slice(start, start + MAX_DIAL_PEERS),
      persistent: true,
      unconditional: sentry,
      private: sentry,
    });
  }
  return actions;
}

export function desiredConfig(node: NodeRecord, fleet: readonly NodeRecord[]): DesiredConfig {
  return configGenerator(fleet)(node);
}

/**
 * Desired configs for many nodes of one fleet. Each chain's peer lists are built once, and nodes
 * that get the same patch (all validators of a chain; sentries advertising the same address)
 * share it and its version: a tick stays linear in the fleet's size.
 */
export function configGenerator(fleet: readonly NodeRecord[]): (node: NodeRecord) => DesiredConfig {
  const peers = new Map<string, ChainPeers>();
  const configs = new Map<string, DesiredConfig>();
  const peersOf = (chainId: string) => {
    const known = peers.get(chainId) ?? chainPeers(fleet, chainId);
    peers.set(chainId, known);
    return known;
  };
  return (node) => {
    // What patchFor reads besides the chain's peers: the role, and a sentry's advertised address.
    const key = JSON.stringify([
      node.chainId,
      node.role,
      node.role === 'sentry' ? advertisedAddress(node) : null,
    ]);
    const known = configs.get(key);
    if (known) return known;
    const patch = patchFor(node, peersOf(node.chainId));
    const config = { version: configVersion(patch), patch };
    configs.set(key, config);
    return config;
  };
}
