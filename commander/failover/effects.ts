import type { ChatMessage, Severity } from '../../bots/model.js';
import type { Action } from '../../protocol/index.js';
import { type FailoverOp, type FailoverState, failoverSubject } from './state.js';

/** A button the caller must mint an id for; pressing it means `confirm(opId)` or `reject(opId)`. */
export interface ButtonRequest {
  name: 'confirm' | 'reject';
  opId: string;
  label: string;
  style?: 'primary' | 'danger';
}

export type FailoverEffect =
  /** Post (first time for this operation) or update in place the message of this subject. */
  | { type: 'chat'; subject: string; mode: 'post' | 'update'; message: ChatMessage; buttons: ButtonRequest[] }
  | { type: 'audit'; at: number; actor: string; action: string; subject: string; detail: string }
  | { type: 'alert'; key: string; severity: Severity; title: string; text: string; resolved: boolean }
  /** An answer to the person whose request was refused or acknowledged. */
  | { type: 'notice'; text: string }
  /** A key action entered the outbox (informational: replies carry the outbox, see `replyFor`). */
  | { type: 'action'; nodeId: string; action: Action };

export const COMMANDER = 'commander';

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const TITLES: Record<FailoverOp['phase'], (op: FailoverOp) => string> = {
  detected: (op) => `Validator failing: ${op.from ?? 'no holder'}`,
  'awaiting-confirmation': (op) => `Fail over to ${op.to}?`,
  demoting: (op) => `${label(op)}: demoting ${op.from ?? 'the old signer'}`,
  'fencing-wait': (op) =>
    op.from === null
      ? `${label(op)}: waiting until ${op.to} is ready to sign`
      : `${label(op)}: waiting until ${op.from} has fenced itself`,
  promoting: (op) => `${label(op)}: promoting ${op.to}`,
  signing: (op) => `${label(op)}: ${op.to} promoted, waiting for its first signature`,
  done: (op) => `${label(op)} done: ${op.to} is signing`,
  aborted: (op) => `${label(op)} aborted`,
};

function label(op: FailoverOp): string {
  return op.kind === 'switchover' ? 'Switchover' : 'Failover';
}

function severity(op: FailoverOp): Severity {
  if (op.phase === 'done') return 'ok';
  if (op.phase === 'aborted') return op.kind === 'switchover' ? 'warning' : 'info';
  return op.kind === 'switchover' ? 'info' : 'critical';
}

/** The in-place message for an operation in its current phase. */
export function opMessage(state: FailoverState, op: FailoverOp, autoApproveAt: number | null): ChatMessage {
  const fields = [
    { label: 'Validator', value: `${state.validator} on ${state.chainId}` },
    { label: 'From', value: op.from ?? '(none: the first signer)' },
    { label: 'To', value: op.to },
    { label: 'Epoch', value: String(op.epoch) },
  ];
  // Before the validator's first signature there is nothing to miss (genesis, a new key).
  if (op.lastSignedHeight !== null)
    fields.push({ label: 'Missed blocks', value: String(op.missedBlocks ?? op.missedAtStart) });
  const lines = [op.reason];
  if (op.phase === 'fencing-wait') {
    lines.push(
      op.from === null
        ? `No node held the lease, so none has to fence itself: ${op.to} is promoted once it reports a synced daemon and the chain without our signature.`
        : `The lease expires at ${iso(state.lease.expiresAt)}; the move waits for that plus the grace period.`,
    );
  }
  if (op.abortReason) lines.push(`Aborted: ${op.abortReason}`);
  const context = [`${op.id} · started ${iso(op.startedAt)} by ${op.requestedBy}`];
  if (op.confirmedBy) context.push(`confirmed by ${op.confirmedBy}`);
  if (op.phase === 'awaiting-confirmation' && autoApproveAt !== null) {
    context.push(`proceeds on its own at ${iso(autoApproveAt)}`);
  }
  return {
    title: TITLES[op.phase](op),
    severity: severity(op),
    text: lines.join('\n'),
    fields,
    context: context.join(' · '),
  };
}

export function opButtons(op: FailoverOp): ButtonRequest[] {
  if (op.phase !== 'awaiting-confirmation') return [];
  return [
    { name: 'confirm', opId: op.id, label: 'Fail over', style: 'danger' },
    { name: 'reject', opId: op.id, label: 'Not now' },
  ];
}

export function chatEffect(
  state: FailoverState,
  op: FailoverOp,
  mode: 'post' | 'update',
  autoApproveAt: number | null,
): FailoverEffect {
  return {
    type: 'chat',
    subject: failoverSubject(state),
    mode,
    message: opMessage(state, op, autoApproveAt),
    buttons: opButtons(op),
  };
}
