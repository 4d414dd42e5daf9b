/** CometBFT canonical precommit sign bytes (CanonicalVote, length-delimited protobuf). */
import { BinaryWriter } from 'cosmjs-types/binary';

export const PRECOMMIT_TYPE = 2;

export interface VoteInput {
  chainId: string;
  height: number;
  round: number;
  blockHash: Uint8Array;
  partsHash: Uint8Array;
  timestampMs: number;
}

// cosmjs-types ships no tendermint/types/canonical, so the message is written field by field
// following cometbft/proto/tendermint/types/canonical.proto.
export function precommitSignBytes(vote: VoteInput): Uint8Array {
  const w = BinaryWriter.create();
  w.uint32(8).int32(PRECOMMIT_TYPE);
  if (vote.height !== 0) w.uint32(17).sfixed64(BigInt(vote.height));
  if (vote.round !== 0) w.uint32(25).sfixed64(BigInt(vote.round));
  // A zero block id (nil vote) is omitted, as CometBFT's CanonicalizeBlockID does.
  if (vote.blockHash.length > 0) {
    w.uint32(34).fork();
    w.uint32(10).bytes(vote.blockHash);
    w.uint32(18).fork().uint32(8).uint32(1).uint32(18).bytes(vote.partsHash).ldelim();
    w.ldelim();
  }
  const seconds = Math.floor(vote.timestampMs / 1000);
  const nanos = (vote.timestampMs % 1000) * 1_000_000;
  w.uint32(42).fork();
  if (seconds !== 0) w.uint32(8).int64(BigInt(seconds));
  if (nanos !== 0) w.uint32(16).int32(nanos);
  w.ldelim();
  if (vote.chainId) w.uint32(50).string(vote.chainId);
  const body = w.finish();
  return BinaryWriter.create().bytes(body).finish();
}
