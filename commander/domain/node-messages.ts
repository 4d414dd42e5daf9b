import type { ChatMessage } from '../../bots/model.js';
import type { ChatAction } from '../notify/notifier.js';
import type { NodeRecord } from './registry.js';

/** The chat subject of a node's enrollment: posted when it enrolls, updated when someone decides. */
export function enrollmentSubject(nodeId: string): string {
  return `enroll:${nodeId}`;
}

/** The buttons offered with a pending enrollment (commands of the chat language; chatops checks roles). */
export function enrollmentActions(node: NodeRecord): ChatAction[] {
  if (node.status !== 'pending') return [];
  return [
    { label: 'Approve', command: `approve ${node.id}`, style: 'primary' },
    { label: 'Reject', command: `reject ${node.id}`, style: 'danger' },
  ];
}

/** Renders an enrollment; its buttons are `enrollmentActions`. */
export function renderEnrollment(node: NodeRecord): ChatMessage {
  const fields = [
    { label: 'Role', value: node.role },
    { label: 'Chain', value: node.chainId },
    { label: 'P2P address', value: node.p2pAddress ?? 'unknown' },
    {
      label: 'Instance',
      value: node.identity
        ? `${node.identity.instanceId} (proved by its identity document)`
        : node.instanceId
          ? `${node.instanceId} (claimed, not proved: Beam will not rotate or replace it)`
          : 'none',
    },
    { label: 'Pilot', value: node.pilotVersion },
  ];
  if (node.status === 'pending') {
    return {
      title: `Node ${node.id} asks to join`,
      severity: 'warning',
      text: `Approve with \`approve ${node.id}\` or reject with \`reject ${node.id}\`.`,
      fields,
    };
  }
  return {
    title: `Node ${node.id} ${node.status}`,
    severity: node.status === 'approved' ? 'ok' : 'info',
    fields,
    context: `${node.status} by ${node.decidedBy ?? '?'}${node.decidedAt ? ` at ${new Date(node.decidedAt).toISOString()}` : ''}`,
  };
}
