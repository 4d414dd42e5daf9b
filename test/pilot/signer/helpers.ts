/** Votes, proposals and signature checks shared by the signer tests. */
import { createPublicKey, verify } from 'node:crypto';
import { type BlockID, type Proposal, SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import { timestampFromMs } from '../../../cometbft/canonical.js';
import { emptyProposal, emptyVote } from '../../../cometbft/privval.js';
import { generateCometKey } from '../../../pilot/custody.js';
import { ValidatorKey } from '../../../pilot/signer/key.js';

export const CHAIN = 'beam-test-1';
export const { PREVOTE, PRECOMMIT } = {
  PREVOTE: SignedMsgType.SIGNED_MSG_TYPE_PREVOTE,
  PRECOMMIT: SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT,
};
/** 2026-12-01T10:00:00Z. */
export const T0 = 1_796_119_200_000;

export const testKey = () => ValidatorKey.fromCometKey(generateCometKey());

/** A block id derived from one byte; null is the nil block. */
export function blockId(b: number | null): BlockID {
  if (b === null) return emptyVote().blockId;
  return {
    hash: new Uint8Array(32).fill(b),
    partSetHeader: { total: 1, hash: new Uint8Array(32).fill(b + 1) },
  };
}

export function vote(
  type: SignedMsgType,
  height: number,
  round: number,
  { block = 1, ms = T0, extension = '' }: { block?: number | null; ms?: number; extension?: string } = {},
): Vote {
  return {
    ...emptyVote(),
    type,
    height: BigInt(height),
    round,
    blockId: blockId(block),
    timestamp: timestampFromMs(ms),
    validatorAddress: new Uint8Array(20).fill(7),
    extension: new TextEncoder().encode(extension),
  };
}

export function proposal(height: number, round: number, { block = 1, ms = T0 } = {}): Proposal {
  return {
    ...emptyProposal(),
    type: SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL,
    height: BigInt(height),
    round,
    polRound: -1,
    blockId: blockId(block),
    timestamp: timestampFromMs(ms),
  };
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Whether `signature` is pubKey's ed25519 signature of `message`, checked with node:crypto. */
export function verifies(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, pubKey]),
    format: 'der',
    type: 'spki',
  });
  return signature.length === 64 && verify(null, message, key, signature);
}
