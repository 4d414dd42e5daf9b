import { chainHalted, highestKnownHeight, isFresh } from './facts.js';
import type { FailoverSettings } from './settings.js';
import type { ChainPause, FailoverState, UpgradeRef } from './state.js';

/**
 * The upgrade the chain stops at now, as a fresh node reports it: the node halted for it, or
 * x/upgrade's plan is for the very next height. Only heights nobody has seen committed: a node left
 * behind on the old binary after the chain moved on is that node's problem, not a stop of the chain.
 */
export function upgradeAt(state: FailoverState, now: number, s: FailoverSettings): UpgradeRef | null {
  const known = highestKnownHeight(state);
  const fresh = Object.values(state.nodes)
    .filter((n) => isFresh(n, now, s))
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  const halted = fresh.map((n) => n.upgradeHalted).find((u) => u != null && u.height > known);
  const planned = fresh.map((n) => n.upgradePlan).find((u) => u != null && u.height === known + 1);
  return halted ?? planned ?? null;
}

/**
 * The pause after this event's facts (the same object when nothing changed). It opens when an
 * upgrade is due (`upgradeAt`) or the chain halted, and learns the upgrade's name if nodes report it
 * later. It resumes only on positive evidence, a node showing the pause's height committed: a report
 * without facts (a daemon restarting into its new binary answers nothing) never ends it. It ends once
 * the holder's node shows the validator's signature at that height or above, or `startupGraceMs`
 * after the resumption: from then the holder answers to the ordinary rules, so once the chain moves
 * a pause delays a failover by that grace at most.
 */
export function nextPause(state: FailoverState, now: number, s: FailoverSettings): ChainPause | null {
  const pause = state.pause ?? null;
  const known = highestKnownHeight(state);
  if (pause === null) return opening(state, known, now, s);
  if (pause.jailed && pause.resumedAt === null) {
    // Resumed on positive evidence only: fresh nodes read the validator back in the set. From the
    // next height on, the holder's signature ends the pause.
    const back = freshReads(state, now, s);
    return back.length > 0 && back.every((n) => n.validatorOut === false)
      ? { ...pause, height: known + 1, resumedAt: now }
      : pause;
  }
  if (pause.resumedAt === null && known < pause.height) {
    const upgrade = pause.upgrade === null ? upgradeAt(state, now, s) : null;
    return upgrade ? { ...pause, upgrade: upgrade.name, height: upgrade.height } : pause;
  }
  const resumedAt = pause.resumedAt ?? now;
  // Seen through the holder's own node: then its report shows its height moving too, and the
  // ordinary rules find it healthy the moment they apply again.
  const holder = state.lease.holder === null ? undefined : state.nodes[state.lease.holder];
  const signs = holder?.commits.some((c) => c.signed && c.height >= pause.height) === true;
  // A pause that ends may give way to the next at once (a new plan, a new halt): deciding both now
  // keeps the same event, applied again, from changing anything more.
  if (signs || now - resumedAt >= s.startupGraceMs) return opening(state, known, now, s);
  return pause.resumedAt === null ? { ...pause, resumedAt } : pause;
}

/** Fresh nodes that read the validator's standing on chain. */
function freshReads(state: FailoverState, now: number, s: FailoverSettings) {
  return Object.values(state.nodes).filter((n) => isFresh(n, now, s) && n.validatorOut !== undefined);
}

/** A pause beginning now: an upgrade due, the validator jailed, or a halt; null when all is moving. */
function opening(state: FailoverState, known: number, now: number, s: FailoverSettings): ChainPause | null {
  const upgrade = upgradeAt(state, now, s);
  if (upgrade) return { upgrade: upgrade.name, height: upgrade.height, since: now, resumedAt: null };
  if (freshReads(state, now, s).some((n) => n.validatorOut === true))
    return { upgrade: null, jailed: true, height: known + 1, since: now, resumedAt: null };
  return chainHalted(state, now, s)
    ? { upgrade: null, height: known + 1, since: now, resumedAt: null }
    : null;
}

/** The audit line for a pause that began, resumed or ended. */
export function describePause(before: ChainPause | null, after: ChainPause | null): string {
  const pause = after ?? before;
  if (pause === null) return '';
  const what = pause.jailed
    ? 'validator jailed'
    : pause.upgrade === null
      ? 'chain halt'
      : `upgrade ${pause.upgrade}`;
  if (after === null) return `${what} over: failover rules apply again`;
  if (after.resumedAt !== null)
    return after.jailed
      ? `${what}: back in the active set; the holder has the start-up grace to sign again`
      : `${what}: height ${after.height} committed; the holder has the start-up grace to sign again`;
  if (after.jailed) return `${what}: nobody can sign for it; the holder keeps its lease, no failover`;
  return `${what}: waiting for height ${after.height}; the holder keeps its lease, no failover`;
}
