/**
 * Governance and staking glue: the tick's proposal tracking, auto-vote and auto-bond, and the chat
 * operations (vote, hold, bond, policy). Decisions are pure (commander/governance); this module
 * loads facts, persists one state item per chain, then queues pilot actions and talks to chat.
 */
import { explorerLinks, explorerOf } from '../domain/explorer.js';
import * as z from 'zod';
import { describeZodError, VoteOption } from '../../protocol/index.js';
import { withRetry } from '../adapters/store/store.js';
import type { BondPreview, OperationResult, PolicyEntry, ProposalView } from '../chatops/ports.js';
import { type NodeRecord, queueAction } from '../domain/registry.js';
import { governanceFacts, reportedKeyHolder } from '../governance/facts.js';
import { bondPlan, type GovernanceEffect, type GovernanceEvent } from '../governance/machine.js';
import { decideAndSaveGovernance, listGovernanceStates } from '../governance/persistence.js';
import {
  type GovernanceSettings,
  POLICY_KEYS,
  parsePolicyChange,
  resolvePolicy,
} from '../governance/settings.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { failoverOverview } from './failover-ops.js';

function governanceSettings(deps: CommanderDeps): GovernanceSettings {
  return deps.settings.governance;
}

/** A report older than this is not acted on (auto-vote, auto-bond). */
function maxReportAgeMs(deps: CommanderDeps): number {
  return Math.max(3 * deps.settings.reportIntervalMs, 15_000);
}

const approvedOf = (nodes: readonly NodeRecord[]) => nodes.filter((n) => n.status === 'approved');

async function approvedNodes(deps: CommanderDeps): Promise<NodeRecord[]> {
  return approvedOf((await deps.store.listNodes()).map((n) => n.value));
}

function chainsOf(nodes: readonly NodeRecord[]): string[] {
  return [...new Set(nodes.map((n) => n.chainId))].sort();
}

/**
 * The node whose pilot signs governance and staking transactions on a chain: the lease holder, or,
 * where no lease is held, the only approved validator node reporting that it holds the key.
 */
async function activeNode(
  deps: CommanderDeps,
  nodes: readonly NodeRecord[],
  chainId: string,
): Promise<string | null> {
  const holder = (await failoverOverview(deps)).find(
    (f) => f.chainId === chainId && f.holder !== null,
  )?.holder;
  return holder ?? reportedKeyHolder(nodes, chainId);
}

async function factsFor(deps: CommanderDeps, nodes: NodeRecord[], chainId: string) {
  return governanceFacts(
    nodes,
    chainId,
    await activeNode(deps, nodes, chainId),
    deps.now(),
    maxReportAgeMs(deps),
  );
}

async function decide(deps: CommanderDeps, nodes: NodeRecord[], chainId: string, event: GovernanceEvent) {
  const facts = await factsFor(deps, nodes, chainId);
  const out = await decideAndSaveGovernance(deps.store, chainId, event, deps.now(), {
    settings: governanceSettings(deps),
    facts,
    explorer: explorerOf(deps.settings.explorers, chainId),
  });
  await perform(deps, out.effects);
  return out;
}

/** Effects belong to the state already written: queue pilot actions, then tell people. */
async function perform(deps: CommanderDeps, effects: readonly GovernanceEffect[]): Promise<void> {
  for (const effect of effects) {
    try {
      if (effect.kind === 'queue') {
        await withRetry(async () => {
          const stored = await deps.store.getNode(effect.nodeId);
          if (!stored) throw new Error(`node ${effect.nodeId} is gone`);
          const next = queueAction(stored.value, effect.action);
          if (next !== stored.value) await deps.store.putNode(next, stored.version);
        });
      } else if (effect.kind === 'post') {
        await deps.chat.post(effect.subject, effect.message, effect.actions);
      } else {
        await deps.chat.update(effect.subject, effect.message, effect.actions);
      }
    } catch (error) {
      // The pending vote or bond times out and is reported as failed; the next effects still run.
      deps.log.error({ effect: effect.kind, err: (error as Error).message }, 'governance effect failed');
    }
  }
}

/**
 * The tick's governance step for every chain of the fleet, on the nodes the tick listed (their
 * facts come from reports; writes re-read each node); logs its own errors.
 */
export async function runGovernanceTick(deps: CommanderDeps, fleet: readonly NodeRecord[]): Promise<void> {
  try {
    if (!governanceSettings(deps).enabled) return;
    const nodes = approvedOf(fleet);
    for (const chainId of chainsOf(nodes)) {
      try {
        await decide(deps, nodes, chainId, { kind: 'tick' });
      } catch (error) {
        deps.log.error({ chainId, err: (error as Error).message }, 'governance tick failed');
      }
    }
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'governance tick failed');
  }
}

async function audited(
  deps: CommanderDeps,
  actor: Actor,
  action: string,
  target: string | null,
  run: () => Promise<OperationResult>,
): Promise<OperationResult> {
  let result: OperationResult;
  try {
    result = await run();
  } catch (error) {
    await deps.store.appendAudit({
      at: deps.now(),
      actor: actorLabel(actor),
      action,
      target,
      outcome: 'failed',
      detail: (error as Error).message,
    });
    throw error;
  }
  await deps.store.appendAudit({
    at: deps.now(),
    actor: actorLabel(actor),
    action,
    target,
    outcome: result.accepted ? 'ok' : 'denied',
    detail: result.summary,
  });
  return result;
}

const ProposalId = z.string().regex(/^\d{1,20}$/, 'use the numeric proposal id, e.g. 42');
const VoteRequest = z.object({
  proposalId: ProposalId,
  option: VoteOption,
  memo: z.string().max(256, 'keep the memo under 256 characters').optional(),
});

/** The chain whose open proposal has this id (fleets usually run one chain). */
async function chainOfProposal(deps: CommanderDeps, proposalId: string): Promise<string | string[]> {
  const states = await listGovernanceStates(deps.store);
  const open = states.filter((s) => s.proposals[proposalId] && s.proposals[proposalId].endedAt === null);
  if (open.length === 1) return open[0]!.chainId;
  if (open.length > 1) return open.map((s) => s.chainId);
  return [];
}

async function proposalRequest(
  deps: CommanderDeps,
  proposalId: string,
  event: (chainId: string) => GovernanceEvent,
): Promise<OperationResult> {
  const chain = await chainOfProposal(deps, proposalId);
  if (Array.isArray(chain)) {
    return {
      accepted: false,
      summary:
        chain.length === 0
          ? `proposal ${proposalId} is not in voting period (as the validator's pilot reports); see \`proposals\``
          : `proposal ${proposalId} is open on several chains (${chain.join(', ')}): Beam cannot tell which`,
    };
  }
  const out = await decide(deps, await approvedNodes(deps), chain, event(chain));
  return out.answer ?? { accepted: false, summary: 'no answer' };
}

/** Proposals in voting period, soonest end first. */
export async function listProposals(deps: CommanderDeps): Promise<ProposalView[]> {
  const views: ProposalView[] = [];
  for (const state of await listGovernanceStates(deps.store)) {
    const pages = explorerOf(deps.settings.explorers, state.chainId);
    for (const p of Object.values(state.proposals)) {
      if (p.endedAt !== null) continue;
      const links = explorerLinks(pages, { proposal: p.id });
      views.push({
        id: p.id,
        title: p.title,
        votingEnd: p.votingEnd ?? 0,
        ...(p.ourVote !== null && p.ourVote !== 'unknown' ? { ourVote: p.ourVote } : {}),
        ...(links.length ? { links } : {}),
      });
    }
  }
  return views.sort((a, b) => a.votingEnd - b.votingEnd);
}

/** A vote intent (a button, `vote <id> <option> [memo]`): the active validator's pilot casts it through authz. */
export async function recordVote(
  deps: CommanderDeps,
  request: { proposalId: string; option: VoteOption; memo?: string; actor: Actor },
): Promise<OperationResult> {
  const target = `proposal ${request.proposalId}`;
  return audited(deps, request.actor, `vote ${request.option}`, target, async () => {
    const parsed = VoteRequest.safeParse(request);
    if (!parsed.success) return { accepted: false, summary: describeZodError(parsed.error) };
    const { proposalId, option, memo } = parsed.data;
    return proposalRequest(deps, proposalId, () => ({
      kind: 'vote',
      proposalId,
      option,
      ...(memo ? { memo } : {}),
      by: actorLabel(request.actor),
    }));
  });
}

/** [Hold]: no auto-vote on this proposal. */
export async function holdAutoVote(
  deps: CommanderDeps,
  request: { proposalId: string; actor: Actor },
): Promise<OperationResult> {
  return audited(deps, request.actor, 'hold auto-vote', `proposal ${request.proposalId}`, async () => {
    const id = ProposalId.safeParse(request.proposalId);
    if (!id.success) return { accepted: false, summary: `proposalId: ${id.error.issues[0]?.message}` };
    return proposalRequest(deps, id.data, () => ({
      kind: 'hold',
      proposalId: id.data,
      by: actorLabel(request.actor),
    }));
  });
}

async function firstChain(deps: CommanderDeps): Promise<{ nodes: NodeRecord[]; chainId: string | null }> {
  const nodes = await approvedNodes(deps);
  return { nodes, chainId: chainsOf(nodes)[0] ?? null };
}

/** What a bond now would delegate (first chain of the fleet). */
export async function bondPreview(deps: CommanderDeps): Promise<BondPreview> {
  const { nodes, chainId } = await firstChain(deps);
  if (!chainId) return { validator: 'none', liquid: '0', reserve: '0', wouldDelegate: '0' };
  const facts = await factsFor(deps, nodes, chainId);
  const state = (await listGovernanceStates(deps.store)).find((s) => s.chainId === chainId);
  const plan = bondPlan(facts.chain, resolvePolicy(governanceSettings(deps), chainId, state?.overrides));
  const denom = plan.denom ?? '';
  return {
    validator:
      plan.validator ?? (facts.activeNode ? `unknown (no chain facts from ${facts.activeNode})` : 'unknown'),
    liquid: `${plan.liquid}${denom}`,
    reserve: `${plan.reserve}${denom}`,
    wouldDelegate: `${plan.amount}${denom}`,
  };
}

/** `bond now`: delegate all but the fee reserve now, whatever the threshold. */
export async function bondNow(deps: CommanderDeps, request: { actor: Actor }): Promise<OperationResult> {
  return audited(deps, request.actor, 'bond', null, async () => {
    const { nodes, chainId } = await firstChain(deps);
    if (!chainId) return { accepted: false, summary: 'no approved nodes: nothing to bond' };
    const out = await decide(deps, nodes, chainId, { kind: 'bond-now', by: actorLabel(request.actor) });
    return out.answer ?? { accepted: false, summary: 'no answer' };
  });
}

/** The governance policy in effect, as `policy` lists it (keys prefixed by chain when there are several). */
export async function governancePolicy(deps: CommanderDeps): Promise<PolicyEntry[]> {
  const nodes = await approvedNodes(deps);
  const states = await listGovernanceStates(deps.store);
  const chains = [...new Set([...chainsOf(nodes), ...states.map((s) => s.chainId)])].sort();
  const settings = governanceSettings(deps);
  const entries: PolicyEntry[] = [];
  for (const chainId of chains.length ? chains : ['']) {
    const policy = resolvePolicy(settings, chainId, states.find((s) => s.chainId === chainId)?.overrides);
    for (const [key, spec] of Object.entries(POLICY_KEYS)) {
      entries.push({
        key: chains.length > 1 ? `${chainId}:${key}` : key,
        value: spec.show(policy),
        description: spec.description,
      });
    }
  }
  return entries;
}

/** `policy <key> <value>` (admin): changes the governance policy of every chain of the fleet. */
export async function setGovernancePolicy(
  deps: CommanderDeps,
  request: { key: string; value: string; actor: Actor },
): Promise<OperationResult> {
  return audited(deps, request.actor, 'policy', request.key, async () => {
    const change = parsePolicyChange(request.key, request.value);
    if (typeof change === 'string') return { accepted: false, summary: change };
    const nodes = await approvedNodes(deps);
    const chains = chainsOf(nodes);
    if (chains.length === 0)
      return { accepted: false, summary: 'no approved nodes yet: no chain to set a policy for' };
    for (const chainId of chains)
      await decide(deps, nodes, chainId, { kind: 'set-policy', change, by: actorLabel(request.actor) });
    return { accepted: true, summary: `${request.key} = ${request.value} on ${chains.join(', ')}` };
  });
}
