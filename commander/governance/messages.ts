import { explorerLinks } from '../domain/explorer.js';
import type { ChatMessage } from '../../bots/model.js';
import type { VoteOption } from '../../protocol/index.js';
import type { ChatAction } from '../notify/notifier.js';
import type { GovernancePolicy } from './settings.js';
import type { TrackedProposal, VoteIntent } from './state.js';

/** The subject of a proposal's message (shared with the chat `proposals` listing). */
export const proposalSubject = (id: string) => `proposal:${id}`;
export const autoVoteSubject = (chainId: string, id: string) => `autovote:${chainId}:${id}`;
export const grantsSubject = (chainId: string) => `gov-grants:${chainId}`;
export const bondSubject = (chainId: string, n: number) => `bond:${chainId}:${n}`;

export const OPTION_LABELS: Record<VoteOption, string> = {
  yes: 'Yes',
  no: 'No',
  abstain: 'Abstain',
  no_with_veto: 'No with veto',
};

export function voteActions(id: string): ChatAction[] {
  return (Object.keys(OPTION_LABELS) as VoteOption[]).map((option) => ({
    label: OPTION_LABELS[option],
    command: `vote ${id} ${option}`,
    ...(option === 'yes'
      ? { style: 'primary' as const }
      : option === 'no_with_veto'
        ? { style: 'danger' as const }
        : {}),
  }));
}

export const holdActions = (id: string): ChatAction[] => [
  { label: 'Hold', command: `hold ${id}`, style: 'danger' },
];

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** "3 h 5 min", "42 s": how long until (or since) a moment, for people. */
export function fmtSpan(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.round(h / 24)} d`;
}

function intentLine(intent: VoteIntent): string {
  const who = intent.auto ? 'auto-vote' : intent.by;
  const what = `${OPTION_LABELS[intent.option]} (${who})`;
  if (intent.status === 'queued') return `${what}: sent to ${intent.nodeId}, waiting for the tx`;
  if (intent.status === 'done')
    return `${what}: tx ${intent.txHash ?? '?'}${intent.height ? ` at height ${intent.height}` : ''}`;
  return `${what}: FAILED: ${intent.message ?? 'no detail'}`;
}

export function ourVoteText(p: TrackedProposal): string {
  if (p.ourVote === 'unknown') return 'unknown (the last read of our vote failed)';
  if (p.ourVote === null) return 'not voted';
  return `${OPTION_LABELS[p.ourVote]} (on chain)`;
}

function autoVoteText(p: TrackedProposal, policy: GovernancePolicy): string | null {
  if (p.autoVote.castAt !== null)
    return `cast ${OPTION_LABELS[policy.autoVote.option]} at ${iso(p.autoVote.castAt)}`;
  if (p.autoVote.heldBy) return `held by ${p.autoVote.heldBy}`;
  if (!policy.autoVote.enabled || p.votingEnd === null) return null;
  // Someone voted, here or on chain: the auto-vote never comes (governance/machine.ts `autoVote`).
  if (p.intents.some((i) => i.status !== 'failed') || (p.ourVote !== null && p.ourVote !== 'unknown'))
    return 'not needed: we voted';
  if (p.intents.length > 0) return 'off: a vote was asked for here (vote again if it failed)';
  return `${OPTION_LABELS[policy.autoVote.option]} at ${iso(p.votingEnd - policy.autoVote.thresholdMs)} unless we vote`;
}

/** The proposal's message: facts, our vote, the latest intent, the auto-vote plan; vote buttons while open. */
export function proposalMessage(
  chainId: string,
  p: TrackedProposal,
  policy: GovernancePolicy,
  now: number,
  note?: string,
): { message: ChatMessage; actions: ChatAction[] } {
  const ended = p.endedAt !== null;
  const intent = p.intents.at(-1);
  const fields = [
    {
      label: ended ? 'Voting ended' : 'Voting ends',
      value:
        p.votingEnd === null
          ? 'unknown'
          : `${iso(p.votingEnd)}${ended ? '' : ` (in ${fmtSpan(p.votingEnd - now)})`}`,
    },
    { label: 'Our vote', value: ourVoteText(p) },
  ];
  if (intent)
    fields.push({ label: intent.status === 'failed' ? 'Vote failed' : 'Vote', value: intentLine(intent) });
  const auto = ended ? null : autoVoteText(p, policy);
  if (auto) fields.push({ label: 'Auto-vote', value: auto });
  const links = explorerLinks(policy.explorer, {
    proposal: p.id,
    tx: intent?.status === 'done' ? intent.txHash : undefined,
  });
  const summary = p.summary.length > 500 ? `${p.summary.slice(0, 499)}…` : p.summary;
  const message: ChatMessage = {
    title: `${ended ? 'Voting ended: ' : ''}Proposal #${p.id}: ${p.title || '(no title)'}`,
    severity: intent?.status === 'failed' ? 'warning' : 'info',
    ...(summary ? { text: summary } : {}),
    fields,
    ...(links.length ? { links } : {}),
    context: [note, chainId].filter(Boolean).join(' · '),
  };
  return { message, actions: ended ? [] : voteActions(p.id) };
}

export function autoVoteWarning(
  chainId: string,
  p: TrackedProposal,
  policy: GovernancePolicy,
  now: number,
): { message: ChatMessage; actions: ChatAction[] } {
  const castAt = (p.votingEnd ?? now) - policy.autoVote.thresholdMs;
  const held = p.autoVote.heldBy !== null;
  const intent = p.intents.at(-1);
  let text: string;
  if (held) text = `Held by ${p.autoVote.heldBy}: no auto-vote on this proposal.`;
  else if (p.autoVote.castAt !== null && intent?.auto) text = `Auto-vote ${intentLine(intent)}`;
  else if (intent || (p.ourVote !== null && p.ourVote !== 'unknown')) text = 'We voted: no auto-vote needed.';
  else
    text = `Auto-vote ${OPTION_LABELS[policy.autoVote.option]} in ${fmtSpan(castAt - now)} (at ${iso(castAt)}) unless someone votes or holds it.`;
  const open = !held && p.autoVote.castAt === null && !intent && p.endedAt === null;
  return {
    message: {
      title: `Auto-vote on proposal #${p.id}: ${p.title || '(no title)'}`,
      severity: open ? 'warning' : 'info',
      text,
      context: chainId,
    },
    actions: open ? holdActions(p.id) : [],
  };
}

export function grantsMessage(chainId: string, problem: string | null, since: number | null): ChatMessage {
  if (problem === null) {
    return {
      title: `Authz grants in order on ${chainId}`,
      severity: 'ok',
      text: 'The hot key holds every grant Beam needs.',
      ...(since ? { context: `problem since ${iso(since)}` } : {}),
    };
  }
  return {
    title: `Authz grant problem on ${chainId}: votes or bonds will fail`,
    severity: 'warning',
    text: `${problem}\nRun \`beam-pilot grants\` on the validator node and submit the printed grants from the validator account.`,
    ...(since ? { context: `since ${iso(since)}` } : {}),
  };
}
