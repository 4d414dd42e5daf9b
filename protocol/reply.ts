import * as z from 'zod';
import { EpochMs, NodeId, ChainId, Role, CometNodeId } from './common.js';
import { Action } from './actions.js';
import { LeaseGrant } from './lease.js';
import { P2pAddress } from './p2p.js';

/** Actions one reply carries; the rest follow in later replies. */
export const MAX_REPLY_ACTIONS = 50;

/** A reply as the commander must send it: every action valid (it drops and audits any other). */
export const ReportReply = z.strictObject({
  /** Actions to execute, each at most once; re-sent until its result arrives. */
  actions: z.array(Action).max(MAX_REPLY_ACTIONS),
  lease: LeaseGrant.nullable(),
  /** Config version the node should be at; an apply-config action comes with a new one. */
  configVersion: z.string().max(64).nullable(),
  nextReportMs: z.number().int().min(500).max(300_000),
  commanderTime: EpochMs,
  /** When the commander's scheduled tick last ran: pilots raise a dead-man alert when it is stale. */
  lastTickAt: EpochMs.nullable(),
  /** Ids of results the commander stored; the pilot stops re-sending them. */
  ackedResults: z.array(z.string().max(128)).max(100),
});
export type ReportReply = z.infer<typeof ReportReply>;

/**
 * A reply as the pilot reads it: the envelope strictly, the actions as they came, each parsed on its
 * own (`parseAction`), so that one bad action is refused alone and the lease grant still applies.
 */
export const ReportReplyEnvelope = ReportReply.extend({
  actions: z.array(z.unknown()).max(MAX_REPLY_ACTIONS),
});
export type ReportReplyEnvelope = z.infer<typeof ReportReplyEnvelope>;

/**
 * An EC2 instance identity document as the instance metadata service (IMDSv2) served it, with its
 * base64 RSA-SHA256 `signature` (`/latest/dynamic/instance-identity/signature`). The document is sent
 * as the exact text IMDS returned: the signature covers those bytes.
 */
export const InstanceIdentity = z.strictObject({
  document: z.string().min(2).max(4096),
  signature: z
    .string()
    .max(2048)
    .regex(/^[A-Za-z0-9+/=\s]+$/, 'send the base64 signature exactly as IMDS returned it'),
});
export type InstanceIdentity = z.infer<typeof InstanceIdentity>;

export const EnrollRequest = z.strictObject({
  enrollmentToken: z.string().min(16).max(256),
  name: NodeId,
  role: Role,
  chainId: ChainId,
  pilotVersion: z.string().max(32),
  /** Random value the pilot keeps; only a caller presenting it again can collect the node secret. */
  claim: z.string().regex(/^[0-9a-f]{64}$/, 'use 64 lowercase hex characters (32 random bytes)'),
  cometNodeId: CometNodeId.nullable(),
  /** host:port other nodes dial for p2p (private address for validators, public for sentries). */
  p2pAddress: P2pAddress.nullable(),
  /**
   * Cloud instance id, for sentries that Beam may rotate or replace. A claim only: the commander
   * trusts an instance id (auto-approval, binding) only from a verified `instanceIdentity`.
   */
  instanceId: z.string().max(64).nullable(),
  /** Proof of the EC2 instance the pilot runs on; without it a node is never auto-approved. */
  instanceIdentity: InstanceIdentity.optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollReply = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('pending'), nodeId: NodeId, retryAfterMs: z.number().int().positive() }),
  z.strictObject({
    status: z.literal('approved'),
    nodeId: NodeId,
    /** 32-byte hex HMAC key for this node only. */
    secret: z.string().regex(/^[0-9a-f]{64}$/),
  }),
]);
export type EnrollReply = z.infer<typeof EnrollReply>;

/** Every 4xx/5xx body the commander sends. */
export const ErrorReply = z.strictObject({ error: z.string(), detail: z.string().optional() });
export type ErrorReply = z.infer<typeof ErrorReply>;
