/**
 * Chain upgrades (x/upgrade plans), pure: the chain's state and its nodes' latest facts → the new
 * state and the chat to send. A plan seen is announced once, with its estimated time; reminders come
 * at the lead times; nodes that will not take it by themselves are named. At the halt the thread
 * turns into "upgrade in progress" (the chain's health alerts wait meanwhile, `chainUpgradeHolds`),
 * and it is done when every node is past the height on a new binary and our validators sign again.
 * The glue is commander/app/chain-upgrade-ops.ts.
 */
import { createHash } from 'node:crypto';
import type { ChatMessage } from '../../bots/model.js';
import type { UpgradePlanFact } from '../../protocol/index.js';
import { addSample, estimateAt } from './block-time.js';
import type { ChainUpgradeFacts, UpgradeNodeFacts } from './facts.js';
import { chainUpgradeSubject, reminderSubject, renderChainUpgrade, renderReminder } from './messages.js';
import type { ChainUpgradeSettings } from './settings.js';
import {
  type BlockSample,
  type ChainUpgradeState,
  isOver,
  type Laggard,
  type NodeProgress,
  type Readiness,
  type TrackedUpgrade,
} from './state.js';

export interface ChainUpgradeEffect {
  kind: 'post' | 'update';
  subject: string;
  message: ChatMessage;
}

export interface ChainUpgradeOutput {
  state: ChainUpgradeState;
  effects: ChainUpgradeEffect[];
}

/** Plans that ended are kept this long: a lagging node still reporting one must not announce it again. */
const KEEP_ENDED_MS = 7 * 24 * 3_600_000;

export function decideChainUpgrade(
  current: ChainUpgradeState,
  facts: ChainUpgradeFacts,
  settings: ChainUpgradeSettings,
  now: number,
): ChainUpgradeOutput {
  const state = structuredClone(current);
  const effects: ChainUpgradeEffect[] = [];
  // Stale facts start nothing: a silent node's last report neither announces nor cancels a plan.
  const fresh = facts.nodes.filter((n) => n.fresh);
  state.samples = addSample(state.samples, latestBlock(fresh));
  for (const plan of plansIn(fresh)) state.upgrades[plan.name] ??= track(plan, now);

  for (const u of Object.values(state.upgrades)) {
    if (isOver(u)) {
      if (u.endedAt !== null && now - u.endedAt > KEEP_ENDED_MS) delete state.upgrades[u.name];
      continue;
    }
    const announcing = u.shown === '';
    const reminded = advance(u, facts, state.samples, settings, now, announcing);
    const message = renderChainUpgrade(state.chainId, u, now, settings.settleMs);
    const digest = digestOf(message);
    const subject = chainUpgradeSubject(state.chainId, u.name);
    if (announcing) effects.push({ kind: 'post', subject, message });
    else if (reminded || digest !== u.shown) effects.push({ kind: 'update', subject, message });
    u.shown = digest;
    if (reminded)
      effects.push({
        kind: 'post',
        subject: reminderSubject(state.chainId, u.name),
        message: renderReminder(state.chainId, u, now),
      });
  }
  return { state, effects };
}

function digestOf(message: ChatMessage): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('hex').slice(0, 16);
}

/** The newest block our nodes saw: the chain's height and header time, from the best node. */
function latestBlock(fresh: readonly UpgradeNodeFacts[]) {
  const best = fresh
    .filter((n) => n.height !== null && n.latestBlockTime !== null)
    .sort((a, b) => b.height! - a.height!)[0];
  return best ? { height: best.height!, at: best.latestBlockTime! } : null;
}

/** Every plan a fresh report names, pending or halted at. */
function plansIn(fresh: readonly UpgradeNodeFacts[]): UpgradePlanFact[] {
  const plans = new Map<string, UpgradePlanFact>();
  for (const n of fresh)
    for (const p of [n.upgrade?.plan, n.upgrade?.halted]) if (p && !plans.has(p.name)) plans.set(p.name, p);
  return [...plans.values()];
}

function track(plan: UpgradePlanFact, now: number): TrackedUpgrade {
  return {
    name: plan.name,
    height: plan.height,
    info: plan.info,
    phase: 'scheduled',
    seenAt: now,
    eta: null,
    remindersSent: [],
    nodes: {},
    validators: [],
    missingSince: null,
    haltedAt: null,
    signingSince: null,
    laggards: [],
    endedAt: null,
    shown: '',
  };
}

/** Moves one plan on; true when a reminder is due (the thread is edited and a reminder posted). */
function advance(
  u: TrackedUpgrade,
  facts: ChainUpgradeFacts,
  samples: readonly BlockSample[],
  settings: ChainUpgradeSettings,
  now: number,
  announcing: boolean,
): boolean {
  const fresh = facts.nodes.filter((n) => n.fresh);
  const best = Math.max(0, ...fresh.map((n) => n.height ?? 0));
  if (u.phase === 'scheduled') {
    // The old binary never commits the upgrade height: at the block before it, the chain halts.
    const halting = best >= u.height - 1 || fresh.some((n) => n.upgrade?.halted?.name === u.name);
    follow(u, facts, halting);
    if (!halting) {
      if (cancelled(u, fresh, settings, now)) {
        u.phase = 'cancelled';
        u.endedAt = now;
        return false;
      }
      return remind(u, estimateAt(samples, u.height), settings, now, announcing);
    }
    u.phase = 'upgrading';
    u.haltedAt = now;
    u.missingSince = null;
  }
  progress(u, facts);
  u.signingSince ??= signingSince(u, fresh);
  const through = Object.values(u.nodes).every((p) => p.step === 'done');
  if (through && (u.validators.length === 0 || u.signingSince !== null)) {
    u.phase = 'done';
    u.endedAt = now;
    u.laggards = [];
  } else if (now - u.haltedAt! >= settings.settleMs) {
    u.phase = 'incomplete';
    u.laggards = laggards(u, facts);
  }
  return false;
}

/**
 * A node's readiness from its latest report. A report that does not name the plan (sent before the
 * plan passed, or its plan read failed) changes nothing known: what the node told before stands.
 */
function readiness(u: TrackedUpgrade, n: UpgradeNodeFacts, prior: Readiness | undefined): Readiness {
  const facts = n.upgrade;
  if (!facts) return 'unknown';
  if (!facts.cosmovisor) return 'manual';
  if (facts.plan?.name !== u.name || facts.staged === null)
    return prior === 'staged' || prior === 'not-staged' ? prior : 'unreported';
  return facts.staged ? 'staged' : 'not-staged';
}

/**
 * Up to the halt: the chain's nodes as they are now (a node added or removed counts), their
 * versions, readiness and validators; a plan moved to another height follows it. "Before" is the
 * version a node last ran before the tick that saw the halt: by then it may run the new one already
 * (and unknown, for a node first seen halting, makes the height alone tell).
 */
function follow(u: TrackedUpgrade, facts: ChainUpgradeFacts, halting: boolean): void {
  const nodes: Record<string, NodeProgress> = {};
  for (const n of facts.nodes) {
    const prior = u.nodes[n.id];
    const version = n.version ?? prior?.before ?? null;
    const before = halting ? (prior?.before ?? null) : version;
    nodes[n.id] = { role: n.role, before, version, ready: readiness(u, n, prior?.ready), step: 'old' };
  }
  u.nodes = nodes;
  const fresh = facts.nodes.filter((n) => n.fresh);
  u.validators = [
    ...new Set([...u.validators, ...fresh.map((n) => n.validator).filter((v) => v !== null)]),
  ].sort();
  const plan = fresh.find((n) => n.upgrade?.plan?.name === u.name)?.upgrade?.plan;
  if (plan) {
    u.height = plan.height;
    u.info = plan.info;
  }
}

function cancelled(
  u: TrackedUpgrade,
  fresh: readonly UpgradeNodeFacts[],
  settings: ChainUpgradeSettings,
  now: number,
): boolean {
  // Without a fresh report that tells of plans at all (old pilots, everyone silent) nothing is known.
  if (!fresh.some((n) => n.upgrade !== null)) return false;
  if (fresh.some((n) => n.upgrade?.plan?.name === u.name)) {
    u.missingSince = null;
    return false;
  }
  u.missingSince ??= now;
  return now - u.missingSince >= settings.cancelAfterMs;
}

/** Follows the estimate, and tells which reminders are due (those due at the announcement are covered by it). */
function remind(
  u: TrackedUpgrade,
  estimate: number | null,
  settings: ChainUpgradeSettings,
  now: number,
  announcing: boolean,
): boolean {
  const first = u.eta === null;
  // The estimate moves in the thread only when it moves by more than a minute, or 2 % of what is left.
  if (estimate !== null && (first || Math.abs(estimate - u.eta!) >= Math.max(60_000, (u.eta! - now) / 50)))
    u.eta = estimate;
  if (u.eta === null) return false;
  const due = settings.reminderLeadsMs.filter(
    (lead) => !u.remindersSent.includes(lead) && u.eta! - lead <= now,
  );
  if (due.length === 0) return false;
  u.remindersSent = [...u.remindersSent, ...due].sort((a, b) => b - a);
  // The thread that first shows the time says all a reminder would.
  return !(announcing || first);
}

/** After the halt: each node we wait for, on which binary, past the height or not. */
function progress(u: TrackedUpgrade, facts: ChainUpgradeFacts): void {
  const byId = new Map(facts.nodes.map((n) => [n.id, n]));
  for (const [id, p] of Object.entries(u.nodes)) {
    const n = byId.get(id);
    // Removed from the fleet meanwhile: nobody waits for it.
    if (!n) {
      delete u.nodes[id];
      continue;
    }
    p.version = n.version ?? p.version;
    const past = n.height !== null && n.height > u.height;
    const switched = p.before === null ? past : p.version !== null && p.version !== p.before;
    p.step = !n.fresh ? 'silent' : !switched ? 'old' : past ? 'done' : 'new';
  }
}

/** The height since which every validator of ours signs above the upgrade height, or null. */
function signingSince(u: TrackedUpgrade, fresh: readonly UpgradeNodeFacts[]): number | null {
  let since = 0;
  for (const validator of u.validators) {
    const above = fresh
      .filter((n) => n.validator === validator)
      .flatMap((n) => n.signedHeights)
      .filter((h) => h > u.height);
    if (above.length === 0) return null;
    since = Math.max(since, Math.min(...above));
  }
  return u.validators.length ? since : null;
}

function laggards(u: TrackedUpgrade, facts: ChainUpgradeFacts): Laggard[] {
  const nodes: Laggard[] = Object.entries(u.nodes)
    .filter(([, p]) => p.step !== 'done')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, p]) => ({
      node,
      why:
        p.step === 'silent'
          ? 'not reporting'
          : p.step === 'old'
            ? `still on ${p.before ?? 'its old binary'}`
            : `on ${p.version ?? 'a new binary'}, not past height ${u.height} yet`,
    }));
  const silentValidators =
    u.signingSince === null
      ? u.validators.map((validator) => ({
          node:
            facts.nodes.find((n) => n.validator === validator)?.id ?? Object.keys(u.nodes)[0] ?? 'unknown',
          validator,
          why: `no signed commit above height ${u.height} yet`,
        }))
      : [];
  return [...nodes, ...silentValidators];
}
