import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import {
  QueryGranteeGrantsRequest,
  QueryGranteeGrantsResponse,
  QueryGrantsRequest,
  QueryGrantsResponse,
} from 'cosmjs-types/cosmos/authz/v1beta1/query';
import { VoteOption } from 'cosmjs-types/cosmos/gov/v1/gov';
import { QueryVoteRequest, QueryVoteResponse } from 'cosmjs-types/cosmos/gov/v1/query';
import { MsgVote } from 'cosmjs-types/cosmos/gov/v1/tx';
import { AuthorizationType, StakeAuthorization } from 'cosmjs-types/cosmos/staking/v1beta1/authz';
import { QueryDelegationRequest, QueryDelegationResponse } from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { MsgDelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Harness, setup } from './harness.js';

describe('devnet chain: authz', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup();
    h.next();
  });

  const grant = (
    granter: string,
    grantee: string,
    authorization: { typeUrl: string; value: Uint8Array },
    expirationMs?: number,
  ) => ({
    typeUrl: '/cosmos.authz.v1beta1.MsgGrant',
    value: {
      granter,
      grantee,
      grant: {
        authorization,
        expiration: expirationMs ? { seconds: BigInt(Math.floor(expirationMs / 1000)), nanos: 0 } : undefined,
      },
    },
  });
  const exec = (grantee: string, msgs: { typeUrl: string; value: Uint8Array }[]) => ({
    typeUrl: '/cosmos.authz.v1beta1.MsgExec',
    value: { grantee, msgs },
  });
  const voteMsg = (voter: string, proposalId: bigint) => ({
    typeUrl: '/cosmos.gov.v1.MsgVote',
    value: MsgVote.encode({ proposalId, voter, option: VoteOption.VOTE_OPTION_YES, metadata: '' }).finish(),
  });
  const delegateMsg = (delegator: string, validator: string, amount: string) => ({
    typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
    value: MsgDelegate.encode({
      delegatorAddress: delegator,
      validatorAddress: validator,
      amount: { denom: 'stake', amount },
    }).finish(),
  });
  const generic = (msg: string) => ({
    typeUrl: '/cosmos.authz.v1beta1.GenericAuthorization',
    value: GenericAuthorization.encode({ msg }).finish(),
  });

  it('lets a grantee vote for the granter with a generic grant, and rejects exec without a grant', async () => {
    const id = BigInt(
      h.chain.submitProposal({ title: 'T', summary: 'S', proposer: h.alice, nowMs: h.timeMs() }),
    );
    const denied = await h.deliver(h.bob, [exec(h.bob, [voteMsg(h.val0, id)])]);
    expect(denied?.result).toMatchObject({ code: 2, codespace: 'authz' });
    expect(denied?.result.log).toBe(
      `failed to execute message; message index: 0: failed to get grant with given granter: ${h.val0}, grantee: ${h.bob} & msgType: /cosmos.gov.v1.MsgVote : authorization not found`,
    );

    const granted = await h.deliver(h.val0, [grant(h.val0, h.bob, generic('/cosmos.gov.v1.MsgVote'))]);
    expect(granted?.result.code).toBe(0);
    const grants = h.query(
      '/cosmos.authz.v1beta1.Query/Grants',
      QueryGrantsRequest,
      { granter: h.val0, grantee: h.bob, msgTypeUrl: '/cosmos.gov.v1.MsgVote' },
      QueryGrantsResponse,
    );
    expect(grants.grants).toHaveLength(1);
    const voted = await h.deliver(h.bob, [exec(h.bob, [voteMsg(h.val0, id)])]);
    expect(voted?.result.code).toBe(0);
    expect(voted?.result.events.some((e) => e.type === 'proposal_vote')).toBe(true);
    const stored = h.query(
      '/cosmos.gov.v1.Query/Vote',
      QueryVoteRequest,
      { proposalId: id, voter: h.val0 },
      QueryVoteResponse,
    );
    expect(stored.vote?.voter).toBe(h.val0);

    const revoked = await h.deliver(h.val0, [
      {
        typeUrl: '/cosmos.authz.v1beta1.MsgRevoke',
        value: { granter: h.val0, grantee: h.bob, msgTypeUrl: '/cosmos.gov.v1.MsgVote' },
      },
    ]);
    expect(revoked?.result.code).toBe(0);
    const again = await h.deliver(h.bob, [exec(h.bob, [voteMsg(h.val0, id)])]);
    expect(again?.result).toMatchObject({ code: 2, codespace: 'authz' });
  });

  it('enforces a stake authorization allow list and max tokens, deleting it when used up', async () => {
    const stake = {
      typeUrl: '/cosmos.staking.v1beta1.StakeAuthorization',
      value: StakeAuthorization.encode({
        allowList: { address: [h.valoper1] },
        maxTokens: { denom: 'stake', amount: '3000000' },
        authorizationType: AuthorizationType.AUTHORIZATION_TYPE_DELEGATE,
      }).finish(),
    };
    expect((await h.deliver(h.alice, [grant(h.alice, h.bob, stake)]))?.result.code).toBe(0);

    const ok = await h.deliver(h.bob, [exec(h.bob, [delegateMsg(h.alice, h.valoper1, '2000000')])]);
    expect(ok?.result.code).toBe(0);
    const delegation = h.query(
      '/cosmos.staking.v1beta1.Query/Delegation',
      QueryDelegationRequest,
      { delegatorAddr: h.alice, validatorAddr: h.valoper1 },
      QueryDelegationResponse,
    );
    expect(delegation.delegationResponse?.balance.amount).toBe('2000000');
    const left = h.query(
      '/cosmos.authz.v1beta1.Query/GranteeGrants',
      QueryGranteeGrantsRequest,
      { grantee: h.bob },
      QueryGranteeGrantsResponse,
    ).grants;
    expect(StakeAuthorization.decode(left[0]!.authorization!.value).maxTokens?.amount).toBe('1000000');

    const wrongValidator = await h.deliver(h.bob, [exec(h.bob, [delegateMsg(h.alice, h.valoper0, '1')])]);
    expect(wrongValidator?.result).toMatchObject({ code: 4, codespace: 'sdk' });
    expect(wrongValidator?.result.log).toContain(`cannot delegate/undelegate to ${h.valoper0} validator`);
    const tooMuch = await h.deliver(h.bob, [exec(h.bob, [delegateMsg(h.alice, h.valoper1, '1000001')])]);
    expect(tooMuch?.result.code).not.toBe(0);

    expect(
      (await h.deliver(h.bob, [exec(h.bob, [delegateMsg(h.alice, h.valoper1, '1000000')])]))?.result.code,
    ).toBe(0);
    const none = h.query(
      '/cosmos.authz.v1beta1.Query/GranteeGrants',
      QueryGranteeGrantsRequest,
      { grantee: h.bob },
      QueryGranteeGrantsResponse,
    ).grants;
    expect(none).toEqual([]);
  });

  it('refuses expired grants and grants to oneself', async () => {
    const self = await h.deliver(h.alice, [grant(h.alice, h.alice, generic('/cosmos.gov.v1.MsgVote'))]);
    expect(self?.result).toMatchObject({ code: 7, codespace: 'authz' });
    const past = await h.deliver(h.alice, [
      grant(h.alice, h.bob, generic('/cosmos.gov.v1.MsgVote'), h.timeMs() - 60_000),
    ]);
    expect(past?.result).toMatchObject({ code: 3, codespace: 'authz' });
    const soon = h.timeMs() + 3000;
    expect(
      (await h.deliver(h.alice, [grant(h.alice, h.bob, generic('/cosmos.gov.v1.MsgVote'), soon)]))?.result
        .code,
    ).toBe(0);
    h.next({ advanceMs: 5000 });
    const id = BigInt(
      h.chain.submitProposal({ title: 'T', summary: 'S', proposer: h.alice, nowMs: h.timeMs() }),
    );
    const late = await h.deliver(h.bob, [exec(h.bob, [voteMsg(h.alice, id)])]);
    expect(late?.result).toMatchObject({ code: 2, codespace: 'authz' });
  });
});
