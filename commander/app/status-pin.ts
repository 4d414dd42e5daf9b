/**
 * The pinned status message (`status pin`): the pin in its own item, and the tick's edit of the
 * message in place when the fleet changed (alerting/status-pin.ts decides when).
 */
import { KEYS, VersionConflict, withRetry } from '../adapters/store/store.js';
import { STATUS_PIN_SUBJECT, type StatusPin, pinEdit, statusFingerprint } from '../alerting/status-pin.js';
import type { FleetStatus, OperationResult } from '../chatops/ports.js';
import { statusMessage } from '../chatops/render.js';
import { toChatStatus } from './chat-status.js';
import { computeFleetStatus } from './commander-app.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { failoverOverview } from './failover-ops.js';

interface PinItem {
  pin: StatusPin | null;
}

async function loadPin(deps: CommanderDeps) {
  const item = await deps.store.get<PinItem>(KEYS.statusPin());
  return { pin: item?.value.pin ?? null, version: item?.version ?? null };
}

async function savePin(deps: CommanderDeps, pin: StatusPin | null, version: number | null) {
  await deps.store.put(KEYS.statusPin(), 'status-pin', { pin } satisfies PinItem, version);
}

async function currentStatus(deps: CommanderDeps): Promise<FleetStatus> {
  const [status, overview] = await Promise.all([computeFleetStatus(deps), failoverOverview(deps)]);
  return toChatStatus(status, overview, deps.settings.reportIntervalMs);
}

/** Pins the status about to be posted (it shows `status`); returns the subject to post it under. */
export async function pinStatus(
  deps: CommanderDeps,
  actor: Actor,
  status: FleetStatus,
): Promise<{ subject: string; pinnedBy: string }> {
  const now = deps.now();
  const by = actorLabel(actor);
  const pin: StatusPin = {
    by,
    at: now,
    shown: statusFingerprint(status),
    editedAt: now,
    height: status.height ?? null,
  };
  await withRetry(async () => savePin(deps, pin, (await loadPin(deps)).version));
  await deps.store.appendAudit({
    at: now,
    actor: by,
    action: 'status.pin',
    target: null,
    outcome: 'ok',
    detail: null,
  });
  return { subject: STATUS_PIN_SUBJECT, pinnedBy: by };
}

/** Stops editing the pinned message; it says so one last time. */
export async function unpinStatus(deps: CommanderDeps, actor: Actor): Promise<OperationResult> {
  const now = deps.now();
  const by = actorLabel(actor);
  const was = await withRetry(async () => {
    const { pin, version } = await loadPin(deps);
    if (pin) await savePin(deps, null, version);
    return pin;
  });
  if (!was) return { accepted: false, summary: 'No status message is pinned.' };
  await deps.store.appendAudit({
    at: now,
    actor: by,
    action: 'status.unpin',
    target: null,
    outcome: 'ok',
    detail: null,
  });
  const last = statusMessage(await currentStatus(deps));
  await deps.chat.edit(STATUS_PIN_SUBJECT, { ...last, context: `unpinned by ${by}: no longer edited` });
  return { accepted: true, summary: 'The pinned status message is no longer edited.' };
}

/** The tick's share: edits the pinned message when the fleet changed. A concurrent (un)pin wins. */
export async function refreshStatusPin(deps: CommanderDeps): Promise<void> {
  const { pin, version } = await loadPin(deps);
  if (!pin) return;
  const status = await currentStatus(deps);
  const next = pinEdit(pin, status, deps.settings.alerts.statusRefreshMs, deps.now());
  if (!next.edit) return;
  try {
    await savePin(deps, next.pin, version);
  } catch (error) {
    if (error instanceof VersionConflict) return;
    throw error;
  }
  await deps.chat.edit(STATUS_PIN_SUBJECT, statusMessage(status, pin.by));
}
