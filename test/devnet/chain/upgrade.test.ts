import { ProposalStatus, VoteOption } from 'cosmjs-types/cosmos/gov/v1/gov';
import { QueryProposalRequest, QueryProposalResponse } from 'cosmjs-types/cosmos/gov/v1/query';
import * as beta from 'cosmjs-types/cosmos/gov/v1beta1/query';
import {
  QueryAppliedPlanRequest,
  QueryAppliedPlanResponse,
  QueryAuthorityRequest,
  QueryAuthorityResponse,
  QueryCurrentPlanRequest,
  QueryCurrentPlanResponse,
} from 'cosmjs-types/cosmos/upgrade/v1beta1/query';
import { MsgCancelUpgrade, MsgSoftwareUpgrade } from 'cosmjs-types/cosmos/upgrade/v1beta1/tx';
import { beforeEach, describe, expect, it } from 'vitest';
import { moduleAddress } from '../../../devnet/chain/codec.js';
import { type Harness, setup } from './harness.js';

const VOTING_MS = 3000;
const GOV = moduleAddress('gov', 'cosmos');

describe('devnet chain: x/upgrade through gov v1', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup({ gov: { votingPeriodMs: VOTING_MS } });
    h.next();
  });

  const upgrade = (name: string, height: number, authority = GOV) => ({
    typeUrl: '/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade',
    value: MsgSoftwareUpgrade.encode(
      MsgSoftwareUpgrade.fromPartial({
        authority,
        plan: { name, height: BigInt(height), info: `${name} info` },
      }),
    ).finish(),
  });
  const cancel = () => ({
    typeUrl: '/cosmos.upgrade.v1beta1.MsgCancelUpgrade',
    value: MsgCancelUpgrade.encode({ authority: GOV }).finish(),
  });
  const submit = (messages: { typeUrl: string; value: Uint8Array }[]) =>
    h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.gov.v1.MsgSubmitProposal',
        value: {
          messages,
          initialDeposit: [{ denom: 'stake', amount: '10000000' }],
          proposer: h.alice,
          metadata: '',
          title: 'Upgrade',
          summary: 'Software upgrade',
        },
      },
    ]);
  /** Both validators vote yes, then blocks run past the voting period. */
  const pass = async (id: bigint) => {
    for (const voter of [h.val0, h.val1]) {
      const r = await h.deliver(voter, [
        {
          typeUrl: '/cosmos.gov.v1.MsgVote',
          value: { proposalId: id, voter, option: VoteOption.VOTE_OPTION_YES, metadata: '' },
        },
      ]);
      expect(r?.result.code).toBe(0);
    }
    for (let i = 0; i <= VOTING_MS / 1000; i++) h.next();
  };
  const proposal = (id: bigint) =>
    h.query('/cosmos.gov.v1.Query/Proposal', QueryProposalRequest, { proposalId: id }, QueryProposalResponse)
      .proposal!;
  const currentPlan = () =>
    h.query(
      '/cosmos.upgrade.v1beta1.Query/CurrentPlan',
      QueryCurrentPlanRequest,
      {},
      QueryCurrentPlanResponse,
    ).plan;
  const appliedHeight = (name: string) =>
    h.query(
      '/cosmos.upgrade.v1beta1.Query/AppliedPlan',
      QueryAppliedPlanRequest,
      { name },
      QueryAppliedPlanResponse,
    ).height;

  it('schedules the plan when the proposal passes, applies it at its height, and answers the queries', async () => {
    const height = h.chain.height() + 10;
    const submitted = await submit([upgrade('v2', height)]);
    expect(submitted?.result.code).toBe(0);
    expect(submitted?.result.events.find((e) => e.type === 'submit_proposal')?.attributes).toContainEqual({
      key: 'proposal_messages',
      value: ',/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade',
      index: true,
    });
    const id = 1n;
    expect(proposal(id).messages.map((m) => m.typeUrl)).toEqual([
      '/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade',
    ]);
    const legacy = h.query(
      '/cosmos.gov.v1beta1.Query/Proposal',
      beta.QueryProposalRequest,
      { proposalId: id },
      beta.QueryProposalResponse,
    ).proposal;
    expect(legacy.content?.typeUrl).toBe('/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade');
    expect(currentPlan()).toBeUndefined();
    await pass(id);
    expect(proposal(id).status).toBe(ProposalStatus.PROPOSAL_STATUS_PASSED);
    expect(currentPlan()).toMatchObject({ name: 'v2', height: BigInt(height), info: 'v2 info' });
    expect(h.chain.upgrade()).toEqual({
      plan: { name: 'v2', height, info: 'v2 info' },
      applied: null,
      appVersion: 0,
    });
    while (h.chain.height() < height - 1) h.next();
    expect(appliedHeight('v2')).toBe(0n);
    h.next();
    expect(currentPlan()).toBeUndefined();
    expect(appliedHeight('v2')).toBe(BigInt(height));
    expect(h.chain.upgrade()).toEqual({ plan: null, applied: { name: 'v2', height }, appVersion: 1 });
    expect(h.chain.info().appVersion).toBe(1);
    expect(h.chain.blockEvents(height)).toContainEqual({
      type: 'upgrade',
      attributes: [
        { key: 'name', value: 'v2', index: true },
        { key: 'height', value: String(height), index: true },
      ],
    });
    expect(
      h.query('/cosmos.upgrade.v1beta1.Query/Authority', QueryAuthorityRequest, {}, QueryAuthorityResponse)
        .address,
    ).toBe(GOV);
  });

  it('refuses messages the gov module does not sign, and fails a passed proposal whose plan is in the past', async () => {
    const wrongAuthority = await submit([upgrade('v2', 1000, h.alice)]);
    expect(wrongAuthority?.result).toMatchObject({ code: 13, codespace: 'gov' });
    const unknown = await submit([{ typeUrl: '/cosmos.nothing.v1.MsgNothing', value: new Uint8Array() }]);
    expect(unknown?.result).toMatchObject({ code: 10, codespace: 'gov' });

    expect((await submit([upgrade('v2', h.chain.height() + 2)]))?.result.code).toBe(0);
    await pass(1n);
    expect(proposal(1n)).toMatchObject({
      status: ProposalStatus.PROPOSAL_STATUS_FAILED,
      failedReason: expect.stringMatching(/^passed, but msg 0 .* upgrade cannot be scheduled in the past/),
    });
    expect(currentPlan()).toBeUndefined();
  });

  it('cancels a scheduled plan through another proposal', async () => {
    expect((await submit([upgrade('v3', h.chain.height() + 100)]))?.result.code).toBe(0);
    await pass(1n);
    expect(currentPlan()?.name).toBe('v3');
    expect((await submit([cancel()]))?.result.code).toBe(0);
    await pass(2n);
    expect(proposal(2n).status).toBe(ProposalStatus.PROPOSAL_STATUS_PASSED);
    expect(currentPlan()).toBeUndefined();
  });
});
