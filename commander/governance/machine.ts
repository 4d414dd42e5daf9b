/**
 * Governance and staking decisions (design §6), pure: state + event + facts + time → new state +
 * effects (actions for the active validator's pilot, chat posts and updates) + an answer for chat.
 */
import { type ExplorerPages, explorerLinks } from '../domain/explorer.js';
import type { ChatMessage } from '../../bots/model.js';
import type { Action, ActionResult, ChainFacts, VoteOption } from '../../protocol/index.js';
import type { ChatAction } from '../notify/notifier.js';
import type { GovernanceFacts } from './facts.js';
import {
  autoVoteSubject,
  autoVoteWarning,
  bondSubject,
  fmtSpan,
  grantsMessage,
  grantsSubject,
  OPTION_LABELS,
  proposalMessage,
  proposalSubject,
} from './messages.js';
import {
  type GovernancePolicy,
  type GovernanceSettings,
  mergeOverrides,
  type PolicyOverrides,
  resolvePolicy,
} from './settings.js';
import type { GovernanceState, PendingBondAction, TrackedProposal, VoteIntent } from './state.js';

export type GovernanceEvent =
  | { kind: 'tick' }
  | { kind: 'vote'; proposalId: string; option: VoteOption; memo?: string; by: string }
  | { kind: 'hold'; proposalId: string; by: string }
  | { kind: 'bond-now'; by: string }
  | { kind: 'set-policy'; change: PolicyOverrides; by: string };

export type GovernanceEffect =
  | { kind: 'queue'; nodeId: string; action: Action }
  | { kind: 'post' | 'update'; subject: string; message: ChatMessage; actions?: ChatAction[] };

export interface GovernanceInput {
  settings: GovernanceSettings;
  facts: GovernanceFacts;
  /** The chain's explorer pages: links on proposals and transactions. */
  explorer?: ExplorerPages;
}

export interface GovernanceAnswer {
  accepted: boolean;
  summary: string;
}

export interface GovernanceOutput {
  state: GovernanceState;
  effects: GovernanceEffect[];
  /** For chat requests (vote, hold, bond-now, set-policy). */
  answer?: GovernanceAnswer;
}

export const GRANT_TYPES = {
  vote: '/cosmos.gov.v1.MsgVote',
  voteLegacy: '/cosmos.gov.v1beta1.MsgVote',
  delegate: '/cosmos.staking.v1beta1.MsgDelegate',
  withdrawRewards: '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
  withdrawCommission: '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
} as const;

/** Tracked proposals are dropped this long after voting ended. */
const KEEP_ENDED_MS = 7 * 24 * 3_600_000;

/** What a bond would do now: liquid balance minus the fee reserve (capped), in the bond denom. */
export interface BondPlan {
  denom: string | null;
  liquid: bigint;
  reserve: bigint;
  amount: bigint;
  validator: string | null;
}

export function bondPlan(chain: ChainFacts | null, policy: GovernancePolicy): BondPlan {
  const balances = chain?.balances ?? [];
  const denoms = [...new Set(balances.map((b) => b.denom))];
  const denom = policy.autoBond.denom ?? (denoms.length === 1 ? denoms[0]! : null);
  const liquid = BigInt(balances.find((b) => b.denom === denom)?.amount ?? '0');
  const reserve = BigInt(policy.autoBond.feeReserve);
  let amount = liquid > reserve ? liquid - reserve : 0n;
  const cap = policy.autoBond.maxPerBond === null ? null : BigInt(policy.autoBond.maxPerBond);
  if (cap !== null && amount > cap) amount = cap;
  return { denom, liquid, reserve, amount, validator: chain?.operatorAddress ?? null };
}

/** Grant problems for what the policy uses, one line each; null when the grants could not be read. */
export function grantProblems(
  facts: GovernanceFacts,
  policy: GovernancePolicy,
  now: number,
): string[] | null {
  const chain = facts.chain;
  if (!chain) return null;
  if (chain.grants === null) {
    // A failed read (of the grants or of the chain altogether) is no proof of a missing grant.
    if (chain.errors.some((e) => e.startsWith('authz grants') || e.startsWith('chain queries'))) return null;
    return [
      `${facts.activeNode ?? 'the active validator'} reports no authz grants: its pilot has no hot key ` +
        '(chain.hot_mnemonic_file) or no validator.account_address configured.',
    ];
  }
  // Chains without gov v1 (the pilot's reads fell back) get v1beta1 votes.
  const legacyGov = chain.errors.some((e) => e.startsWith('gov v1 unavailable'));
  const needed: [string, string][] = [['votes', legacyGov ? GRANT_TYPES.voteLegacy : GRANT_TYPES.vote]];
  if (policy.autoBond.enabled) {
    needed.push(['auto-bond', GRANT_TYPES.delegate]);
    if (policy.autoBond.withdraw)
      needed.push(
        ['withdrawals', GRANT_TYPES.withdrawRewards],
        ['withdrawals', GRANT_TYPES.withdrawCommission],
      );
  }
  const lines: string[] = [];
  for (const [use, type] of needed) {
    const grant = chain.grants.find((g) => g.msgTypeUrl === type);
    if (!grant) lines.push(`missing grant for ${use}: ${type}`);
    else if (grant.expiresAt !== null && grant.expiresAt <= now)
      lines.push(`expired grant for ${use}: ${type} (expired ${new Date(grant.expiresAt).toISOString()})`);
    else if (grant.expiresAt !== null && grant.expiresAt - now <= policy.grantWarnBeforeMs)
      lines.push(`grant for ${use} expires ${new Date(grant.expiresAt).toISOString()}: ${type}`);
  }
  return lines;
}

/** True when the grant for `type` is known to be missing or expired (unknown counts as present). */
function grantMissing(facts: GovernanceFacts, type: string, now: number): boolean {
  const grants = facts.chain?.grants;
  if (!grants) return false;
  const g = grants.find((x) => x.msgTypeUrl === type);
  return !g || (g.expiresAt !== null && g.expiresAt <= now);
}

const coinAmount = (coins: { denom: string; amount: string }[] | undefined, denom: string) =>
  BigInt(coins?.find((c) => c.denom === denom)?.amount ?? '0');

function isVoted(p: TrackedProposal): boolean {
  return p.ourVote !== null && p.ourVote !== 'unknown';
}

function looksLikeGrantError(message: string | undefined): boolean {
  return /authoriz|grant/i.test(message ?? '');
}

/** Per-proposal chat work collected during one decision, rendered once at the end. */
interface Touch {
  post?: string;
  update?: boolean;
  warn?: 'post' | 'update';
}

class Decision {
  readonly effects: GovernanceEffect[] = [];
  readonly touched = new Map<string, Touch>();
  readonly policy: GovernancePolicy;

  constructor(
    readonly state: GovernanceState,
    readonly input: GovernanceInput,
    readonly now: number,
  ) {
    this.policy = resolvePolicy(input.settings, state.chainId, state.overrides, input.explorer);
  }

  get facts() {
    return this.input.facts;
  }

  touch(id: string, t: Touch): void {
    const prior = this.touched.get(id) ?? {};
    this.touched.set(id, {
      post: t.post ?? prior.post,
      update: prior.update || t.update,
      warn: prior.warn === 'post' || t.warn === 'post' ? 'post' : (t.warn ?? prior.warn),
    });
  }

  nextActionId(kind: string): string {
    this.state.seq += 1;
    return `gov-${this.state.salt}-${kind}-${this.state.seq}`;
  }

  chat(kind: 'post' | 'update', subject: string, rendered: { message: ChatMessage; actions?: ChatAction[] }) {
    this.effects.push({
      kind,
      subject,
      message: rendered.message,
      ...(rendered.actions?.length ? { actions: rendered.actions } : {}),
    });
  }

  /** Renders every touched proposal once: a post (announcement, reminder) or an in-place update. */
  flush(): void {
    for (const [id, t] of this.touched) {
      const p = this.state.proposals[id];
      if (!p) continue;
      const card = proposalMessage(this.state.chainId, p, this.policy, this.now, t.post || undefined);
      if (t.post !== undefined) this.chat('post', proposalSubject(id), card);
      else if (t.update) this.chat('update', proposalSubject(id), card);
      const warn = t.warn ?? (t.update && p.autoVote.warnedAt !== null ? 'update' : undefined);
      if (warn)
        this.chat(
          warn,
          autoVoteSubject(this.state.chainId, id),
          autoVoteWarning(this.state.chainId, p, this.policy, this.now),
        );
    }
  }

  queueVote(p: TrackedProposal, option: VoteOption, by: string, auto: boolean, memo?: string): VoteIntent {
    const nodeId = this.facts.activeNode!;
    const actionId = this.nextActionId('vote');
    const intent: VoteIntent = {
      option,
      ...(memo ? { memo } : {}),
      by,
      at: this.now,
      auto,
      actionId,
      nodeId,
      status: 'queued',
    };
    p.intents = [...p.intents, intent].slice(-10);
    this.effects.push({
      kind: 'queue',
      nodeId,
      action: {
        id: actionId,
        type: 'vote',
        issuedAt: this.now,
        proposalId: p.id,
        option,
        ...(memo ? { memo } : {}),
      },
    });
    return intent;
  }

  result(id: string): ActionResult | undefined {
    return this.facts.results.find((r) => r.id === id);
  }
}

export function decideGovernance(
  current: GovernanceState,
  event: GovernanceEvent,
  now: number,
  input: GovernanceInput,
): GovernanceOutput {
  const d = new Decision(structuredClone(current), input, now);
  let answer: GovernanceAnswer | undefined;
  switch (event.kind) {
    case 'tick':
      tick(d);
      break;
    case 'vote':
      answer = vote(d, event);
      break;
    case 'hold':
      answer = hold(d, event.proposalId, event.by);
      break;
    case 'bond-now':
      answer = bondNow(d, event.by);
      break;
    case 'set-policy': {
      d.state.overrides = mergeOverrides(d.state.overrides, event.change);
      const fresh = new Decision(d.state, input, now);
      for (const p of Object.values(fresh.state.proposals))
        if (p.endedAt === null) fresh.touch(p.id, { update: true });
      fresh.flush();
      return {
        state: fresh.state,
        effects: fresh.effects,
        answer: { accepted: true, summary: 'policy changed' },
      };
    }
  }
  d.flush();
  return { state: d.state, effects: d.effects, ...(answer ? { answer } : {}) };
}

// Chat requests ---------------------------------------------------------------------------------

function openProposal(d: Decision, id: string): TrackedProposal | string {
  const p = d.state.proposals[id];
  if (!p)
    return `proposal ${id} is not in voting period on ${d.state.chainId} (as the validator's pilot reports)`;
  if (p.endedAt !== null || (p.votingEnd !== null && d.now >= p.votingEnd))
    return `voting on proposal ${id} has ended`;
  return p;
}

function vote(d: Decision, e: Extract<GovernanceEvent, { kind: 'vote' }>): GovernanceAnswer {
  const p = openProposal(d, e.proposalId);
  if (typeof p === 'string') return { accepted: false, summary: p };
  if (!d.facts.activeNode)
    return {
      accepted: false,
      summary: `no validator node holds the key on ${d.state.chainId}: nobody can cast the vote`,
    };
  const changed = p.intents.length > 0 || isVoted(p);
  const intent = d.queueVote(p, e.option, e.by, false, e.memo);
  d.touch(p.id, { update: true });
  return {
    accepted: true,
    summary: `${changed ? 'changing our vote to' : 'voting'} ${OPTION_LABELS[e.option]} on proposal ${p.id}: sent to ${intent.nodeId}, the tx hash follows on the proposal message`,
  };
}

function hold(d: Decision, id: string, by: string): GovernanceAnswer {
  const p = openProposal(d, id);
  if (typeof p === 'string') return { accepted: false, summary: p };
  if (p.autoVote.castAt !== null)
    return { accepted: false, summary: `the auto-vote on proposal ${id} was already cast` };
  if (p.autoVote.heldBy !== null)
    return {
      accepted: true,
      summary: `the auto-vote on proposal ${id} is already held by ${p.autoVote.heldBy}`,
    };
  p.autoVote.heldBy = by;
  p.autoVote.heldAt = d.now;
  d.touch(p.id, { update: true, warn: 'update' });
  return {
    accepted: true,
    summary: `no auto-vote on proposal ${id}; vote with the buttons or \`vote ${id} <option>\``,
  };
}

function bondNow(d: Decision, by: string): GovernanceAnswer {
  const bond = d.state.bond;
  if (bond.pending)
    return { accepted: false, summary: `a ${bond.pending.kind} is still waiting for its result` };
  const { facts } = d;
  if (!facts.activeNode || !facts.chain)
    return {
      accepted: false,
      summary: `no validator node holding the key reports chain facts on ${d.state.chainId}`,
    };
  if (!facts.fresh)
    return {
      accepted: false,
      summary: `the report of ${facts.activeNode} is stale: try again once it reports`,
    };
  if (grantMissing(facts, GRANT_TYPES.delegate, d.now))
    return {
      accepted: false,
      summary: `the hot key has no delegate grant (${GRANT_TYPES.delegate}): run \`beam-pilot grants\``,
    };
  const plan = bondPlan(facts.chain, d.policy);
  if (!plan.denom)
    return {
      accepted: false,
      summary: 'set the bond denom: governance autoBond.denom in the commander settings',
    };
  if (plan.amount <= 0n)
    return {
      accepted: false,
      summary: `nothing to bond: liquid ${plan.liquid}${plan.denom}, reserve ${plan.reserve}${plan.denom}`,
    };
  queueBond(d, 'delegate', by, plan);
  return {
    accepted: true,
    summary: `delegating ${plan.amount}${plan.denom} to ${plan.validator ?? 'the own validator'}`,
  };
}

// The tick ----------------------------------------------------------------------------------------

function tick(d: Decision): void {
  settleVotes(d);
  const seen = syncProposals(d);
  for (const p of Object.values(d.state.proposals)) {
    if (p.endedAt !== null) continue;
    if (p.votingEnd !== null && d.now >= p.votingEnd) {
      p.endedAt = d.now;
      d.touch(p.id, { update: true });
      continue;
    }
    remind(d, p);
    autoVote(d, p, seen.has(p.id));
  }
  grants(d);
  bondTick(d);
  for (const [id, p] of Object.entries(d.state.proposals))
    if (p.endedAt !== null && d.now - p.endedAt > KEEP_ENDED_MS) delete d.state.proposals[id];
}

function settleVotes(d: Decision): void {
  for (const p of Object.values(d.state.proposals)) {
    for (const intent of p.intents) {
      if (intent.status !== 'queued') continue;
      const r = d.result(intent.actionId);
      if (r) {
        intent.status = r.ok ? 'done' : 'failed';
        intent.finishedAt = r.finishedAt;
        if (r.txHash) intent.txHash = r.txHash;
        if (r.height !== undefined) intent.height = r.height;
        if (r.message) intent.message = r.message;
        if (r.ok) p.ourVote = intent.option;
      } else if (d.now - intent.at > d.policy.actionTimeoutMs) {
        intent.status = 'failed';
        intent.message = `no result from ${intent.nodeId} within ${fmtSpan(d.policy.actionTimeoutMs)}`;
      } else continue;
      d.touch(p.id, { update: true, ...(intent.auto ? { warn: 'update' as const } : {}) });
      if (intent.status === 'failed') {
        d.chat('post', `vote-failed:${d.state.chainId}:${intent.actionId}`, {
          message: {
            title: `Vote ${OPTION_LABELS[intent.option]} on proposal #${p.id} failed`,
            severity: 'warning',
            text:
              `${intent.message ?? 'no detail'}` +
              (looksLikeGrantError(intent.message)
                ? '\nThe hot key may lack its authz grant: run `beam-pilot grants` on the validator node.'
                : ''),
            context: `${d.state.chainId} · asked by ${intent.by} · vote again with the proposal's buttons`,
          },
        });
      }
    }
  }
}

/** Folds the active validator's proposals in voting into the state; returns the ids it reported. */
function syncProposals(d: Decision): Set<string> {
  const seen = new Set<string>();
  const chain = d.facts.chain;
  if (!chain) return seen;
  for (const fact of chain.proposals) {
    if (fact.status !== 'voting') continue;
    seen.add(fact.id);
    const ourVote = fact.ourVote === undefined ? 'unknown' : fact.ourVote;
    const p = d.state.proposals[fact.id];
    if (!p) {
      const votingEnd = fact.votingEnd;
      d.state.proposals[fact.id] = {
        id: fact.id,
        title: fact.title,
        summary: fact.summary,
        votingStart: fact.votingStart,
        votingEnd,
        announcedAt: d.now,
        // Reminders already due when we first see it are covered by the announcement.
        remindersSent: d.policy.reminderOffsetsMs.filter((o) => votingEnd !== null && votingEnd - o <= d.now),
        ourVote,
        intents: [],
        autoVote: { warnedAt: null, heldBy: null, heldAt: null, castAt: null, waiting: null },
        endedAt: votingEnd !== null && d.now >= votingEnd ? d.now : null,
      };
      d.touch(fact.id, { post: '' });
      continue;
    }
    let changed = false;
    if (fact.title && fact.title !== p.title) {
      p.title = fact.title;
      changed = true;
    }
    if (fact.summary && fact.summary !== p.summary) {
      p.summary = fact.summary;
      changed = true;
    }
    if (fact.votingEnd !== null && fact.votingEnd !== p.votingEnd) {
      p.votingEnd = fact.votingEnd;
      changed = true;
    }
    if (ourVote !== p.ourVote) {
      // A committed vote of ours stays known while a lagging read still says "not voted".
      const committed = p.intents.findLast((i) => i.status === 'done');
      if (!(ourVote === null && committed && p.ourVote === committed.option)) {
        // A flaky read (unknown ↔ not voted) is kept but does not edit the message every tick.
        const flaky = [ourVote, p.ourVote].every((v) => v === null || v === 'unknown');
        if (!flaky) changed = true;
        p.ourVote = ourVote;
      }
    }
    if (changed && p.endedAt === null) d.touch(p.id, { update: true });
  }
  return seen;
}

function remind(d: Decision, p: TrackedProposal): void {
  if (p.votingEnd === null) return;
  const due = d.policy.reminderOffsetsMs.filter(
    (o) => !p.remindersSent.includes(o) && p.votingEnd! - o <= d.now,
  );
  if (due.length === 0) return;
  p.remindersSent = [...p.remindersSent, ...due];
  const voting = isVoted(p) || p.intents.some((i) => i.status !== 'failed');
  if (!voting)
    d.touch(p.id, { post: `Reminder: voting ends in ${fmtSpan(p.votingEnd - d.now)} and we have not voted` });
}

function autoVote(d: Decision, p: TrackedProposal, seenNow: boolean): void {
  const policy = d.policy.autoVote;
  if (!policy.enabled || p.votingEnd === null || p.autoVote.heldBy !== null || p.autoVote.castAt !== null)
    return;
  // Someone voted (through Beam or not): never auto-vote over it.
  if (p.intents.length > 0 || isVoted(p)) return;
  const castTime = p.votingEnd - policy.thresholdMs;
  const warnTime = castTime - policy.warnBeforeMs;
  if (d.now < castTime) {
    if (d.now >= warnTime && p.autoVote.warnedAt === null && p.ourVote === null) {
      p.autoVote.warnedAt = d.now;
      d.touch(p.id, { update: true, warn: 'post' });
    }
    return;
  }
  let waiting: string | null = null;
  if (!d.facts.activeNode || !d.facts.fresh)
    waiting = 'no fresh report from the validator node holding the key';
  else if (!d.facts.chain) waiting = 'the validator node could not read the chain in its latest report';
  else if (!seenNow) waiting = 'the latest report does not list the proposal';
  // An error while reading our vote is never "not voted".
  else if (p.ourVote === 'unknown') waiting = 'our vote could not be read from the chain';
  if (waiting !== null) {
    if (p.autoVote.waiting !== waiting) {
      p.autoVote.waiting = waiting;
      d.chat('update', autoVoteSubject(d.state.chainId, p.id), {
        message: {
          title: `Auto-vote on proposal #${p.id} waiting`,
          severity: 'warning',
          text: `Not casting ${OPTION_LABELS[policy.option]} yet: ${waiting}. Voting ends in ${fmtSpan(p.votingEnd - d.now)}.`,
          context: d.state.chainId,
        },
        actions: [{ label: 'Hold', command: `hold ${p.id}`, style: 'danger' }],
      });
    }
    return;
  }
  p.autoVote.waiting = null;
  p.autoVote.castAt = d.now;
  d.queueVote(p, policy.option, 'auto-vote', true);
  d.touch(p.id, { update: true, warn: p.autoVote.warnedAt === null ? 'post' : 'update' });
}

function grants(d: Decision): void {
  if (!d.facts.fresh) return;
  const lines = grantProblems(d.facts, d.policy, d.now);
  if (lines === null) return;
  const problem = lines.length > 0 ? lines.join('\n') : null;
  const g = d.state.grants;
  if (problem === g.problem) return;
  if (problem !== null) {
    g.since = g.since ?? d.now;
    g.problem = problem;
    d.chat('post', grantsSubject(d.state.chainId), {
      message: grantsMessage(d.state.chainId, problem, g.since),
    });
  } else {
    d.chat('update', grantsSubject(d.state.chainId), {
      message: grantsMessage(d.state.chainId, null, g.since),
    });
    g.problem = null;
    g.since = null;
  }
}

function queueBond(
  d: Decision,
  kind: 'withdraw' | 'delegate',
  by: string,
  plan: BondPlan,
  commission = true,
): void {
  const nodeId = d.facts.activeNode!;
  const actionId = d.nextActionId(kind === 'delegate' ? 'bond' : 'withdraw');
  const subject = bondSubject(d.state.chainId, d.state.seq);
  const pending: PendingBondAction = { kind, actionId, nodeId, at: d.now, by, subject };
  if (kind === 'delegate') {
    pending.amount = plan.amount.toString();
    pending.denom = plan.denom!;
    pending.validator = plan.validator;
    pending.liquid = plan.liquid.toString();
    pending.reserve = plan.reserve.toString();
    d.effects.push({
      kind: 'queue',
      nodeId,
      action: {
        id: actionId,
        type: 'delegate',
        issuedAt: d.now,
        amount: { denom: plan.denom!, amount: plan.amount.toString() },
      },
    });
  } else {
    d.effects.push({
      kind: 'queue',
      nodeId,
      action: { id: actionId, type: 'withdraw-rewards', issuedAt: d.now, commission },
    });
  }
  d.state.bond.pending = pending;
  d.chat('post', subject, { message: bondMessage(d, pending, null) });
}

function bondMessage(
  d: Decision,
  p: PendingBondAction,
  r: ActionResult | { ok: false; message: string } | null,
): ChatMessage {
  const who = p.by === 'auto-bond' ? 'auto-bond' : p.by;
  const what =
    p.kind === 'delegate'
      ? `Delegating ${p.amount}${p.denom} to ${p.validator ?? 'the own validator'}`
      : 'Withdrawing rewards and commission';
  const fields =
    p.kind === 'delegate' && p.liquid !== undefined
      ? [
          { label: 'Liquid', value: `${p.liquid}${p.denom}` },
          { label: 'Kept as fee reserve', value: `${p.reserve}${p.denom}` },
        ]
      : [];
  const txHash = r !== null && 'txHash' in r ? r.txHash : undefined;
  const links = explorerLinks(d.policy.explorer, { tx: txHash, validator: p.validator });
  if (r === null)
    return {
      title: `${what}…`,
      severity: 'info',
      fields,
      ...(links.length ? { links } : {}),
      context: `${d.state.chainId} · ${who} · sent to ${p.nodeId}`,
    };
  return {
    title: r.ok ? `${what}: done` : `${what}: FAILED`,
    severity: r.ok ? 'info' : 'warning',
    text: r.ok
      ? txHash
        ? `tx ${txHash}`
        : 'done'
      : `${r.message ?? 'no detail'}${looksLikeGrantError(r.message) ? '\nThe hot key may lack its authz grant: run `beam-pilot grants`.' : ''}`,
    fields,
    ...(links.length ? { links } : {}),
    context: `${d.state.chainId} · ${who} · ${p.nodeId}`,
  };
}

function bondTick(d: Decision): void {
  const bond = d.state.bond;
  const policy = d.policy.autoBond;
  if (bond.pending) {
    const p = bond.pending;
    const r = d.result(p.actionId);
    const timedOut = !r && d.now - p.at > d.policy.actionTimeoutMs;
    if (!r && !timedOut) return;
    const outcome = r ?? {
      ok: false as const,
      message: `no result from ${p.nodeId} within ${fmtSpan(d.policy.actionTimeoutMs)}`,
    };
    if (outcome.ok) {
      bond.failedAt = null;
      if (p.kind === 'withdraw') bond.lastWithdrawAt = d.now;
      else bond.last = { at: d.now, amount: p.amount!, denom: p.denom!, txHash: r?.txHash ?? null };
    } else {
      bond.failedAt = d.now;
      // A failed withdrawal must not block bonding: try it again after the retry pause only.
      if (p.kind === 'withdraw') bond.lastWithdrawAt = d.now;
    }
    bond.settledAt = r ? r.finishedAt : d.now;
    bond.pending = null;
    d.chat('update', p.subject, { message: bondMessage(d, p, outcome) });
    return;
  }
  if (!policy.enabled) return;
  const { facts } = d;
  if (!facts.activeNode || !facts.chain || !facts.fresh) return;
  if (bond.settledAt !== null && (facts.reportSentAt ?? 0) <= bond.settledAt) return;
  if (bond.failedAt !== null && d.now - bond.failedAt < policy.retryAfterMs) return;
  const plan = bondPlan(facts.chain, d.policy);
  if (!plan.denom) {
    blocked(
      d,
      'set the bond denom (governance autoBond.denom in the commander settings): the validator account holds several denoms',
    );
    return;
  }
  const withdrawDue =
    policy.withdraw &&
    (bond.lastWithdrawAt === null || d.now - bond.lastWithdrawAt >= policy.withdrawEveryMs);
  if (withdrawDue && !grantMissing(facts, GRANT_TYPES.withdrawRewards, d.now)) {
    const rewards = coinAmount(facts.chain.rewards, plan.denom);
    const commission = coinAmount(facts.chain.commission, plan.denom);
    if (rewards + commission > 0n) {
      const commissionOk = commission > 0n && !grantMissing(facts, GRANT_TYPES.withdrawCommission, d.now);
      queueBond(d, 'withdraw', 'auto-bond', plan, commissionOk);
      return;
    }
    bond.lastWithdrawAt = d.now;
  }
  if (plan.liquid <= BigInt(policy.threshold) || plan.amount <= 0n) return;
  // The grant alert tells people; queueing a transaction bound to fail would only add noise.
  if (grantMissing(facts, GRANT_TYPES.delegate, d.now)) return;
  bond.blocked = null;
  queueBond(d, 'delegate', 'auto-bond', plan);
}

function blocked(d: Decision, reason: string): void {
  if (d.state.bond.blocked === reason) return;
  d.state.bond.blocked = reason;
  d.chat('post', `bond-blocked:${d.state.chainId}`, {
    message: { title: `Auto-bond cannot act on ${d.state.chainId}`, severity: 'warning', text: reason },
  });
}
