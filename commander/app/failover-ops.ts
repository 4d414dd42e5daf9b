/**
 * Failover operations people run from chat or the CLI: failover, switchover, the answer to a
 * failover question, and an overview for status. Each decides through the failover state machine
 * (conditional write, retried on a lost race) and then performs its effects.
 */
import type { OperationResult } from '../chatops/ports.js';
import { type FailoverEvent, type FailoverState, isActive } from '../failover/index.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { decideAndSave, failoverSettingsOf, listFailovers, performFailoverEffects } from './failover.js';

export interface FailoverOverview {
  chainId: string;
  validator: string;
  holder: string | null;
  epoch: number;
  mode: 'confirm' | 'auto';
}

/** Every validator key Beam keeps a lease for. */
export async function failoverOverview(deps: CommanderDeps): Promise<FailoverOverview[]> {
  const mode = failoverSettingsOf(deps.settings).mode;
  return (await listFailovers(deps.store)).map(({ state }) => ({
    chainId: state.chainId,
    validator: state.validator,
    holder: state.lease.holder,
    epoch: state.lease.epoch,
    mode,
  }));
}

/** The validator key a request is about: the one `to` belongs to, or the only one there is. */
async function pickState(
  deps: CommanderDeps,
  to: string | undefined,
): Promise<{ state: FailoverState } | { refused: string }> {
  const all = (await listFailovers(deps.store)).map((s) => s.state);
  if (all.length === 0) return { refused: 'no validator node has reported to Beam yet.' };
  if (to !== undefined) {
    const found = all.filter((s) => s.nodes[to] !== undefined || s.lease.holder === to);
    if (found.length === 1) return { state: found[0]! };
    if (found.length === 0) return { refused: `${to} is not a validator node Beam knows.` };
    return { refused: `${to} reports for several validators; this is not supported.` };
  }
  if (all.length === 1) return { state: all[0]! };
  return {
    refused: `Beam runs ${all.length} validators (${all.map((s) => s.validator).join(', ')}): name the target node.`,
  };
}

function describe(state: FailoverState): string {
  const op = state.op;
  if (!op) return 'no operation';
  return `${op.id}: ${op.from ?? '(none)'} → ${op.to}, ${op.phase}`;
}

async function request(
  deps: CommanderDeps,
  kind: 'failover' | 'switchover',
  to: string | undefined,
  actor: Actor,
): Promise<OperationResult> {
  const label = kind === 'failover' ? 'Failover' : 'Switchover';
  const picked = await pickState(deps, to);
  if ('refused' in picked) {
    await deps.store.appendAudit({
      at: deps.now(),
      actor: actorLabel(actor),
      action: `${kind}.refused`,
      target: to ?? null,
      outcome: 'denied',
      detail: picked.refused,
    });
    return { accepted: false, summary: `${label} refused: ${picked.refused}` };
  }
  const before = picked.state.op?.id ?? null;
  const event: FailoverEvent =
    kind === 'failover'
      ? { type: 'request-failover', actor: actorLabel(actor), ...(to !== undefined ? { to } : {}) }
      : { type: 'request-switchover', actor: actorLabel(actor), ...(to !== undefined ? { to } : {}) };
  const out = await decideAndSave(deps, picked.state, event);
  const notices = await performFailoverEffects(deps, out.effects);
  const op = out.state.op;
  if (op && op.id !== before && op.kind === kind && op.requestedBy === actorLabel(actor)) {
    return { accepted: true, summary: `${label} started (${describe(out.state)}).`, operationId: op.id };
  }
  return { accepted: false, summary: notices.join(' ') || `${label} not started (${describe(out.state)}).` };
}

/** Unplanned failover to `to`, or to the best standby. */
export function requestFailover(
  deps: CommanderDeps,
  req: { to?: string; actor: Actor },
): Promise<OperationResult> {
  return request(deps, 'failover', req.to, req.actor);
}

/** Planned switchover: demote the holder first, then promote `to` (or the best standby). */
export function requestSwitchover(
  deps: CommanderDeps,
  req: { to?: string; actor: Actor },
): Promise<OperationResult> {
  return request(deps, 'switchover', req.to, req.actor);
}

/** [Fail over] (confirm) or [Not now] (decline) on a failover question, or a cancel before the move. */
export async function answerFailover(
  deps: CommanderDeps,
  req: { opId: string; confirm: boolean; actor: Actor },
): Promise<OperationResult> {
  const all = await listFailovers(deps.store);
  const found = all.find((s) => s.state.op?.id === req.opId);
  if (!found) return { accepted: false, summary: `No failover operation ${req.opId}.` };
  const who = actorLabel(req.actor);
  const event: FailoverEvent = req.confirm
    ? { type: 'confirm', opId: req.opId, actor: who }
    : { type: 'reject', opId: req.opId, actor: who };
  const out = await decideAndSave(deps, found.state, event);
  const notices = await performFailoverEffects(deps, out.effects);
  if (notices.length > 0) return { accepted: false, summary: notices.join(' '), operationId: req.opId };
  const op = out.state.op;
  const phase = op && op.id === req.opId ? op.phase : 'unknown';
  return {
    accepted: true,
    summary: req.confirm
      ? `Failover ${req.opId} confirmed by ${who}: ${isActive(op) ? `now ${phase}` : phase}.`
      : `Failover ${req.opId} declined by ${who}: Beam will not ask again for a while.`,
    operationId: req.opId,
  };
}
