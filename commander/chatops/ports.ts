/**
 * What chatops needs from the rest of the commander, as plain typed data. The commander's application
 * API implements these; tests use in-memory doubles. Every mutating call carries the person who asked
 * (`by`) so that the commander can record it with the operation.
 */
import type { ChatLink, MessageRef, Platform } from '../../bots/model.js';
import type { Role, VoteOption } from '../../protocol/index.js';

export type AccessRole = 'viewer' | 'operator' | 'admin';

/** Who asked, on which platform. */
export interface Actor {
  platform: Platform;
  userId: string;
  name?: string;
}

export interface NodeSummary {
  name: string;
  role: Role;
  /** The commander's view, e.g. `active`, `standby`, `healthy`, `degraded`, `down`, `pending`. */
  state: string;
  height?: number;
  /** Blocks behind the fleet's best height. */
  lag?: number;
  peers?: number;
  /** True for the validator currently holding the signing lease. */
  signing?: boolean;
  /** How old the facts shown are, when its last report is more than one interval late. */
  reportAgeMs?: number;
  /** The end of the node's maintenance window (epoch ms), while one runs. */
  maintenanceUntil?: number;
}

export interface FleetStatus {
  chainId: string;
  height?: number;
  /** The node holding the signing lease, if any. */
  signer?: string;
  leaseEpoch?: number;
  /** Blocks the validator missed among the last `window` blocks. */
  missedBlocks: { missed: number; window: number };
  failoverMode: 'confirm' | 'auto';
  openAlerts: number;
  nodes: NodeSummary[];
}

export interface NodeDetail extends NodeSummary {
  publicIp?: string;
  cometNodeId?: string;
  catchingUp?: boolean;
  /** When the node's pilot last reported (epoch ms). */
  lastReportAt?: number;
  diskFreePercent?: number;
  /** Config versions are content hashes (shown shortened). */
  desiredConfigVersion?: string;
  appliedConfigVersion?: string;
}

export interface NodeConfigView {
  node: string;
  /** The generated config's version (a content hash). */
  version: string;
  /** The config.toml keys the commander manages, as `section.key` → rendered value. */
  settings: Record<string, string>;
}

export interface ProposalView {
  id: string;
  title: string;
  /** End of the voting period (epoch ms). */
  votingEnd: number;
  ourVote?: VoteOption;
  /** Explorer pages of the proposal. */
  links?: ChatLink[];
}

/** What the commander did with a request: started an operation, or refused it (with why). */
export interface OperationResult {
  accepted: boolean;
  /** What happened or why not, one sentence for the chat. */
  summary: string;
  /** The durable operation that carries on; its progress is reported under subject `operation:<id>`. */
  operationId?: string;
}

export interface BondPreview {
  validator: string;
  liquid: string;
  reserve: string;
  wouldDelegate: string;
}

export interface PolicyEntry {
  key: string;
  value: string;
  description?: string;
}

export interface AuditEntry {
  at: number;
  platform: Platform;
  chat: string;
  userId: string;
  /** `command <name>` or `button <id>`, plus the text as typed. */
  action: string;
  allowed: boolean;
  /** Why it was refused, or what it did. */
  reason?: string;
  /** How many requests the entry stands for, when it samples many (refused webhook requests). */
  count?: number;
}

export interface FleetOps {
  fleetStatus(): Promise<FleetStatus>;
  /**
   * Pins the status: the message about to be posted (under `subject`) is edited in place from now
   * on, as the fleet changes, instead of new ones.
   */
  pinStatus(request: { status: FleetStatus; by: Actor }): Promise<{ subject: string; pinnedBy: string }>;
  /** Stops editing the pinned status message. */
  unpinStatus(request: { by: Actor }): Promise<OperationResult>;
  listNodes(): Promise<NodeSummary[]>;
  node(name: string): Promise<NodeDetail | undefined>;
  nodeConfig(name: string): Promise<NodeConfigView | undefined>;
  proposals(): Promise<ProposalView[]>;
  recordVote(request: {
    proposalId: string;
    option: VoteOption;
    memo?: string;
    by: Actor;
  }): Promise<OperationResult>;
  /** Unplanned failover to `to` (or the best standby). */
  requestFailover(request: { to?: string; by: Actor }): Promise<OperationResult>;
  /** Answers a failover the commander asked about (confirm mode): go ahead, or leave things as they are. */
  answerFailover(request: { opId: string; confirm: boolean; by: Actor }): Promise<OperationResult>;
  /** Planned switchover: demote first, then promote the standby. */
  switchover(request: { by: Actor }): Promise<OperationResult>;
  rotateIp(request: { sentry: string; by: Actor }): Promise<OperationResult>;
  replaceSentry(request: { sentry: string; by: Actor }): Promise<OperationResult>;
  restart(request: { node: string; by: Actor }): Promise<OperationResult>;
  /**
   * Starts a maintenance window of `durationMs` on a node (its pilot leaves the daemon alone, its
   * alerts wait), or ends it (null). It ends by itself.
   */
  maintenance(request: {
    node: string;
    durationMs: number | null;
    reason?: string;
    by: Actor;
  }): Promise<OperationResult>;
  /** Unjails a validator (named by a node, its consensus or its valoper address) through a pilot's hot key. */
  unjail(request: { target: string; by: Actor }): Promise<OperationResult>;
  /** Approves (or rejects) a node waiting to join after enrollment. */
  decideNode(request: { node: string; approve: boolean; by: Actor }): Promise<OperationResult>;
  /** Removes a node from the fleet (record, secret, queued actions); its name can enroll again. */
  removeNode(request: { node: string; by: Actor }): Promise<OperationResult>;
  /** Rolls a pilot release out to the fleet, one node at a time (the roll-out's message follows it). */
  upgradePilots(request: { version: string; by: Actor }): Promise<OperationResult>;
  /** Replaces the fleet enrollment token; returns the new one, which is stored only as a hash. */
  rotateEnrollmentToken(request: { by: Actor }): Promise<{ token: string }>;
  /** Stops the auto-vote for one proposal. */
  holdAutoVote(request: { proposalId: string; by: Actor }): Promise<OperationResult>;
  bondPreview(): Promise<BondPreview>;
  bond(request: { by: Actor }): Promise<OperationResult>;
  policy(): Promise<PolicyEntry[]>;
  setPolicy(request: { key: string; value: string; by: Actor }): Promise<OperationResult>;
  /** Mutes an alert key or every alert of a node until `until` (epoch ms). */
  mute(request: { target: string; until: number; by: Actor }): Promise<OperationResult>;
  /** Acknowledges an alert, or every alert of a group (`group:…`, the `Alert` of a message). */
  ack(request: { alert: string; by: Actor }): Promise<OperationResult>;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  /** The newest `limit` entries, newest first. */
  list(limit: number): Promise<AuditEntry[]>;
}

/**
 * What a set of buttons stands for: each choice is a command line run when its button is pressed
 * (re-checked then), or '' for "cancel". Buttons carry `<id>:<choice>`.
 */
export interface StoredInteraction {
  /** Short random id. */
  id: string;
  /** Choice key → command line, e.g. `{ ok: 'failover to val-2', no: '' }`. */
  choices: Record<string, string>;
  /** Confirmations act once: the first accepted press consumes the interaction. */
  actOnce: boolean;
  /** When set, only this person or an admin may press (a confirmation belongs to its requester). */
  restrictedTo?: Actor;
  chat: string;
  createdAt: number;
  expiresAt: number;
}

export interface InteractionStore {
  save(interaction: StoredInteraction): Promise<void>;
  /** The interaction, unless it is unknown, expired (at `now`) or consumed. */
  load(id: string, now: number): Promise<StoredInteraction | undefined>;
  /**
   * Marks it consumed and returns it, atomically: of any number of concurrent calls for one id, exactly
   * one gets the interaction (if unexpired at `now`); the others get undefined.
   */
  consume(id: string, now: number): Promise<StoredInteraction | undefined>;
}

/** Where the message about a subject (an operation, an alert, a proposal) was posted in each chat. */
export interface SubjectRefs {
  get(subject: string, platform: Platform, chat: string): Promise<MessageRef | undefined>;
  set(subject: string, ref: MessageRef): Promise<void>;
}
