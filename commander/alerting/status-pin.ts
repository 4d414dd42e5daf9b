/**
 * The pinned fleet status (`status pin`): one message, edited in place as the fleet changes instead
 * of new ones. A change people care about (signer, lease epoch, misses, open alerts, a node's state)
 * edits it at once; height alone at most every `statusRefreshMs`.
 */
import type { FleetStatus } from '../chatops/ports.js';

export const STATUS_PIN_SUBJECT = 'status:pinned';

export interface StatusPin {
  by: string;
  at: number;
  /** What the message showed at its last edit (`statusFingerprint`), and when. */
  shown: string | null;
  editedAt: number;
  height: number | null;
}

/** Everything but the heights, lags and peer counts that move with every block. */
export function statusFingerprint(status: FleetStatus): string {
  return JSON.stringify([
    status.chainId,
    status.signer ?? null,
    status.leaseEpoch ?? null,
    status.missedBlocks.missed,
    status.openAlerts,
    status.failoverMode,
    status.nodes.map((n) => [n.name, n.role, n.state, n.signing ?? false]),
  ]);
}

/** Whether the pinned message is due an edit now; the pin as it is after that edit. */
export function pinEdit(
  pin: StatusPin,
  status: FleetStatus,
  refreshMs: number,
  now: number,
): { edit: boolean; pin: StatusPin } {
  const shown = statusFingerprint(status);
  const height = status.height ?? null;
  const changed = shown !== pin.shown;
  const moved = height !== pin.height && now - pin.editedAt >= refreshMs;
  if (!changed && !moved) return { edit: false, pin };
  return { edit: true, pin: { ...pin, shown, height, editedAt: now } };
}
