/**
 * Gov v1: deposits, voting period, weighted votes, and the SDK tally — validators' votes are
 * inherited by delegators who did not vote; quorum, threshold and veto decide the result; deposits
 * are refunded, or burned on veto or on deposit-period expiry. A proposal's messages (gov module as
 * their only signer, e.g. MsgSoftwareUpgrade) run when it passes, all or none.
 */
import {
  MsgDepositResponse,
  MsgSubmitProposalResponse,
  MsgVoteResponse,
} from 'cosmjs-types/cosmos/gov/v1/tx';
import type { MsgDeposit, MsgSubmitProposal, MsgVote, MsgVoteWeighted } from 'cosmjs-types/cosmos/gov/v1/tx';
import type {
  MsgVote as MsgVoteBeta,
  MsgVoteWeighted as MsgVoteWeightedBeta,
} from 'cosmjs-types/cosmos/gov/v1beta1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { Dispatcher } from './authz.js';
import { burn, positiveCoins, sendFromModule, sendToModule } from './bank.js';
import { type Coins, DEC, addCoins, coinsString, decFrom, decString, event } from './codec.js';
import type { Ctx } from './context.js';
import { ChainError, gov as errors, sdk } from './errors.js';
import { totalBonded } from './staking.js';
import {
  BOND_STATUS,
  MODULES,
  PROPOSAL_STATUS,
  type ProposalState,
  type State,
  type Tally,
  type VoteState,
  cloneState,
  voteKey,
} from './state.js';
import { govAuthority } from './upgrade.js';

/** `minDeposit` is "1000" (in the bond denom) or a coin such as "1000stake". */
export function minDeposit(state: State): Coins {
  const match = /^(\d+)([a-zA-Z][a-zA-Z0-9/:._-]*)?$/.exec(state.params.gov.minDeposit.trim());
  if (!match)
    throw new Error(`params.gov.minDeposit "${state.params.gov.minDeposit}" is not an amount like 1000`);
  return new Map([[match[2] ?? state.params.denom, BigInt(match[1]!)]]);
}

export function maxDepositPeriodMs(state: State): number {
  return state.params.gov.maxDepositPeriodMs ?? state.params.gov.votingPeriodMs * 2;
}

function covers(have: Coins, need: Coins): boolean {
  return [...need].every(([denom, amount]) => (have.get(denom) ?? 0n) >= amount);
}

function startVoting(ctx: Ctx, proposal: ProposalState): void {
  proposal.status = PROPOSAL_STATUS.voting;
  proposal.votingStartTimeMs = ctx.timeMs;
  proposal.votingEndTimeMs = ctx.timeMs + proposal.votingPeriodMs;
  ctx.events.push(event('proposal_deposit', { voting_period_start: String(proposal.id) }));
}

/** SubmitProposal's checks on each message: the router knows it and the gov module is its only signer. */
function checkMessages(state: State, messages: Any[], dispatcher: Dispatcher): void {
  const authority = govAuthority(state);
  for (const m of messages) {
    let signer: string;
    try {
      signer = dispatcher.signerOf(m);
    } catch {
      throw errors.unroutableProposalMsg(m.typeUrl);
    }
    if (signer !== authority) throw errors.invalidSigner();
  }
}

export function createProposal(
  ctx: Ctx,
  input: {
    title: string;
    summary: string;
    metadata: string;
    proposer: string;
    votingPeriodMs?: number;
    messages: Any[];
  },
  dispatcher: Dispatcher,
): ProposalState {
  const { state } = ctx;
  checkMessages(state, input.messages, dispatcher);
  const proposal: ProposalState = {
    id: state.nextProposalId,
    status: PROPOSAL_STATUS.deposit,
    title: input.title,
    summary: input.summary,
    metadata: input.metadata,
    proposer: input.proposer,
    submitTimeMs: ctx.timeMs,
    depositEndTimeMs: ctx.timeMs + maxDepositPeriodMs(state),
    votingStartTimeMs: null,
    votingEndTimeMs: null,
    votingPeriodMs: input.votingPeriodMs ?? state.params.gov.votingPeriodMs,
    totalDeposit: new Map(),
    finalTally: null,
    messages: input.messages.map((m) => ({ typeUrl: m.typeUrl, value: m.value })),
    failedReason: '',
  };
  state.nextProposalId += 1n;
  state.proposals.set(proposal.id, proposal);
  const messageTypes = input.messages.map((m) => `,${m.typeUrl}`).join('');
  ctx.events.push(
    event('submit_proposal', { proposal_id: String(proposal.id), proposal_messages: messageTypes }),
  );
  return proposal;
}

/** Devnet control: a proposal whose deposit is already satisfied, so voting starts now. */
export function submitFundedProposal(
  ctx: Ctx,
  input: { title: string; summary: string; proposer: string; votingPeriodMs?: number; messages: Any[] },
  dispatcher: Dispatcher,
): bigint {
  const proposal = createProposal(ctx, { ...input, metadata: '' }, dispatcher);
  proposal.totalDeposit = minDeposit(ctx.state);
  startVoting(ctx, proposal);
  return proposal.id;
}

function addDeposit(ctx: Ctx, proposal: ProposalState, depositor: string, amount: Coins): void {
  sendToModule(ctx, depositor, MODULES.gov, amount, true);
  const key = voteKey(proposal.id, depositor);
  const previous = ctx.state.deposits.get(key) ?? new Map<string, bigint>();
  addCoins(previous, amount);
  ctx.state.deposits.set(key, previous);
  addCoins(proposal.totalDeposit, amount);
  ctx.events.push(
    event('proposal_deposit', { amount: coinsString(amount), proposal_id: String(proposal.id), depositor }),
  );
  if (proposal.status === PROPOSAL_STATUS.deposit && covers(proposal.totalDeposit, minDeposit(ctx.state))) {
    startVoting(ctx, proposal);
  }
}

export function handleSubmitProposal(ctx: Ctx, msg: MsgSubmitProposal, dispatcher: Dispatcher): Uint8Array {
  if (!msg.title.trim()) throw sdk.invalidRequest('proposal title cannot be empty');
  const proposal = createProposal(
    ctx,
    {
      title: msg.title,
      summary: msg.summary,
      metadata: msg.metadata,
      proposer: msg.proposer,
      messages: msg.messages,
    },
    dispatcher,
  );
  if (msg.initialDeposit.length > 0)
    addDeposit(ctx, proposal, msg.proposer, positiveCoins(msg.initialDeposit));
  return MsgSubmitProposalResponse.encode({ proposalId: proposal.id }).finish();
}

function getProposal(state: State, id: bigint): ProposalState {
  const proposal = state.proposals.get(id);
  if (!proposal) throw errors.unknownProposal(String(id));
  return proposal;
}

export function handleDeposit(ctx: Ctx, msg: MsgDeposit): Uint8Array {
  const proposal = getProposal(ctx.state, msg.proposalId);
  if (proposal.status !== PROPOSAL_STATUS.deposit && proposal.status !== PROPOSAL_STATUS.voting) {
    throw errors.inactiveProposal(String(msg.proposalId));
  }
  addDeposit(ctx, proposal, msg.depositor, positiveCoins(msg.amount));
  return MsgDepositResponse.encode({}).finish();
}

function addVote(ctx: Ctx, vote: VoteState): void {
  const proposal = getProposal(ctx.state, vote.proposalId);
  if (proposal.status !== PROPOSAL_STATUS.voting) throw errors.inactiveProposal(String(vote.proposalId));
  for (const o of vote.options) if (o.option < 1 || o.option > 4) throw errors.invalidVote(String(o.option));
  ctx.state.votes.set(voteKey(vote.proposalId, vote.voter), vote);
  const options = vote.options.map((o) => ({ option: o.option, weight: decString(o.weight) }));
  ctx.events.push(
    event('proposal_vote', {
      voter: vote.voter,
      option: JSON.stringify(options),
      proposal_id: String(vote.proposalId),
    }),
  );
}

export function handleVote(ctx: Ctx, msg: MsgVote): Uint8Array {
  addVote(ctx, {
    proposalId: msg.proposalId,
    voter: msg.voter,
    options: [{ option: msg.option, weight: DEC }],
    metadata: msg.metadata,
  });
  return MsgVoteResponse.encode({}).finish();
}

/** Devnet control: a whole-weight vote without a tx (the hub's background validators). */
export function castVote(ctx: Ctx, proposalId: bigint, voter: string, option: number): void {
  addVote(ctx, { proposalId, voter, options: [{ option, weight: DEC }], metadata: '' });
}

export function handleVoteBeta(ctx: Ctx, msg: MsgVoteBeta): Uint8Array {
  addVote(ctx, {
    proposalId: msg.proposalId,
    voter: msg.voter,
    options: [{ option: msg.option, weight: DEC }],
    metadata: '',
  });
  return MsgVoteResponse.encode({}).finish();
}

/** Weighted options: distinct, each weight in (0, 1], summing to exactly 1 (SDK ValidateBasic). */
function weighted(options: { option: number; weight: bigint }[]): { option: number; weight: bigint }[] {
  const total = options.reduce((sum, o) => sum + o.weight, 0n);
  const distinct = new Set(options.map((o) => o.option)).size === options.length;
  if (
    options.length === 0 ||
    !distinct ||
    options.some((o) => o.weight <= 0n || o.weight > DEC) ||
    total !== DEC
  ) {
    throw errors.invalidVote(
      `invalid weighted vote options: weights must be positive, distinct and sum to 1`,
    );
  }
  return options;
}

export function handleVoteWeighted(ctx: Ctx, msg: MsgVoteWeighted): Uint8Array {
  const options = weighted(msg.options.map((o) => ({ option: o.option, weight: decFrom(o.weight) })));
  addVote(ctx, { proposalId: msg.proposalId, voter: msg.voter, options, metadata: msg.metadata });
  return MsgVoteResponse.encode({}).finish();
}

/** v1beta1 weights arrive as Dec atomics (customtype), v1 weights as decimal strings. */
export function handleVoteWeightedBeta(ctx: Ctx, msg: MsgVoteWeightedBeta): Uint8Array {
  const options = weighted(msg.options.map((o) => ({ option: o.option, weight: BigInt(o.weight || '0') })));
  addVote(ctx, { proposalId: msg.proposalId, voter: msg.voter, options, metadata: '' });
  return MsgVoteResponse.encode({}).finish();
}

export function votesOf(state: State, proposalId: bigint): VoteState[] {
  return [...state.votes.values()].filter((v) => v.proposalId === proposalId);
}

const emptyTally = (): Tally => ({ yes: 0n, abstain: 0n, no: 0n, veto: 0n });

function addToTally(tally: Tally, options: VoteState['options'], power: bigint): void {
  for (const { option, weight } of options) {
    const part = (power * weight) / DEC;
    if (option === 1) tally.yes += part;
    else if (option === 2) tally.abstain += part;
    else if (option === 3) tally.no += part;
    else if (option === 4) tally.veto += part;
  }
}

/** The SDK tally in Dec atomics of tokens. */
export function tally(state: State, proposalId: bigint): { tally: Tally; passes: boolean; burn: boolean } {
  const result = emptyTally();
  const validators = new Map(
    [...state.validators.values()]
      .filter((v) => v.status === BOND_STATUS.bonded && v.shares > 0n)
      .map((v) => [v.operator, { validator: v, deductions: 0n, vote: null as VoteState['options'] | null }]),
  );
  const byAccount = new Map([...validators.values()].map((entry) => [entry.validator.account, entry]));
  let total = 0n;
  for (const vote of votesOf(state, proposalId)) {
    const own = byAccount.get(vote.voter);
    if (own) own.vote = vote.options;
    for (const delegation of state.delegations.values()) {
      if (delegation.delegator !== vote.voter) continue;
      const entry = validators.get(delegation.validator);
      if (!entry) continue;
      entry.deductions += delegation.shares;
      const power = (delegation.shares * entry.validator.tokens * DEC) / entry.validator.shares;
      addToTally(result, vote.options, power);
      total += power;
    }
  }
  for (const { validator, deductions, vote } of validators.values()) {
    if (!vote) continue;
    const power = ((validator.shares - deductions) * validator.tokens * DEC) / validator.shares;
    addToTally(result, vote, power);
    total += power;
  }
  const bonded = totalBonded(state);
  const params = state.params.gov;
  if (bonded === 0n || total < decFrom(params.quorum) * bonded)
    return { tally: result, passes: false, burn: false };
  if (total - result.abstain === 0n) return { tally: result, passes: false, burn: false };
  if (result.veto * DEC > decFrom(params.vetoThreshold) * total)
    return { tally: result, passes: false, burn: true };
  const passes = result.yes * DEC > decFrom(params.threshold) * (total - result.abstain);
  return { tally: result, passes, burn: false };
}

function settleDeposits(ctx: Ctx, proposalId: bigint, burnThem: boolean): void {
  const prefix = `${proposalId}/`;
  for (const [key, amount] of [...ctx.state.deposits]) {
    if (!key.startsWith(prefix)) continue;
    if (burnThem) burn(ctx, MODULES.gov, amount);
    else sendFromModule(ctx, MODULES.gov, key.slice(prefix.length), amount);
    ctx.state.deposits.delete(key);
  }
}

/**
 * Runs a passed proposal's messages on a copy of the state that replaces it only if all succeed (the
 * SDK's cache context); returns why one failed, or null.
 */
function executeMessages(ctx: Ctx, proposal: ProposalState, dispatcher: Dispatcher): string | null {
  const cache: Ctx = { ...ctx, state: cloneState(ctx.state), events: [] };
  for (const [index, message] of proposal.messages.entries()) {
    try {
      dispatcher.run(cache, message);
    } catch (error) {
      const reason = error instanceof ChainError ? error.message : String(error);
      return `passed, but msg ${index} (${message.typeUrl}) failed on execution: ${reason}`;
    }
  }
  Object.assign(ctx.state, cache.state);
  ctx.events.push(...cache.events);
  return null;
}

/** Ends deposit periods (proposal deleted, deposits burned) and voting periods (tally, then messages). */
export function govEndBlock(ctx: Ctx, dispatcher: Dispatcher): void {
  const { state } = ctx;
  // By id: running a proposal's messages replaces the state's records with their copies.
  for (const id of [...state.proposals.keys()]) {
    const proposal = state.proposals.get(id);
    if (!proposal) continue;
    if (proposal.status === PROPOSAL_STATUS.deposit && proposal.depositEndTimeMs <= ctx.timeMs) {
      settleDeposits(ctx, proposal.id, true);
      state.proposals.delete(proposal.id);
      ctx.events.push(
        event('inactive_proposal', { proposal_id: String(proposal.id), proposal_result: 'proposal_dropped' }),
      );
    } else if (proposal.status === PROPOSAL_STATUS.voting && (proposal.votingEndTimeMs ?? 0) <= ctx.timeMs) {
      const outcome = tally(state, id);
      settleDeposits(ctx, id, outcome.burn);
      const failure = outcome.passes ? executeMessages(ctx, proposal, dispatcher) : null;
      const settled = state.proposals.get(id) ?? proposal;
      settled.status = !outcome.passes
        ? PROPOSAL_STATUS.rejected
        : failure
          ? PROPOSAL_STATUS.failed
          : PROPOSAL_STATUS.passed;
      settled.failedReason = failure ?? '';
      settled.finalTally = outcome.tally;
      for (const vote of votesOf(state, id)) state.votes.delete(voteKey(id, vote.voter));
      const result = !outcome.passes ? 'proposal_rejected' : failure ? 'proposal_failed' : 'proposal_passed';
      ctx.events.push(event('active_proposal', { proposal_id: String(id), proposal_result: result }));
    }
  }
}
