/**
 * Maintenance windows from chat, pure: what `maintenance <node> <duration|off>` does to the node
 * record (the window, kept so alerts wait at once, and the `maintenance` action for its pilot) and
 * how the pilot's answer is told. The glue is maintenance-ops.ts.
 */
import type { ChatMessage } from '../../bots/model.js';
import type { ActionResult } from '../../protocol/index.js';
import { fmtDuration } from '../domain/health.js';
import {
  type MaintenanceWindow,
  type NodeRecord,
  maintenanceUntil,
  queueAction,
} from '../domain/registry.js';

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface MaintenanceRequest {
  /** The window's end, or null to end it now. */
  until: number | null;
  reason: string;
  by: string;
  now: number;
}

/** The node with the window recorded and its action queued (replacing one not sent yet), or why not. */
export function withMaintenance(node: NodeRecord, request: MaintenanceRequest): NodeRecord | string {
  if (node.status !== 'approved') return `${node.id} is ${node.status}, not in the fleet`;
  if (request.until === null && maintenanceUntil(node, request.now) === null)
    return `${node.id} is not in maintenance`;
  const actionId = `maint-${node.id}-${request.now.toString(36)}`;
  const window: MaintenanceWindow = {
    until: request.until,
    reason: request.reason,
    by: request.by,
    at: request.now,
    actionId,
    told: false,
  };
  return queueAction(
    { ...node, actions: node.actions.filter((a) => a.type !== 'maintenance'), maintenance: window },
    {
      id: actionId,
      issuedAt: request.now,
      type: 'maintenance',
      until: request.until,
      reason: request.reason,
    },
  );
}

/** What chat answers at once. */
export function maintenanceSummary(node: string, request: MaintenanceRequest): string {
  if (request.until === null)
    return `${node}'s maintenance ends: its pilot looks after the daemon again, and its alerts are told.`;
  return (
    `${node} is in maintenance until ${iso(request.until)} (${fmtDuration(request.until - request.now)}): ` +
    'its pilot leaves the daemon as you put it, its alerts wait, and it is no failover target. ' +
    `It ends by itself; \`maintenance ${node} off\` ends it sooner.`
  );
}

/** The pilot's answer, told by editing chat's answer (subject `operation:<action id>`). */
export function renderMaintenanceAnswer(
  node: string,
  window: MaintenanceWindow,
  result: ActionResult,
): ChatMessage {
  const context = `${window.actionId} · requested by ${window.by}${window.reason ? ` · ${window.reason}` : ''}`;
  if (!result.ok) {
    const held =
      window.until === null
        ? ''
        : `\nIts alerts still wait until ${iso(window.until)}, but its pilot restarts a daemon that stops: \`maintenance ${node} off\` ends the window.`;
    return {
      title: `Maintenance of ${node}: its pilot refused`,
      severity: 'warning',
      text: `${result.message ?? 'no detail'}${held}`,
      context,
    };
  }
  return window.until === null
    ? {
        title: `Maintenance of ${node}: ended`,
        severity: 'ok',
        text: 'Its pilot looks after the daemon again.',
        context,
      }
    : {
        title: `Maintenance of ${node}: confirmed by its pilot`,
        severity: 'info',
        text: `Until ${iso(window.until)}: the pilot leaves the daemon as you put it, and its alerts wait.`,
        context,
      };
}
