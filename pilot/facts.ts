import type { ChainFacts, DaemonFacts } from '../protocol/index.js';
import { monoNow } from './lease.js';
import { type CometRpc, signedShare } from './rpc.js';

export interface CommitFacts {
  recentCommits: ChainFacts['recentCommits'];
  networkSignedShare: number | null;
}

/** Tracks whether the node's height advances, by the pilot's monotonic clock. */
export class StallTracker {
  private height = -1;
  private changedAt = monoNow();
  constructor(private readonly stallAfterMs: number) {}
  observe(height: number | null): void {
    if (height !== null && height > this.height) {
      this.height = height;
      this.changedAt = monoNow();
    }
  }
  stalled(): boolean {
    return monoNow() - this.changedAt > this.stallAfterMs;
  }
}

/** The daemon as its own RPC shows it; an unreachable RPC yields nulls, never an exception. */
export async function collectDaemon(
  rpc: CometRpc,
  base: Pick<DaemonFacts, 'running' | 'desired' | 'restarts'>,
): Promise<DaemonFacts> {
  const facts: DaemonFacts = {
    ...base,
    rpcReachable: false,
    height: null,
    latestBlockTime: null,
    catchingUp: null,
    peers: null,
    cometNodeId: null,
    consensusAddress: null,
    votingPower: null,
    moniker: null,
    version: null,
    latestBlockHash: null,
  };
  if (!base.running) return facts;
  try {
    const s = await rpc.status();
    facts.rpcReachable = true;
    facts.height = Number(s.sync_info.latest_block_height);
    const blockTime = Date.parse(s.sync_info.latest_block_time);
    facts.latestBlockTime = blockTime > 0 ? blockTime : null; // genesis reports 0001-01-01
    facts.catchingUp = s.sync_info.catching_up;
    // Empty before the first block (and with an empty store).
    const hash = s.sync_info.latest_block_hash?.toUpperCase() ?? '';
    facts.latestBlockHash = /^[0-9A-F]{64}$/.test(hash) ? hash : null;
    facts.cometNodeId = /^[0-9a-f]{40}$/.test(s.node_info.id) ? s.node_info.id : null;
    const addr = s.validator_info?.address?.toUpperCase();
    facts.consensusAddress = addr && /^[0-9A-F]{40}$/.test(addr) ? addr : null;
    facts.votingPower =
      s.validator_info?.voting_power !== undefined ? String(s.validator_info.voting_power) : null;
    facts.moniker = s.node_info.moniker?.slice(0, 128) ?? null;
    // The running binary's own version (abci_info), which changes with an upgrade's new binary;
    // status' node_info.version is CometBFT's.
    const [version, peers] = await Promise.all([
      rpc.appVersion().catch(() => null),
      rpc.peers().catch(() => null),
    ]);
    facts.version = version?.slice(0, 64) ?? null;
    facts.peers = peers;
  } catch {
    // rpcReachable stays false
  }
  return facts;
}

/** Whether `address` signed each of the last `n` commits up to `height`, and the network's signed share. */
export async function collectCommits(
  rpc: CometRpc,
  height: number,
  n: number,
  address: string | null,
): Promise<CommitFacts> {
  const heights: number[] = [];
  for (let h = height; h > Math.max(0, height - n); h--) heights.push(h);
  const commits = await Promise.all(heights.map((h) => rpc.commit(h).catch(() => null)));
  const recentCommits = commits
    .filter((c) => c !== null)
    .map((c) => ({ height: c.height, signed: address ? c.signers.has(address) : false, at: c.time || 0 }));
  let networkSignedShare: number | null = null;
  const latest = commits[0];
  if (latest) {
    networkSignedShare = await rpc
      .validators(latest.height)
      .then((powers) => signedShare(latest, powers))
      .catch(() => null);
  }
  return { recentCommits, networkSignedShare };
}

/** A signature is fresh when it is in the latest `fresh` commits and the chain (as our node sees it) is not stalled. */
export function hasFreshSignature(
  commits: CommitFacts['recentCommits'],
  fresh: number,
  stalled: boolean,
): boolean {
  if (stalled) return false;
  return [...commits]
    .sort((a, b) => b.height - a.height)
    .slice(0, fresh)
    .some((c) => c.signed);
}
