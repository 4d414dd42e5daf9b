/** Genesis-time authz grants from a validator's account to the `hot` account, sent as a real signed tx. */
import {
  DirectSecp256k1HdWallet,
  Registry,
  encodePubkey,
  makeAuthInfoBytes,
  makeSignDoc,
} from '@cosmjs/proto-signing';
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { MsgGrant } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { AuthorizationType, StakeAuthorization } from 'cosmjs-types/cosmos/staking/v1beta1/authz';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { ChainApp } from './chain/types.js';

const GENERIC_GRANTS = [
  '/cosmos.gov.v1.MsgVote',
  '/cosmos.gov.v1beta1.MsgVote',
  '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
  '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
  '/cosmos.slashing.v1beta1.MsgUnjail',
];

export function grantMessages(granter: string, grantee: string, validatorOperator: string) {
  const generic = GENERIC_GRANTS.map((msg) => ({
    typeUrl: '/cosmos.authz.v1beta1.GenericAuthorization',
    value: GenericAuthorization.encode({ msg }).finish(),
  }));
  const stake = {
    typeUrl: '/cosmos.staking.v1beta1.StakeAuthorization',
    value: StakeAuthorization.encode(
      StakeAuthorization.fromPartial({
        allowList: { address: [validatorOperator] },
        authorizationType: AuthorizationType.AUTHORIZATION_TYPE_DELEGATE,
      }),
    ).finish(),
  };
  return [...generic, stake].map((authorization) => ({
    typeUrl: '/cosmos.authz.v1beta1.MsgGrant',
    value: MsgGrant.fromPartial({
      granter,
      grantee,
      grant: { authorization: Any.fromPartial(authorization) },
    }),
  }));
}

/** Signs and submits the grants; returns the tx hash (the tx lands in the next block). */
export async function submitGrants(
  chain: ChainApp,
  mnemonic: string,
  grantee: string,
  validatorOperator: string,
): Promise<Uint8Array> {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: chain.params.bech32Prefix });
  const [account] = await wallet.getAccounts();
  if (!account) throw new Error('grants: wallet has no account');
  const res = chain.query(
    '/cosmos.auth.v1beta1.Query/Account',
    QueryAccountRequest.encode({ address: account.address }).finish(),
  );
  if (res.code !== 0) throw new Error(`grants: account query failed: ${res.log}`);
  const any = QueryAccountResponse.decode(res.value).account;
  if (!any) throw new Error(`grants: account ${account.address} not found`);
  const base = BaseAccount.decode(any.value);
  const registry = new Registry([['/cosmos.authz.v1beta1.MsgGrant', MsgGrant]]);
  const bodyBytes = registry.encodeTxBody({
    messages: grantMessages(account.address, grantee, validatorOperator),
    memo: '',
  });
  const gas = 600_000;
  const fee = Math.ceil(gas * chain.params.minGasPrice);
  const authInfoBytes = makeAuthInfoBytes(
    [{ pubkey: encodePubkey(encodeSecp256k1Pubkey(account.pubkey)), sequence: Number(base.sequence) }],
    [{ denom: chain.params.denom, amount: String(fee) }],
    gas,
    undefined,
    undefined,
  );
  const signDoc = makeSignDoc(bodyBytes, authInfoBytes, chain.params.chainId, Number(base.accountNumber));
  const { signed, signature } = await wallet.signDirect(account.address, signDoc);
  const tx = TxRaw.encode({
    bodyBytes: signed.bodyBytes,
    authInfoBytes: signed.authInfoBytes,
    signatures: [Buffer.from(signature.signature, 'base64')],
  }).finish();
  const check = chain.checkTx(tx);
  if (check.code !== 0)
    throw new Error(`grants: tx rejected (code ${check.code}, ${check.codespace}): ${check.log}`);
  return check.hash;
}
