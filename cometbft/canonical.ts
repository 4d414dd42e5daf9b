/**
 * CometBFT's canonical sign bytes (tendermint/types/canonical.proto, v0.38): what a validator key
 * signs for a proposal, a vote and a vote extension. Each is a length-delimited protobuf message.
 * cosmjs-types ships no canonical types, so they are written field by field.
 */
import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';
import { Timestamp } from 'cosmjs-types/google/protobuf/timestamp';
import { type BlockID, type Proposal, SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';

/** Go's zero time.Time (0001-01-01T00:00:00Z), which CometBFT writes for an unset timestamp. */
export const ZERO_TIME: Timestamp = { seconds: -62135596800n, nanos: 0 };

export function timestampFromMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function timestampToMs(t: Timestamp): number {
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1_000_000);
}

/** A block id with an empty hash and part-set header: the id of a nil vote. */
export function isZeroBlockId(id: BlockID | undefined): boolean {
  return !id || (id.hash.length === 0 && id.partSetHeader.total === 0 && id.partSetHeader.hash.length === 0);
}

function writeTimestamp(w: BinaryWriter, field: number, t: Timestamp): void {
  w.uint32((field << 3) | 2).fork();
  if (t.seconds !== 0n) w.uint32(8).int64(t.seconds);
  if (t.nanos !== 0) w.uint32(16).int32(t.nanos);
  w.ldelim();
}

/** CanonicalBlockID; omitted entirely for a zero (nil) block id, as CanonicalizeBlockID returns nil. */
function writeBlockId(w: BinaryWriter, field: number, id: BlockID | undefined): void {
  if (!id || isZeroBlockId(id)) return;
  w.uint32((field << 3) | 2).fork();
  if (id.hash.length > 0) w.uint32(10).bytes(id.hash);
  w.uint32(18).fork();
  if (id.partSetHeader.total !== 0) w.uint32(8).uint32(id.partSetHeader.total);
  if (id.partSetHeader.hash.length > 0) w.uint32(18).bytes(id.partSetHeader.hash);
  w.ldelim();
  w.ldelim();
}

function delimited(w: BinaryWriter): Uint8Array {
  return BinaryWriter.create().bytes(w.finish()).finish();
}

/** VoteSignBytes: CanonicalVote {type, height, round, block_id, timestamp, chain_id}. */
export function voteSignBytes(chainId: string, vote: Vote): Uint8Array {
  const w = BinaryWriter.create();
  if (vote.type !== 0) w.uint32(8).int32(vote.type);
  if (vote.height !== 0n) w.uint32(17).sfixed64(vote.height);
  if (vote.round !== 0) w.uint32(25).sfixed64(BigInt(vote.round));
  writeBlockId(w, 4, vote.blockId);
  writeTimestamp(w, 5, vote.timestamp ?? ZERO_TIME);
  if (chainId) w.uint32(50).string(chainId);
  return delimited(w);
}

/** ProposalSignBytes: CanonicalProposal {type, height, round, pol_round, block_id, timestamp, chain_id}. */
export function proposalSignBytes(chainId: string, proposal: Proposal): Uint8Array {
  const w = BinaryWriter.create();
  if (proposal.type !== 0) w.uint32(8).int32(proposal.type);
  if (proposal.height !== 0n) w.uint32(17).sfixed64(proposal.height);
  if (proposal.round !== 0) w.uint32(25).sfixed64(BigInt(proposal.round));
  if (proposal.polRound !== 0) w.uint32(32).int64(BigInt(proposal.polRound));
  writeBlockId(w, 5, proposal.blockId);
  writeTimestamp(w, 6, proposal.timestamp ?? ZERO_TIME);
  if (chainId) w.uint32(58).string(chainId);
  return delimited(w);
}

/** VoteExtensionSignBytes: CanonicalVoteExtension {extension, height, round, chain_id}. */
export function voteExtensionSignBytes(chainId: string, vote: Vote): Uint8Array {
  const w = BinaryWriter.create();
  if (vote.extension.length > 0) w.uint32(10).bytes(vote.extension);
  if (vote.height !== 0n) w.uint32(17).sfixed64(vote.height);
  if (vote.round !== 0) w.uint32(25).sfixed64(BigInt(vote.round));
  if (chainId) w.uint32(34).string(chainId);
  return delimited(w);
}

/** FilePV's steps: the order of a validator's messages within one round. */
export const STEP_PROPOSE = 1;
export const STEP_PREVOTE = 2;
export const STEP_PRECOMMIT = 3;

export function voteStep(type: SignedMsgType): number {
  if (type === SignedMsgType.SIGNED_MSG_TYPE_PREVOTE) return STEP_PREVOTE;
  if (type === SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT) return STEP_PRECOMMIT;
  throw new Error(`unknown vote type ${type}`);
}

/** Field numbers of the timestamp in CanonicalVote and CanonicalProposal. */
export const VOTE_TIMESTAMP_FIELD = 5;
export const PROPOSAL_TIMESTAMP_FIELD = 6;

/**
 * The timestamp inside canonical sign bytes (length-delimited), or null when there is none to read:
 * FilePV's "differ only in the timestamp" check re-encodes a request with the stored timestamp.
 */
export function signedTimestamp(signBytes: Uint8Array, field: number): Timestamp | null {
  try {
    const r = new BinaryReader(new BinaryReader(signBytes).bytes());
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === field && (tag & 7) === 2) return Timestamp.decode(r.bytes());
      r.skipType(tag & 7);
    }
  } catch {
    // Unreadable bytes (e.g. an imported state): treated as different data.
  }
  return null;
}
