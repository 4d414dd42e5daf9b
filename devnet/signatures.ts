/**
 * The devnet's consensus messages as CometBFT signs them: block ids, the app's vote extension, and
 * signature checks over the canonical sign bytes (the hub checks every message a node sends; a
 * node checks its remote signer's answers the same way).
 */
import { type BlockID, type Proposal, SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import {
  isZeroBlockId,
  proposalSignBytes,
  voteExtensionSignBytes,
  voteSignBytes,
} from '../cometbft/canonical.js';
import type { SignedKind } from './chain/types.js';
import { hex, partsHash } from './cometjson.js';
import { verifyEd25519 } from './keys.js';

/** The id of a devnet block: its hash and a one-part part set. */
export function blockIdOf(hash: Uint8Array): BlockID {
  return { hash, partSetHeader: { total: 1, hash: partsHash(hash) } };
}

export function nilBlockId(): BlockID {
  return { hash: new Uint8Array(), partSetHeader: { total: 0, hash: new Uint8Array() } };
}

/** Uppercase hex hash of the block a message signs for; null for nil. */
export function blockHashOf(id: BlockID | undefined): string | null {
  return !id || isZeroBlockId(id) ? null : hex(id.hash);
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return Buffer.from(a ?? []).equals(Buffer.from(b ?? []));
}

export function sameBlockId(a: BlockID | undefined, b: BlockID | undefined): boolean {
  return (
    sameBytes(a?.hash, b?.hash) &&
    (a?.partSetHeader.total ?? 0) === (b?.partSetHeader.total ?? 0) &&
    sameBytes(a?.partSetHeader.hash, b?.partSetHeader.hash)
  );
}

export function voteKind(type: SignedMsgType): SignedKind | null {
  if (type === SignedMsgType.SIGNED_MSG_TYPE_PREVOTE) return 'prevote';
  if (type === SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT) return 'precommit';
  return null;
}

/** CometBFT's ABCIParams.VoteExtensionsEnabled: 0 is off, else on from that height. */
export function extensionsEnabled(enableHeight: number | undefined, height: number): boolean {
  return !!enableHeight && height >= enableHeight;
}

/** The devnet app's ExtendVote answer: the height, 8 bytes big-endian (VerifyVoteExtension wants exactly this). */
export function voteExtensionFor(height: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(height));
  return bytes;
}

/** A precommit for a block (not nil): the only vote that carries an extension. */
export function isBlockPrecommit(vote: Vote): boolean {
  return vote.type === SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT && !isZeroBlockId(vote.blockId);
}

export function validVoteSignature(chainId: string, pubKey: Uint8Array, vote: Vote): boolean {
  return verifyEd25519(pubKey, voteSignBytes(chainId, vote), vote.signature);
}

export function validExtensionSignature(chainId: string, pubKey: Uint8Array, vote: Vote): boolean {
  return verifyEd25519(pubKey, voteExtensionSignBytes(chainId, vote), vote.extensionSignature);
}

export function validProposalSignature(chainId: string, pubKey: Uint8Array, proposal: Proposal): boolean {
  return verifyEd25519(pubKey, proposalSignBytes(chainId, proposal), proposal.signature);
}
