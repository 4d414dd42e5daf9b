/**
 * A pilot roll-out (`upgrade pilots <version>`): one node at a time, sentries first, then standby
 * validators, the lease holder (the signer) last. Each node gets `upgrade-pilot`; it is done when it
 * reports the new version. A node that refuses, or reports an old version by the timeout, gets
 * `rollback-pilot` to its previous release and the roll-out stops; a node that stops reporting is
 * marked failed and the roll-out stops. Pure: the glue is commander/app/upgrade-ops.ts.
 */
import type { Action, ActionResult, Role } from '../../protocol/index.js';

export type StepPhase = 'waiting' | 'upgrading' | 'done' | 'rolling-back' | 'rolled-back' | 'failed';

export interface UpgradeStep {
  node: string;
  chainId: string;
  role: Role;
  /** Held the signing lease when the roll-out was planned (goes last). */
  signer: boolean;
  /** The version the node ran when its turn came: what a rollback returns to. */
  from: string;
  phase: StepPhase;
  /** When the current phase began. */
  since: number | null;
  /** What happened, for the chat message. */
  note: string | null;
}

export interface PilotUpgrade {
  id: string;
  /** The version rolled out (not `version`: every stored item has that, its write counter). */
  release: string;
  source: string;
  sha256: string;
  requestedBy: string;
  startedAt: number;
  finishedAt: number | null;
  status: 'running' | 'done' | 'halted';
  steps: UpgradeStep[];
}

/** What the roll-out needs to know about one node, from its record. */
export interface NodeFacts {
  pilotVersion: string;
  lastSeen: number | null;
  results: readonly ActionResult[];
}

export interface UpgradeContext {
  now: number;
  timeoutMs: number;
  /** Why no node may start now (a failover moving the lease), or null. */
  paused: string | null;
}

export interface Planned {
  node: string;
  chainId: string;
  role: Role;
  pilotVersion: string;
  signer: boolean;
}

const rank = (n: Planned) => (n.role === 'sentry' ? 0 : n.signer ? 2 : 1);

/** The roll-out's order: sentries, then standby validators, the lease holders last; by name within each. */
export function planUpgrade(
  base: Omit<PilotUpgrade, 'steps' | 'status' | 'finishedAt'>,
  nodes: readonly Planned[],
): PilotUpgrade {
  const steps = [...nodes]
    .sort((a, b) => rank(a) - rank(b) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .map(
      (n): UpgradeStep => ({
        node: n.node,
        chainId: n.chainId,
        role: n.role,
        signer: n.signer,
        from: n.pilotVersion,
        phase: 'waiting',
        since: null,
        note: null,
      }),
    );
  return { ...base, status: 'running', finishedAt: null, steps };
}

export const upgradeActionId = (u: PilotUpgrade, node: string) => `upgrade-pilot-${u.id}-${node}`;
export const rollbackActionId = (u: PilotUpgrade, node: string) => `rollback-pilot-${u.id}-${node}`;

/** The action a step in progress waits on. */
export function stepAction(u: PilotUpgrade, step: UpgradeStep, issuedAt: number): Action | null {
  if (step.phase === 'upgrading') {
    return {
      id: upgradeActionId(u, step.node),
      issuedAt,
      type: 'upgrade-pilot',
      version: u.release,
      source: u.source,
      sha256: u.sha256,
    };
  }
  if (step.phase === 'rolling-back') {
    return { id: rollbackActionId(u, step.node), issuedAt, type: 'rollback-pilot', version: step.from };
  }
  return null;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/**
 * Moves the roll-out on by what the nodes reported. Returns the new roll-out and the steps whose
 * action must be (re)queued: the one just started, or one in progress whose action is neither
 * queued nor answered (the glue skips those already there).
 */
export function advanceUpgrade(
  u: PilotUpgrade,
  facts: ReadonlyMap<string, NodeFacts>,
  ctx: UpgradeContext,
): { upgrade: PilotUpgrade; due: UpgradeStep[] } {
  if (u.status !== 'running') return { upgrade: u, due: [] };
  const steps = u.steps.map((s) => ({ ...s }));
  const next: PilotUpgrade = { ...u, steps };
  const halt = () => {
    next.status = 'halted';
    next.finishedAt = ctx.now;
  };
  const enter = (step: UpgradeStep, phase: StepPhase, note: string | null) => {
    step.phase = phase;
    step.since = ctx.now;
    step.note = note;
  };
  for (const step of steps) {
    if (step.phase === 'done') continue;
    const f = facts.get(step.node);
    if (!f) {
      enter(step, 'failed', 'no longer in the fleet');
      halt();
      return { upgrade: next, due: [] };
    }
    const result = (id: string) => f.results.find((r) => r.id === id);
    const heardSince = f.lastSeen !== null && step.since !== null && f.lastSeen > step.since;
    const late = step.since !== null && ctx.now - step.since > ctx.timeoutMs;
    switch (step.phase) {
      case 'waiting':
        if (f.pilotVersion === u.release) {
          enter(step, 'done', `already on ${u.release}`);
          continue;
        }
        if (ctx.paused) return { upgrade: next, due: [] };
        step.from = f.pilotVersion;
        enter(step, 'upgrading', null);
        return { upgrade: next, due: [step] };
      case 'upgrading': {
        const r = result(upgradeActionId(u, step.node));
        // It ran another version when its turn came: reporting this one, it has restarted into it.
        if (f.pilotVersion === u.release) {
          enter(step, 'done', `${step.from} → ${u.release}`);
          continue;
        }
        const why =
          r && !r.ok
            ? `upgrade failed: ${r.message ?? 'no reason given'}`
            : r?.ok
              ? // The old pilot exits before it can report the result: the report that carried it came from the restarted one.
                `restarted on ${f.pilotVersion}, not ${u.release} (does the service run <install_dir>/current?)`
              : late && heardSince
                ? `still on ${f.pilotVersion} ${seconds(ctx.timeoutMs)} after the upgrade`
                : null;
        if (why) {
          enter(step, 'rolling-back', why);
          return { upgrade: next, due: [step] };
        }
        if (late) {
          enter(
            step,
            'failed',
            `silent for ${seconds(ctx.timeoutMs)} since its upgrade: check the node (journalctl -u beam-pilot)`,
          );
          halt();
          return { upgrade: next, due: [] };
        }
        return { upgrade: next, due: r ? [] : [step] };
      }
      case 'rolling-back': {
        const r = result(rollbackActionId(u, step.node));
        if (r?.ok && f.pilotVersion === step.from) {
          enter(step, 'rolled-back', `${step.note}; back on ${step.from}`);
          halt();
        } else if (r && !r.ok) {
          enter(step, 'failed', `${step.note}; rollback failed: ${r.message ?? 'no reason given'}`);
          halt();
        } else if (late) {
          enter(
            step,
            'failed',
            `${step.note}; not back on ${step.from} ${seconds(ctx.timeoutMs)} after the rollback`,
          );
          halt();
        }
        return { upgrade: next, due: next.status === 'running' && !r ? [step] : [] };
      }
      default:
        halt();
        return { upgrade: next, due: [] };
    }
  }
  next.status = 'done';
  next.finishedAt = ctx.now;
  return { upgrade: next, due: [] };
}

/** The step a running roll-out works on (a node restarting its pilot), if any. */
export function activeStep(u: PilotUpgrade): UpgradeStep | null {
  if (u.status !== 'running') return null;
  return u.steps.find((s) => s.phase === 'upgrading' || s.phase === 'rolling-back') ?? null;
}
