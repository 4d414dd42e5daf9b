/**
 * The ante handler: decode, signer and pubkey checks, gas for size and signatures, minimum fee
 * (mempool only), account sequence, SIGN_MODE_DIRECT signature, then fee deduction and sequence
 * increment. Checks run before any write so a rejected tx leaves the state untouched.
 */
import { rawSecp256k1PubkeyToRawAddress } from '@cosmjs/amino';
import { sha256 } from '@cosmjs/crypto';
import { toBase64, toHex } from '@cosmjs/encoding';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { AuthInfo, SignDoc, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { sendToModule } from './bank.js';
import { coinsFrom, coinsString, decodeBech32, event } from './codec.js';
import type { Ctx } from './context.js';
import { sdk } from './errors.js';
import { type DecodedMsg, decodeMsg } from './router.js';
import { verifySecp256k1 } from './signature.js';
import { MODULES } from './state.js';

export const SECP256K1_PUBKEY = '/cosmos.crypto.secp256k1.PubKey';
/** SDK defaults: TxSizeCostPerByte and SigVerifyCostSecp256k1. */
const GAS_PER_BYTE = 10;
const GAS_PER_SIGNATURE = 1000;
/** Bytes a real signature would add to a simulated tx sent with empty signatures. */
const SIMULATED_SIGNATURE_BYTES = 64;
/** SDK default auth param MaxMemoCharacters. */
const MAX_MEMO_CHARACTERS = 256;

export type Mode = 'check' | 'deliver' | 'simulate';

export interface DecodedTx {
  bytes: Uint8Array;
  raw: TxRaw;
  body: TxBody;
  authInfo: AuthInfo;
  msgs: DecodedMsg[];
  /** Unique signers in order of first appearance. */
  signers: string[];
}

export function decodeTx(bytes: Uint8Array, prefix: string): DecodedTx {
  let raw: TxRaw;
  let body: TxBody;
  let authInfo: AuthInfo;
  try {
    raw = TxRaw.decode(bytes);
    body = TxBody.decode(raw.bodyBytes);
    authInfo = AuthInfo.decode(raw.authInfoBytes);
  } catch (error) {
    throw sdk.txDecode((error as Error).message);
  }
  if (body.messages.length === 0) throw sdk.invalidRequest('must contain at least one message');
  const msgs = body.messages.map((m) => decodeMsg(m, prefix));
  const signers: string[] = [];
  for (const m of msgs) {
    let decodedPrefix: string;
    try {
      decodedPrefix = decodeBech32(m.signer).prefix;
    } catch {
      throw sdk.invalidAddress(`invalid signer address: ${m.signer}`);
    }
    if (decodedPrefix !== prefix)
      throw sdk.invalidAddress(`invalid Bech32 prefix; expected ${prefix}, got ${decodedPrefix}`);
    if (!signers.includes(m.signer)) signers.push(m.signer);
  }
  return { bytes, raw, body, authInfo, msgs, signers };
}

export interface AnteResult {
  gasWanted: number;
  gasUsed: number;
}

/** Signatures already verified (key: sha256 of sign bytes + signature + pubkey), so delivery does not verify twice. */
export type SignatureCache = Set<string>;

export function runAnte(ctx: Ctx, tx: DecodedTx, mode: Mode, cache: SignatureCache): AnteResult {
  const { state } = ctx;
  const { params } = state;
  const { authInfo, raw, signers } = tx;
  if (raw.signatures.length === 0) throw sdk.noSignatures();
  if (tx.body.memo.length > MAX_MEMO_CHARACTERS) {
    throw sdk.memoTooLarge(
      `maximum number of characters is ${MAX_MEMO_CHARACTERS} but received ${tx.body.memo.length} characters`,
    );
  }
  const timeoutHeight = Number(tx.body.timeoutHeight);
  if (timeoutHeight > 0 && ctx.height > timeoutHeight) {
    throw sdk.txTimeoutHeight(`block height: ${ctx.height}, timeout height: ${timeoutHeight}`);
  }
  if (raw.signatures.length !== signers.length || authInfo.signerInfos.length !== signers.length) {
    throw sdk.unauthorized(
      `wrong number of signers; expected ${signers.length}, got ${raw.signatures.length}`,
    );
  }
  const gasWanted = Number(authInfo.fee?.gasLimit ?? 0n);
  const size = tx.bytes.length + (mode === 'simulate' ? SIMULATED_SIGNATURE_BYTES * signers.length : 0);
  const gasUsed = size * GAS_PER_BYTE + GAS_PER_SIGNATURE * signers.length;
  if (mode !== 'simulate' && gasUsed > gasWanted) {
    throw sdk.outOfGas(`out of gas in location: txSize; gasWanted: ${gasWanted}, gasUsed: ${gasUsed}`);
  }

  const fee = coinsFrom(authInfo.fee?.amount ?? []);
  if (mode === 'check' && params.minGasPrice > 0) {
    const required = BigInt(Math.ceil(gasWanted * params.minGasPrice));
    if ((fee.get(params.denom) ?? 0n) < required) {
      throw sdk.insufficientFee(
        `insufficient fees; got: ${coinsString(fee)} required: ${required}${params.denom}`,
      );
    }
  }
  const feePayer = authInfo.fee?.payer || signers[0]!;
  if (!state.accounts.has(feePayer))
    throw sdk.unknownAddress(`fee payer address: ${feePayer} does not exist`);

  const pubkeys = signers.map((signer, i) => {
    const account = state.accounts.get(signer);
    if (!account) throw sdk.unknownAddress(`account ${signer} does not exist`);
    const info = authInfo.signerInfos[i]!;
    let pubkey = account.pubkey;
    if (info.publicKey) {
      if (info.publicKey.typeUrl !== SECP256K1_PUBKEY)
        throw sdk.invalidPubKey(`unsupported key type ${info.publicKey.typeUrl}`);
      pubkey = PubKey.decode(info.publicKey.value).key;
    }
    if (!pubkey) throw sdk.invalidPubKey(`pubkey on account ${signer} is not set`);
    if (toHex(rawSecp256k1PubkeyToRawAddress(pubkey)) !== toHex(decodeBech32(signer).data)) {
      throw sdk.invalidPubKey(`pubKey does not match signer address ${signer} with signer index: ${i}`);
    }
    if (info.sequence !== account.sequence) {
      throw sdk.wrongSequence(
        `account sequence mismatch, expected ${account.sequence}, got ${info.sequence}`,
      );
    }
    if (mode !== 'simulate') verifySignature(tx, i, pubkey, account.accountNumber, params.chainId, cache);
    return pubkey;
  });

  // All checks passed: now write (fee, pubkeys, sequences), emitting the SDK's ante events.
  sendToModule(ctx, feePayer, MODULES.feeCollector, fee);
  ctx.events.push(event('tx', { fee: coinsString(fee), fee_payer: feePayer }));
  signers.forEach((signer, i) => {
    const account = state.accounts.get(signer)!;
    account.pubkey = pubkeys[i]!;
    ctx.events.push(event('tx', { acc_seq: `${signer}/${account.sequence}` }));
    account.sequence += 1n;
  });
  ctx.events.push(event('tx', { signature: raw.signatures.map((s) => toBase64(s)).join(',') }));
  return { gasWanted, gasUsed };
}

function verifySignature(
  tx: DecodedTx,
  index: number,
  pubkey: Uint8Array,
  accountNumber: bigint,
  chainId: string,
  cache: SignatureCache,
): void {
  const signature = tx.raw.signatures[index]!;
  const signBytes = SignDoc.encode({
    bodyBytes: tx.raw.bodyBytes,
    authInfoBytes: tx.raw.authInfoBytes,
    chainId,
    accountNumber,
  }).finish();
  const key = toHex(sha256(new Uint8Array([...signBytes, ...signature, ...pubkey])));
  if (cache.has(key)) return;
  const valid = verifySecp256k1(signBytes, signature, pubkey);
  if (!valid) {
    const sequence = tx.authInfo.signerInfos[index]!.sequence;
    throw sdk.unauthorized(
      `signature verification failed; please verify account number (${accountNumber}), sequence (${sequence}) and chain-id (${chainId})`,
    );
  }
  cache.add(key);
}
