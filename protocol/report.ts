import * as z from 'zod';
import { ChainId, Coin, CometNodeId, EpochMs, NodeId, Role, VoteOption } from './common.js';
import { ActionResult } from './actions.js';
import { BlockHash, BootstrapFacts, RpcServerUrl } from './state-sync.js';

const Height = z.number().int().nonnegative();
const HexAddress = z.string().regex(/^[0-9A-F]{40}$/, 'use the 40-hex-character uppercase consensus address');

export const DaemonFacts = z.strictObject({
  /** Supervisor's view: is the daemon process up. */
  running: z.boolean(),
  /** The supervisor's intent: `stopped` means Beam keeps it down on purpose. */
  desired: z.enum(['running', 'stopped']),
  /** Restarts after crashes since the pilot started. */
  restarts: z.number().int().nonnegative(),
  /** Whether the daemon's RPC answered this round. */
  rpcReachable: z.boolean(),
  height: Height.nullable(),
  latestBlockTime: EpochMs.nullable(),
  catchingUp: z.boolean().nullable(),
  peers: z.number().int().nonnegative().nullable(),
  cometNodeId: CometNodeId.nullable(),
  /** The consensus address of the key the daemon runs with, from `status.validator_info`. */
  consensusAddress: HexAddress.nullable(),
  votingPower: z.string().regex(/^\d+$/).nullable(),
  moniker: z.string().max(128).nullable(),
  version: z.string().max(64).nullable(),
  /** The hash of the block at `height` (/status `latest_block_hash`): a state-sync trust. Absent from older pilots. */
  latestBlockHash: BlockHash.nullable().optional(),
  /** Where the fleet's other nodes reach this node's RPC for state sync (`daemon.state_sync_rpc_url`); null: it serves none. */
  stateSyncRpcUrl: RpcServerUrl.nullable().optional(),
  /** app.toml `[state-sync] snapshot-interval`: above 0, the node offers snapshots to its p2p peers. */
  snapshotInterval: z.number().int().nonnegative().nullable().optional(),
});
export type DaemonFacts = z.infer<typeof DaemonFacts>;

/** Whether the validator's key signed each of the latest commits, as this node sees the chain. */
export const CommitSignature = z.strictObject({ height: Height, signed: z.boolean(), at: EpochMs });

export const ProposalFact = z.strictObject({
  id: z.string().regex(/^\d+$/),
  title: z.string().max(512),
  summary: z.string().max(4000),
  status: z.enum(['deposit', 'voting', 'passed', 'rejected', 'failed', 'unknown']),
  votingStart: EpochMs.nullable(),
  votingEnd: EpochMs.nullable(),
  /** Our vote on chain; `null` = known not voted. Absent when the read failed: never "not voted". */
  ourVote: VoteOption.nullable().optional(),
});
export type ProposalFact = z.infer<typeof ProposalFact>;

export const ChainFacts = z.strictObject({
  /** The validator's consensus address this pilot watches for (the shared validator key). */
  validatorAddress: HexAddress.nullable(),
  /** The operator (valoper) address of the watched validator, when configured. */
  operatorAddress: z.string().max(128).nullable(),
  recentCommits: z.array(CommitSignature).max(100),
  signingInfo: z
    .strictObject({
      missedBlocksCounter: z.number().int().nonnegative(),
      signedBlocksWindow: z.number().int().positive().nullable(),
      minSignedPerWindow: z.number().min(0).max(1).nullable(),
      jailedUntil: EpochMs.nullable(),
      tombstoned: z.boolean(),
    })
    .nullable(),
  validator: z
    .strictObject({
      jailed: z.boolean(),
      status: z.enum(['bonded', 'unbonding', 'unbonded', 'unspecified']),
      tokens: z.string().regex(/^\d+$/),
    })
    .nullable(),
  /** Share of the active set's voting power that signed the latest commit (tells a solo miss from a stall). */
  networkSignedShare: z.number().min(0).max(1).nullable(),
  balances: z.array(Coin).max(50),
  rewards: z.array(Coin).max(50),
  commission: z.array(Coin).max(50),
  proposals: z.array(ProposalFact).max(200),
  /** Authz grants the hot key holds from the validator account, by message type URL, with expiry. */
  grants: z
    .array(z.strictObject({ msgTypeUrl: z.string().max(200), expiresAt: EpochMs.nullable() }))
    .max(50)
    .nullable(),
  /** Problems reading chain facts, one line each (e.g. "gov v1 unavailable, used v1beta1"). */
  errors: z.array(z.string().max(500)).max(20),
});
export type ChainFacts = z.infer<typeof ChainFacts>;

export const HostFacts = z.strictObject({
  diskFreeBytes: z.number().nonnegative(),
  diskTotalBytes: z.number().nonnegative(),
  memAvailableBytes: z.number().nonnegative(),
  memTotalBytes: z.number().nonnegative(),
  load1: z.number().nonnegative(),
  cpus: z.number().int().positive(),
});
export type HostFacts = z.infer<typeof HostFacts>;

export const SocketFacts = z.strictObject({
  p2pPort: z.number().int().min(1).max(65535),
  /** Inbound TCP connections on the p2p port by kernel state (ESTABLISHED, SYN_RECV, ...). */
  inboundByState: z.record(z.string().max(16), z.number().int().nonnegative()),
  inboundTotal: z.number().int().nonnegative(),
  /** Distinct remote addresses among inbound connections. */
  distinctRemotes: z.number().int().nonnegative(),
  /** The pilot's own verdict against its configured thresholds. */
  flooded: z.boolean(),
});
export type SocketFacts = z.infer<typeof SocketFacts>;

/** A signer's high-water mark: the last height, round and step it signed (CometBFT FilePV's). */
export const SignMark = z.strictObject({
  height: z.number().int().nonnegative(),
  round: z.number().int().nonnegative(),
  /** 1 proposal, 2 prevote, 3 precommit (0 before the first signature at this height). */
  step: z.number().int().min(0).max(3),
});
export type SignMark = z.infer<typeof SignMark>;

export const KeyMode = z.enum(['signer', 'file', 'external']);
export type KeyMode = z.infer<typeof KeyMode>;

export const KeyCustody = z.strictObject({
  /**
   * How this node signs: `signer` (the pilot is the daemon's remote signer), `file` (the key is
   * copied into the daemon home on promote), `external` (Horcrux, TMKMS: Beam only watches).
   */
  mode: KeyMode.default('file'),
  /**
   * Whether this node signs for the validator: in file mode, the daemon home holds the real key; in
   * signer mode, the pilot was promoted and not demoted since (it signs while its lease is valid).
   */
  holdsValidatorKey: z.boolean(),
  /** Highest lease epoch this pilot has seen (persisted on disk). */
  highestEpoch: z.number().int().nonnegative(),
  /** Lease expiry the pilot is fencing against, by its own clock, if it holds the key. */
  leaseExpiresAt: EpochMs.nullable(),
  /** The pilot fenced itself (stopped signing) since the last report. */
  fenced: z.boolean(),
  /** Signer mode: the pilot's high-water mark for the validator key. */
  signMark: SignMark.nullable().default(null),
  /** Signer mode: whether the daemon's privval connection is up. */
  signerConnected: z.boolean().nullable().default(null),
});
export type KeyCustody = z.infer<typeof KeyCustody>;

const UpgradeName = z.string().min(1).max(128);

/** A chain upgrade as x/upgrade and cosmovisor name it. */
export const UpgradePlanFact = z.strictObject({
  name: UpgradeName,
  height: z.number().int().positive(),
  info: z.string().max(2000),
});
export type UpgradePlanFact = z.infer<typeof UpgradePlanFact>;

/** The node through chain upgrades: what runs, what is scheduled, whether it is ready. */
export const UpgradeFacts = z.strictObject({
  /** The daemon runs under cosmovisor (its command, or the systemd unit it is started by). */
  cosmovisor: z.boolean(),
  /** x/upgrade's pending plan (`Query/CurrentPlan`); null when none is scheduled or the read failed. */
  plan: UpgradePlanFact.nullable(),
  /**
   * Whether the pending plan's binary is in place: `cosmovisor/upgrades/<name>/bin/<daemon>` exists
   * and is executable. Null without a plan, or when the node is not run through cosmovisor.
   */
  staged: z.boolean().nullable(),
  /**
   * The node stopped at an upgrade's height and waits for the new binary: `data/upgrade-info.json`
   * names an upgrade above the node's latest block.
   */
  halted: UpgradePlanFact.nullable(),
});
export type UpgradeFacts = z.infer<typeof UpgradeFacts>;

/** A maintenance window on the node: the pilot leaves the daemon as the operator puts it. */
export const MaintenanceFact = z.strictObject({
  until: EpochMs,
  /** Who set it: the node's operator (`beam-pilot maintenance on`) or Beam (from chat). */
  by: z.enum(['node', 'commander']),
  reason: z.string().max(200),
});
export type MaintenanceFact = z.infer<typeof MaintenanceFact>;

export const Report = z.strictObject({
  nodeId: NodeId,
  /** Strictly increasing per node across pilot restarts (persisted); the commander drops anything not above the last. */
  seq: z.number().int().positive(),
  sentAt: EpochMs,
  pilotVersion: z.string().max(32),
  role: Role,
  chainId: ChainId,
  daemon: DaemonFacts,
  chain: ChainFacts.nullable(),
  host: HostFacts,
  sockets: SocketFacts.nullable(),
  custody: KeyCustody.nullable(),
  /** Null from a pilot that does not know (older releases). */
  upgrade: UpgradeFacts.nullable().default(null),
  /** Set while the node is in a maintenance window (its until is in the pilot's clock). */
  maintenance: MaintenanceFact.nullable().default(null),
  /** A node that started with an empty block store and state-syncs (`[bootstrap] state_sync`); else null. */
  bootstrap: BootstrapFacts.nullable().default(null),
  /** Config version the node's config.toml is at (last applied). */
  configVersion: z.string().max(64).nullable(),
  /** Results of actions finished since the last accepted report; re-sent until acknowledged. */
  results: z.array(ActionResult).max(100),
});
export type Report = z.infer<typeof Report>;
