import type { ChatMessage, Severity } from '../../bots/model.js';
import type { Action, DesiredConfig } from '../../protocol/index.js';
import type { AuditEntry } from '../adapters/store/store.js';
import type { CloudErrorKind } from '../adapters/ec2/port.js';
import { type ReplacementOp, type RotationOp, type SentryOp, opSubject } from './state.js';

/** A cloud call the executor performs (after the state is persisted); its outcome comes back as an event. */
export type CloudRequest = {
  kind: 'rotate' | 'terminate';
  opId: string;
  /** The operation's attempt number: outcomes of earlier attempts are ignored. */
  attempt: number;
  node: string;
  instanceId: string;
};

export type CloudOutcome =
  | {
      kind: 'rotate';
      opId: string;
      attempt: number;
      ok: true;
      publicIp: string;
      allocationId: string;
      previousPublicIp: string | null;
      released: string[];
      foreignAllocationId: string | null;
    }
  | { kind: 'terminate'; opId: string; attempt: number; ok: true; released: string[] }
  | {
      kind: 'rotate' | 'terminate';
      opId: string;
      attempt: number;
      ok: false;
      error: { kind: CloudErrorKind; message: string; retryable: boolean };
    };

export type SentryEffect =
  /** Queue on the node (registry `queueAction`); the pilot gets it with its next reply. */
  | { type: 'action'; nodeId: string; action: Action }
  /** Set the node's desired config (the file the daemon reads at its next start). */
  | { type: 'desired-config'; nodeId: string; config: DesiredConfig }
  /** The sentry's public address changed: record it in the registry and announce it. */
  | { type: 'public-address'; nodeId: string; address: string; previous: string | null }
  /** The sentry's instance is terminated: drop the node (and its secret) from the registry. */
  | { type: 'remove-node'; nodeId: string }
  | { type: 'cloud'; request: CloudRequest }
  /** Post (first message of the operation) or update in place the message of this subject. */
  | { type: 'chat'; subject: string; mode: 'post' | 'update'; message: ChatMessage }
  | { type: 'alert'; key: string; severity: Severity; title: string; text: string; resolved: boolean }
  | { type: 'audit'; entry: AuditEntry };

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const ROTATION_TITLES: Record<RotationOp['phase'], (op: RotationOp) => string> = {
  stopping: (op) => `Rotating the IP of ${op.node}: stopping its daemon`,
  rotating: (op) => `Rotating the IP of ${op.node}: moving to a new Elastic IP`,
  starting: (op) => `Rotating the IP of ${op.node}: starting at ${op.newAddress ?? 'its new address'}`,
  done: (op) => `${op.node} has a new public address: ${op.newAddress ?? '(unknown)'}`,
  failed: (op) => `IP rotation of ${op.node} failed`,
};

const REPLACEMENT_TITLES: Record<ReplacementOp['phase'], (op: ReplacementOp) => string> = {
  terminating: (op) => `Replacing ${op.node}: terminating its instance`,
  'awaiting-replacement': (op) => `Replacing ${op.node}: waiting for the new sentry to enroll`,
  done: (op) => `${op.node} replaced by ${op.replacement ?? 'a new sentry'}`,
  failed: (op) => `Replacement of ${op.node} failed`,
};

function severityOf(op: SentryOp): Severity {
  if (op.phase === 'done') return 'ok';
  return op.phase === 'failed' ? 'critical' : 'warning';
}

export function opMessage(op: SentryOp): ChatMessage {
  const fields = [
    { label: 'Sentry', value: op.node },
    { label: 'Instance', value: op.instanceId },
  ];
  if (op.kind === 'rotation') {
    fields.push(
      { label: 'Old address', value: op.previousAddress ?? '(unknown)' },
      { label: 'New address', value: op.newAddress ?? '(pending)' },
    );
  } else if (op.replacement) {
    fields.push({ label: 'Replacement', value: op.replacement });
  }
  const lines = [op.reason];
  if (op.failure) lines.push(`Failed: ${op.failure}`);
  else if (op.lastError) lines.push(`Last error (retrying, attempt ${op.attempts}): ${op.lastError}`);
  if (op.kind === 'rotation' && op.phase === 'failed') {
    lines.push('The daemon is started again with its old address.');
  }
  const title = op.kind === 'rotation' ? ROTATION_TITLES[op.phase](op) : REPLACEMENT_TITLES[op.phase](op);
  return {
    title,
    severity: severityOf(op),
    text: lines.join('\n'),
    fields,
    context: `${op.id} · started ${iso(op.startedAt)} by ${op.requestedBy}`,
  };
}

export function chatEffect(op: SentryOp, mode: 'post' | 'update'): SentryEffect {
  return { type: 'chat', subject: opSubject(op.node, op.kind), mode, message: opMessage(op) };
}
