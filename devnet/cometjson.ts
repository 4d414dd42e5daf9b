/** Renders chain data in CometBFT 0.38 JSON-RPC shapes (as @cosmjs/tendermint-rpc's Comet38Client decodes them). */
import { createHash } from 'node:crypto';
import type {
  Block,
  Commit,
  DoubleSignEvidence,
  EvidenceVote,
  IndexedTx,
  SignedKind,
  TxResult,
  ValidatorSetEntry,
} from './chain/types.js';

export const COMET_VERSION = '0.38.12';
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** CometBFT's BlockIDFlag. */
const BLOCK_ID_FLAG = { absent: 1, commit: 2, nil: 3 } as const;

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();
export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

/** RFC3339 with nanoseconds, as Go formats time.Time. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** The part-set header hash the devnet uses for a block (one part). */
export function partsHash(blockHash: Uint8Array): Uint8Array {
  return sha256(blockHash);
}

export function blockIdJson(hash: Uint8Array | undefined) {
  if (!hash || hash.length === 0) return { hash: '', parts: { total: 0, hash: '' } };
  return { hash: hex(hash), parts: { total: 1, hash: hex(partsHash(hash)) } };
}

export function pubkeyJson(pubkey: Uint8Array) {
  return { type: 'tendermint/PubKeyEd25519', value: b64(pubkey) };
}

export function headerJson(block: Block, nextValidatorsHash: Uint8Array) {
  const h = block.header;
  const txHashes = Buffer.concat(block.txs.map(sha256));
  return {
    version: { block: '11', app: '0' },
    chain_id: h.chainId,
    height: String(h.height),
    time: rfc3339(h.timeMs),
    last_block_id: blockIdJson(h.height > 1 ? h.lastBlockHash : undefined),
    last_commit_hash: block.lastCommit ? hex(sha256(block.lastCommit.blockHash)) : '',
    data_hash: block.txs.length ? hex(sha256(txHashes)) : '',
    validators_hash: hex(h.validatorsHash),
    next_validators_hash: hex(nextValidatorsHash),
    consensus_hash: hex(sha256(Buffer.from(h.chainId))),
    app_hash: hex(h.appHash),
    last_results_hash: '',
    evidence_hash: block.evidence.length ? hex(sha256(Buffer.from(JSON.stringify(block.evidence)))) : '',
    proposer_address: h.proposerAddress,
  };
}

/** A commit as CometBFT renders it: an absent validator's entry carries no address, time or signature. */
export function commitJson(commit: Commit | null) {
  if (!commit) return { height: '0', round: 0, block_id: blockIdJson(undefined), signatures: [] };
  return {
    height: String(commit.height),
    round: commit.round,
    block_id: blockIdJson(commit.blockHash),
    signatures: commit.signatures.map((sig) =>
      sig
        ? {
            block_id_flag: BLOCK_ID_FLAG[sig.blockIdFlag],
            validator_address: sig.validatorAddress,
            timestamp: rfc3339(sig.timestampMs),
            signature: b64(sig.signature),
          }
        : {
            block_id_flag: BLOCK_ID_FLAG.absent,
            validator_address: '',
            timestamp: ZERO_TIME,
            signature: null,
          },
    ),
  };
}

/** SignedMsgType numbers of what a key signs. */
const SIGNED_MSG_TYPE: Record<SignedKind, number> = { prevote: 1, precommit: 2, proposal: 32 };

/**
 * CometBFT's DuplicateVoteEvidence. The devnet's stricter second-signer evidence (two nodes, maybe
 * one block, maybe proposals) is rendered the same way.
 */
export function evidenceJson(e: DoubleSignEvidence, validators: ValidatorSetEntry[]) {
  const index = validators.findIndex((v) => v.address === e.validatorAddress);
  const vote = (v: EvidenceVote) => ({
    type: SIGNED_MSG_TYPE[e.type],
    height: String(e.height),
    round: e.round,
    block_id: blockIdJson(v.blockHash ? Buffer.from(v.blockHash, 'hex') : undefined),
    timestamp: rfc3339(v.timestampMs),
    validator_address: e.validatorAddress,
    validator_index: index,
    signature: v.signature,
  });
  return {
    type: 'tendermint/DuplicateVoteEvidence',
    value: {
      vote_a: vote(e.votes[0]),
      vote_b: vote(e.votes[1]),
      total_voting_power: String(validators.reduce((s, v) => s + v.votingPower, 0)),
      validator_power: String(validators[index]?.votingPower ?? 0),
      timestamp: rfc3339(e.timeMs),
    },
  };
}

export function blockJson(block: Block, validators: ValidatorSetEntry[], nextValidatorsHash: Uint8Array) {
  return {
    block_id: blockIdJson(block.hash),
    block: {
      header: headerJson(block, nextValidatorsHash),
      data: { txs: block.txs.map(b64) },
      evidence: { evidence: block.evidence.map((e) => evidenceJson(e, validators)) },
      last_commit: commitJson(block.lastCommit),
    },
  };
}

export function validatorJson(v: ValidatorSetEntry) {
  return {
    address: v.address,
    pub_key: pubkeyJson(v.pubkey),
    voting_power: String(v.votingPower),
    proposer_priority: String(v.proposerPriority),
  };
}

export function txResultJson(r: TxResult) {
  return {
    code: r.code,
    data: b64(r.data),
    log: r.log,
    info: '',
    gas_wanted: String(r.gasWanted),
    gas_used: String(r.gasUsed),
    events: r.events,
    codespace: r.codespace,
  };
}

export function indexedTxJson(t: IndexedTx) {
  return {
    hash: hex(t.hash),
    height: String(t.height),
    index: t.index,
    tx_result: txResultJson(t.result),
    tx: b64(t.tx),
  };
}
