/**
 * The hub's checks on what a node sends, as CometBFT checks a peer's consensus messages: a
 * tendermint.types Vote or Proposal that decodes, names the node's own validator key, carries a
 * valid signature over the canonical sign bytes, and an extension exactly where one belongs (the
 * app's, on a precommit for a block while extensions are on).
 */
import { Proposal, Vote } from 'cosmjs-types/tendermint/types/types';
import type { SignedKind } from './chain/types.js';
import { hex } from './cometjson.js';
import {
  extensionsEnabled,
  isBlockPrecommit,
  sameBytes,
  validExtensionSignature,
  validProposalSignature,
  validVoteSignature,
  voteExtensionFor,
  voteKind,
} from './signatures.js';

/** The validator key a node signs with (null: the node has none). */
export interface NodeKey {
  pubkey: Uint8Array | null;
  address: string | null;
}

export interface VerifyContext {
  chainId: string;
  voteExtensionsEnableHeight: number | undefined;
  /** The highest height proposed so far: a message for a later one is refused. */
  proposedHeight: number;
}

function keyOf(node: NodeKey, named: Uint8Array | null): { pubkey: Uint8Array; address: string } | string {
  if (!node.pubkey || !node.address) return 'the node has no validator key';
  if (named && hex(named) !== node.address) return `it names validator ${hex(named)}, not its own key`;
  return { pubkey: node.pubkey, address: node.address };
}

/** The verified vote with its kind and validator, or why it is rejected. */
export function verifyVote(
  ctx: VerifyContext,
  node: NodeKey,
  encoded: string,
): { vote: Vote; kind: SignedKind; address: string } | string {
  let vote: Vote;
  try {
    vote = Vote.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return 'not a tendermint.types.Vote';
  }
  const kind = voteKind(vote.type);
  const height = Number(vote.height);
  const where = `${kind ?? `type ${vote.type}`} at height ${height}`;
  if (!kind) return `${where}: neither a prevote nor a precommit`;
  if (height < 1 || height > ctx.proposedHeight) return `${where}: no block at that height`;
  const key = keyOf(node, vote.validatorAddress);
  if (typeof key === 'string') return `${where}: ${key}`;
  if (!validVoteSignature(ctx.chainId, key.pubkey, vote)) return `${where}: invalid signature`;
  if (isBlockPrecommit(vote) && extensionsEnabled(ctx.voteExtensionsEnableHeight, height)) {
    // The devnet app's VerifyVoteExtension accepts only the extension it asked for.
    if (!sameBytes(vote.extension, voteExtensionFor(height)))
      return `${where}: vote extension rejected by the app`;
    if (!validExtensionSignature(ctx.chainId, key.pubkey, vote))
      return `${where}: invalid extension signature`;
  } else if (vote.extension.length > 0 || vote.extensionSignature.length > 0) {
    return `${where}: unexpected vote extension`;
  }
  return { vote, kind, address: key.address };
}

/** The verified proposal with its validator, or why it is rejected. */
export function verifyProposal(
  ctx: VerifyContext,
  node: NodeKey,
  encoded: string,
): { proposal: Proposal; address: string } | string {
  let proposal: Proposal;
  try {
    proposal = Proposal.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return 'not a tendermint.types.Proposal';
  }
  const height = Number(proposal.height);
  const where = `at height ${height}`;
  if (height < 1 || height > ctx.proposedHeight) return `${where}: no block at that height`;
  const key = keyOf(node, null);
  if (typeof key === 'string') return `${where}: ${key}`;
  if (!validProposalSignature(ctx.chainId, key.pubkey, proposal)) return `${where}: invalid signature`;
  return { proposal, address: key.address };
}
