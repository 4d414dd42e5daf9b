/**
 * Drives the devnet ChainApp in-process with real cosmjs signing (SIGN_MODE_DIRECT): genesis with two
 * validators and two users, signed txs, blocks with chosen signers and evidence, typed queries.
 */
import { encodeSecp256k1Pubkey, makeCosmoshubPath } from '@cosmjs/amino';
import { fromBase64, toBech32, fromBech32 } from '@cosmjs/encoding';
import {
  DirectSecp256k1HdWallet,
  type EncodeObject,
  Registry,
  encodePubkey,
  makeAuthInfoBytes,
  makeSignDoc,
} from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryBalanceRequest, QueryBalanceResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { MsgUnjail } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import {
  type ChainApp,
  type DoubleSignEvidence,
  type Genesis,
  createChain,
  defaultParams,
} from '../../../devnet/chain/index.js';

export const MNEMONIC =
  'surround miss nominee dream gap cross assault thank captain prosper drop duty group candy wealth weather scale put';
export const GENESIS_MS = Date.UTC(2026, 0, 1);
export const BLOCK_MS = 1000;
const DENOM = 'stake';

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
  fromPartial(object: never): T;
}

export interface Harness {
  chain: ChainApp;
  wallet: DirectSecp256k1HdWallet;
  /** Operator accounts of validators 0 and 1, then two plain users. */
  val0: string;
  val1: string;
  alice: string;
  bob: string;
  valoper0: string;
  valoper1: string;
  /** Consensus (hex) addresses of the two validators. */
  cons0: string;
  cons1: string;
  timeMs(): number;
  sign(signer: string, msgs: EncodeObject[], options?: SignOptions): Promise<Uint8Array>;
  /** Signs, checkTx (must be accepted), and produces the next block; returns the delivered result. */
  deliver(
    signer: string,
    msgs: EncodeObject[],
    options?: SignOptions,
  ): Promise<ReturnType<ChainApp['txResult']>>;
  /** Next block; the previous block's commit is signed by every validator of its set except `absent`. */
  next(options?: {
    absent?: string[];
    evidence?: Parameters<ChainApp['produceBlock']>[0]['evidence'];
    advanceMs?: number;
  }): void;
  query<Req, Res>(path: string, req: Codec<Req>, request: unknown, res: Codec<Res>): Res;
  balance(address: string, denom?: string): bigint;
}

/** Evidence of `validatorAddress` precommitting both nil and a block at `height`. */
export function conflictingVotes(
  validatorAddress: string,
  height: number,
  timeMs: number,
): DoubleSignEvidence {
  const vote = (node: string, blockHash: string | null) => ({
    node,
    blockHash,
    timestampMs: timeMs,
    signature: '',
  });
  return {
    kind: 'conflicting-votes',
    validatorAddress,
    height,
    round: 0,
    type: 'precommit',
    timeMs,
    votes: [vote('a', null), vote('b', 'AB'.repeat(32))],
  };
}

export interface SignOptions {
  sequence?: bigint;
  accountNumber?: bigint;
  chainId?: string;
  gas?: number;
  feeAmount?: string;
  memo?: string;
}

export async function setup(overrides: Parameters<typeof defaultParams>[0] = {}): Promise<Harness> {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(MNEMONIC, {
    hdPaths: [0, 1, 2, 3].map((i) => makeCosmoshubPath(i)),
  });
  const accounts = await wallet.getAccounts();
  const [val0, val1, alice, bob] = accounts.map((a) => a.address) as [string, string, string, string];
  const pubkeys = new Map(accounts.map((a) => [a.address, a.pubkey]));
  const params = defaultParams({ chainId: 'beam-test-1', ...overrides });
  const consKey = (fill: number) => new Uint8Array(32).fill(fill);
  const genesis: Genesis = {
    params,
    genesisTimeMs: GENESIS_MS,
    accounts: [val0, val1, alice, bob].map((address) => ({
      address,
      coins: [{ denom: DENOM, amount: '1000000000000' }],
    })),
    validators: [
      {
        moniker: 'v0',
        operatorAccount: val0,
        consensusPubkey: consKey(7),
        selfDelegation: '100000000',
        commissionRate: '0.1',
      },
      {
        moniker: 'v1',
        operatorAccount: val1,
        consensusPubkey: consKey(9),
        selfDelegation: '50000000',
        commissionRate: '0.05',
      },
    ],
  };
  const chain = createChain(genesis);
  const registry = new Registry(defaultRegistryTypes);
  registry.register('/cosmos.slashing.v1beta1.MsgUnjail', MsgUnjail);
  let now = GENESIS_MS;
  const valoper = (a: string) => toBech32('cosmosvaloper', fromBech32(a, 256).data);
  const [set0, set1] = chain.validatorSet(1);

  const query = <Req, Res>(path: string, req: Codec<Req>, request: unknown, res: Codec<Res>): Res => {
    const result = chain.query(path, req.encode(req.fromPartial(request as never)).finish());
    if (result.code !== 0) throw new Error(`Query failed with (${result.code}): ${result.log}`);
    return res.decode(result.value);
  };

  const sign = async (signer: string, msgs: EncodeObject[], options: SignOptions = {}) => {
    const { account } = query(
      '/cosmos.auth.v1beta1.Query/Account',
      QueryAccountRequest,
      { address: signer },
      QueryAccountResponse,
    );
    const base = BaseAccount.decode(account!.value);
    const sequence = options.sequence ?? base.sequence;
    const gas = options.gas ?? 200_000;
    const bodyBytes = registry.encodeTxBody({ messages: msgs, memo: options.memo ?? '' });
    const pubkey = encodePubkey(encodeSecp256k1Pubkey(pubkeys.get(signer)!));
    const fee = [{ denom: DENOM, amount: options.feeAmount ?? String(Math.ceil(gas * params.minGasPrice)) }];
    const authInfoBytes = makeAuthInfoBytes([{ pubkey, sequence }], fee, gas, undefined, undefined);
    const signDoc = makeSignDoc(
      bodyBytes,
      authInfoBytes,
      options.chainId ?? params.chainId,
      options.accountNumber ?? base.accountNumber,
    );
    const { signature } = await wallet.signDirect(signer, signDoc);
    return TxRaw.encode({ bodyBytes, authInfoBytes, signatures: [fromBase64(signature.signature)] }).finish();
  };

  const next: Harness['next'] = (options = {}) => {
    const height = chain.height();
    const absent = new Set(options.absent ?? []);
    const lastCommit =
      height === 0
        ? null
        : {
            height,
            round: 0,
            blockHash: chain.block(height)!.hash,
            signatures: chain.validatorSet(height).map((v) =>
              absent.has(v.address)
                ? null
                : {
                    blockIdFlag: 'commit' as const,
                    validatorAddress: v.address,
                    timestampMs: now,
                    signature: new Uint8Array(64),
                  },
            ),
          };
    now += options.advanceMs ?? BLOCK_MS;
    chain.produceBlock({ timeMs: now, lastCommit, evidence: options.evidence ?? [] });
  };

  const deliver: Harness['deliver'] = async (signer, msgs, options) => {
    const tx = await sign(signer, msgs, options);
    const check = chain.checkTx(tx);
    if (check.code !== 0)
      throw new Error(`checkTx rejected (${check.codespace} ${check.code}): ${check.log}`);
    next();
    return chain.txResult(check.hash);
  };

  const balance = (address: string, denom = DENOM) =>
    BigInt(
      query(
        '/cosmos.bank.v1beta1.Query/Balance',
        QueryBalanceRequest,
        { address, denom },
        QueryBalanceResponse,
      ).balance!.amount,
    );

  return {
    chain,
    wallet,
    val0,
    val1,
    alice,
    bob,
    valoper0: valoper(val0),
    valoper1: valoper(val1),
    cons0: set0!.address,
    cons1: set1!.address,
    timeMs: () => now,
    sign,
    deliver,
    next,
    query,
    balance,
  };
}
