/**
 * Double-sign detection over the signatures the hub verified. Like CometBFT, one key voting for two
 * block ids (nil included) at one height, round and type is DuplicateVoteEvidence; stricter than
 * CometBFT, so is one key signing one height, round and type (proposals too) from two nodes, even
 * for the same block: Beam must never run two signers for a key. One evidence per validator and
 * height, the first pair seen.
 */
import type { DoubleSignEvidence, EvidenceVote, SignedKind } from './chain/types.js';

export interface VerifiedSignature {
  validatorAddress: string;
  kind: SignedKind;
  height: number;
  round: number;
  vote: EvidenceVote;
}

/** CometBFT's vote_a/vote_b order: the smaller block id first, a nil vote before any block. */
function ordered(a: EvidenceVote, b: EvidenceVote): [EvidenceVote, EvidenceVote] {
  return (a.blockHash ?? '') <= (b.blockHash ?? '') ? [a, b] : [b, a];
}

export class DoubleSignDetector {
  /** Height → `address:round:kind` → the distinct (node, block) signatures seen. */
  private readonly seen = new Map<number, Map<string, VerifiedSignature[]>>();
  /** Height → validators already reported there. */
  private readonly reported = new Map<number, Set<string>>();

  /** Adds a verified signature; returns new evidence when it conflicts with one seen before. */
  observe(s: VerifiedSignature, nowMs: number): DoubleSignEvidence | null {
    const atHeight = this.seen.get(s.height) ?? new Map<string, VerifiedSignature[]>();
    this.seen.set(s.height, atHeight);
    const key = `${s.validatorAddress}:${s.round}:${s.kind}`;
    const earlier = atHeight.get(key) ?? [];
    atHeight.set(key, earlier);
    const sameAs = (o: VerifiedSignature) =>
      o.vote.node === s.vote.node && o.vote.blockHash === s.vote.blockHash;
    if (earlier.some(sameAs)) return null;
    earlier.push(s);
    const conflicting =
      s.kind === 'proposal' ? undefined : earlier.find((o) => o.vote.blockHash !== s.vote.blockHash);
    const other = conflicting ?? earlier.find((o) => o.vote.node !== s.vote.node);
    const reported = this.reported.get(s.height) ?? new Set<string>();
    if (!other || reported.has(s.validatorAddress)) return null;
    reported.add(s.validatorAddress);
    this.reported.set(s.height, reported);
    return {
      kind: conflicting ? 'conflicting-votes' : 'second-signer',
      validatorAddress: s.validatorAddress,
      height: s.height,
      round: s.round,
      type: s.kind,
      timeMs: nowMs,
      votes: ordered(other.vote, s.vote),
    };
  }

  /** Signatures below `height` can no longer form evidence. */
  forgetBelow(height: number): void {
    for (const map of [this.seen, this.reported]) for (const h of map.keys()) if (h < height) map.delete(h);
  }
}
