import { ProposalStatus, VoteOption } from 'cosmjs-types/cosmos/gov/v1/gov';
import {
  QueryParamsRequest,
  QueryParamsResponse,
  QueryProposalRequest,
  QueryProposalResponse,
  QueryProposalsRequest,
  QueryProposalsResponse,
  QueryTallyResultRequest,
  QueryTallyResultResponse,
  QueryVoteRequest,
  QueryVoteResponse,
} from 'cosmjs-types/cosmos/gov/v1/query';
import * as beta from 'cosmjs-types/cosmos/gov/v1beta1/query';
import { MsgSubmitProposalResponse } from 'cosmjs-types/cosmos/gov/v1/tx';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Harness, setup } from './harness.js';

const VOTING_MS = 5000;

describe('devnet chain: gov v1', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup({
      gov: {
        minDeposit: '10000000',
        votingPeriodMs: VOTING_MS,
        quorum: 0.334,
        threshold: 0.5,
        vetoThreshold: 0.334,
      },
    });
    h.next();
  });

  const proposal = (id: bigint) =>
    h.query('/cosmos.gov.v1.Query/Proposal', QueryProposalRequest, { proposalId: id }, QueryProposalResponse)
      .proposal!;
  const vote = (voter: string, id: bigint, option: VoteOption) =>
    h.deliver(voter, [
      { typeUrl: '/cosmos.gov.v1.MsgVote', value: { proposalId: id, voter, option, metadata: '' } },
    ]);
  const endVoting = () => {
    for (let i = 0; i < VOTING_MS / 1000 + 1; i++) h.next();
  };

  async function submit(deposit: string): Promise<bigint> {
    const result = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.gov.v1.MsgSubmitProposal',
        value: {
          messages: [],
          initialDeposit: [{ denom: 'stake', amount: deposit }],
          proposer: h.alice,
          metadata: 'ipfs://meta',
          title: 'Upgrade',
          summary: 'Move to v2',
        },
      },
    ]);
    expect(result?.result.code).toBe(0);
    const response = TxMsgData.decode(result!.result.data).msgResponses[0]!;
    return MsgSubmitProposalResponse.decode(response.value).proposalId;
  }

  it('runs a proposal from deposit to a passed tally and refunds the deposit', async () => {
    const id = await submit('4000000');
    expect(proposal(id).status).toBe(ProposalStatus.PROPOSAL_STATUS_DEPOSIT_PERIOD);
    const deposit = await h.deliver(h.bob, [
      {
        typeUrl: '/cosmos.gov.v1.MsgDeposit',
        value: { proposalId: id, depositor: h.bob, amount: [{ denom: 'stake', amount: '6000000' }] },
      },
    ]);
    expect(deposit?.result.code).toBe(0);
    expect(proposal(id)).toMatchObject({
      status: ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD,
      title: 'Upgrade',
    });
    const bobBefore = h.balance(h.bob);

    expect((await vote(h.val0, id, VoteOption.VOTE_OPTION_YES))?.result.code).toBe(0);
    expect((await vote(h.val1, id, VoteOption.VOTE_OPTION_NO))?.result.code).toBe(0);
    const stored = h.query(
      '/cosmos.gov.v1.Query/Vote',
      QueryVoteRequest,
      { proposalId: id, voter: h.val0 },
      QueryVoteResponse,
    );
    expect(stored.vote?.options).toEqual([
      { option: VoteOption.VOTE_OPTION_YES, weight: '1.000000000000000000' },
    ]);
    const missing = h.chain.query(
      '/cosmos.gov.v1.Query/Vote',
      QueryVoteRequest.encode({ proposalId: id, voter: h.bob }).finish(),
    );
    expect(missing).toMatchObject({ code: 18, codespace: 'sdk' });
    expect(missing.log).toContain(`voter: ${h.bob} not found for proposal: ${id}`);
    const byVoter = h.query(
      '/cosmos.gov.v1.Query/Proposals',
      QueryProposalsRequest,
      { voter: h.val1 },
      QueryProposalsResponse,
    );
    expect(byVoter.proposals.map((p) => p.id)).toEqual([id]);

    endVoting();
    const done = proposal(id);
    expect(done.status).toBe(ProposalStatus.PROPOSAL_STATUS_PASSED);
    expect(done.finalTallyResult).toEqual({
      yesCount: '100000000',
      noCount: '50000000',
      abstainCount: '0',
      noWithVetoCount: '0',
    });
    expect(h.balance(h.bob)).toBe(bobBefore + 6000000n);
    const legacy = h.query(
      '/cosmos.gov.v1beta1.Query/Proposal',
      beta.QueryProposalRequest,
      { proposalId: id },
      beta.QueryProposalResponse,
    ).proposal;
    expect(legacy.status).toBe(ProposalStatus.PROPOSAL_STATUS_PASSED);
    expect(legacy.finalTallyResult.yes).toBe('100000000');
  });

  it('lets delegators override their validator and inherit its vote when silent', async () => {
    // Alice delegates 200 to val1 and votes yes herself; bob delegates 100 to val1 and stays silent.
    const delegate = (who: string, amount: string) =>
      h.deliver(who, [
        {
          typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
          value: { delegatorAddress: who, validatorAddress: h.valoper1, amount: { denom: 'stake', amount } },
        },
      ]);
    await delegate(h.alice, '200000000');
    await delegate(h.bob, '100000000');
    const id = BigInt(
      h.chain.submitProposal({ title: 'Signal', summary: 'Text', proposer: h.alice, nowMs: h.timeMs() }),
    );
    expect(proposal(id).status).toBe(ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD);
    await vote(h.val0, id, VoteOption.VOTE_OPTION_YES);
    await vote(h.val1, id, VoteOption.VOTE_OPTION_NO);
    await vote(h.alice, id, VoteOption.VOTE_OPTION_YES);
    const live = h.query(
      '/cosmos.gov.v1.Query/TallyResult',
      QueryTallyResultRequest,
      { proposalId: id },
      QueryTallyResultResponse,
    ).tally;
    // yes: val0 100 + alice 200; no: val1's own 50 + bob's inherited 100.
    expect(live).toMatchObject({ yesCount: '300000000', noCount: '150000000' });
    endVoting();
    expect(proposal(id).status).toBe(ProposalStatus.PROPOSAL_STATUS_PASSED);
  });

  it('rejects a proposal without quorum, and burns the deposit on veto', async () => {
    const quiet = BigInt(
      h.chain.submitProposal({ title: 'Quiet', summary: '-', proposer: h.alice, nowMs: h.timeMs() }),
    );
    const vetoed = await submit('10000000');
    await vote(h.val0, vetoed, VoteOption.VOTE_OPTION_NO_WITH_VETO);
    const aliceBefore = h.balance(h.alice);
    endVoting();
    expect(proposal(quiet).status).toBe(ProposalStatus.PROPOSAL_STATUS_REJECTED);
    expect(proposal(vetoed).status).toBe(ProposalStatus.PROPOSAL_STATUS_REJECTED);
    expect(h.balance(h.alice)).toBe(aliceBefore);
    const late = await vote(h.val0, quiet, VoteOption.VOTE_OPTION_YES);
    expect(late?.result).toMatchObject({ code: 3, codespace: 'gov' });
  });

  it('accepts weighted votes (v1 decimals, v1beta1 atomics) and rejects weights not summing to 1', async () => {
    const id = BigInt(
      h.chain.submitProposal({ title: 'W', summary: '-', proposer: h.alice, nowMs: h.timeMs() }),
    );
    const v1 = await h.deliver(h.val0, [
      {
        typeUrl: '/cosmos.gov.v1.MsgVoteWeighted',
        value: {
          proposalId: id,
          voter: h.val0,
          metadata: '',
          options: [
            { option: VoteOption.VOTE_OPTION_YES, weight: '0.75' },
            { option: VoteOption.VOTE_OPTION_NO, weight: '0.25' },
          ],
        },
      },
    ]);
    expect(v1?.result.code).toBe(0);
    const legacy = await h.deliver(h.val1, [
      {
        typeUrl: '/cosmos.gov.v1beta1.MsgVoteWeighted',
        value: {
          proposalId: id,
          voter: h.val1,
          options: [{ option: VoteOption.VOTE_OPTION_NO, weight: '1000000000000000000' }],
        },
      },
    ]);
    expect(legacy?.result.code).toBe(0);
    const live = h.query(
      '/cosmos.gov.v1.Query/TallyResult',
      QueryTallyResultRequest,
      { proposalId: id },
      QueryTallyResultResponse,
    );
    expect(live.tally).toMatchObject({ yesCount: '75000000', noCount: '75000000' });
    const bad = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.gov.v1.MsgVoteWeighted',
        value: {
          proposalId: id,
          voter: h.alice,
          metadata: '',
          options: [{ option: VoteOption.VOTE_OPTION_YES, weight: '0.5' }],
        },
      },
    ]);
    expect(bad?.result).toMatchObject({ code: 7, codespace: 'gov' });
  });

  it('answers params in v1 decimal strings and v1beta1 atomics', () => {
    const v1 = h.query(
      '/cosmos.gov.v1.Query/Params',
      QueryParamsRequest,
      { paramsType: 'tallying' },
      QueryParamsResponse,
    );
    expect(v1.params?.quorum).toBe('0.334000000000000000');
    expect(v1.params?.votingPeriod?.seconds).toBe(5n);
    const old = h.query(
      '/cosmos.gov.v1beta1.Query/Params',
      beta.QueryParamsRequest,
      { paramsType: 'tallying' },
      beta.QueryParamsResponse,
    );
    expect(new TextDecoder().decode(old.tallyParams.quorum)).toBe('334000000000000000');
  });
});
