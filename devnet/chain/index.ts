/**
 * The devnet chain state machine behind the `ChainApp` contract: a mempool checked against its own
 * check state, block production (rewards, liveness, evidence, txs, gov, unbonding, validator set),
 * a tx index, and gRPC-over-ABCI queries.
 */
import { sha256 } from '@cosmjs/crypto';
import { toHex } from '@cosmjs/encoding';
import type { SignatureCache } from './ante.js';
import { fundAccount, mint } from './bank.js';
import { coinsFrom } from './codec.js';
import { makeCtx } from './context.js';
import { allocateRewards } from './distribution.js';
import { initState } from './genesis.js';
import { govEndBlock, submitFundedProposal } from './gov.js';
import { pruneExpiredGrants } from './authz.js';
import { runQuery } from './query.js';
import { handleEvidence, handleLiveness } from './slashing.js';
import { completeUnbonding } from './staking.js';
import { MODULES, type State, cloneState } from './state.js';
import { executeTx } from './tx.js';
import { searchIndexedTxs } from './txindex.js';
import type {
  Block,
  BlockHeader,
  ChainApp,
  CheckTxResult,
  Commit,
  DoubleSignEvidence,
  Genesis,
  IndexedTx,
  ValidatorSetEntry,
} from './types.js';
import { updateValidatorSet, validatorsHash } from './valset.js';

export { consensusAddress, powerReduction, valconsAddress } from './codec.js';
export { defaultParams } from './params.js';
export type * from './types.js';

function headerHash(header: BlockHeader): Uint8Array {
  const text = JSON.stringify({
    ...header,
    lastBlockHash: toHex(header.lastBlockHash),
    appHash: toHex(header.appHash),
    validatorsHash: toHex(header.validatorsHash),
  });
  return sha256(new TextEncoder().encode(text));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function createChain(genesis: Genesis): ChainApp {
  const initial = initState(genesis);
  let state: State = initial.state;
  let checkState: State = cloneState(state);
  let mempool: Uint8Array[] = [];
  let appHash: Uint8Array = sha256(new TextEncoder().encode(`${genesis.params.chainId}/genesis`));
  const signatureCache: SignatureCache = new Set();
  const blocks = new Map<number, Block>();
  /** Validator set that signs each height; the set chosen at the end of H signs H + 1. */
  const validatorSets = new Map<number, ValidatorSetEntry[]>([[1, initial.firstSet]]);
  const txIndex = new Map<string, IndexedTx>();
  const txsByHeight = new Map<number, IndexedTx[]>();

  function validatorSet(height: number): ValidatorSetEntry[] {
    const latest = state.height + 1;
    return validatorSets.get(Math.min(Math.max(height, 1), latest)) ?? [];
  }

  function beginBlock(
    height: number,
    timeMs: number,
    lastCommit: Commit | null,
    evidence: DoubleSignEvidence[],
  ) {
    const ctx = makeCtx(state, height, timeMs);
    pruneExpiredGrants(ctx);
    mint(
      ctx,
      MODULES.feeCollector,
      coinsFrom([{ denom: state.params.denom, amount: state.params.blockReward }]),
    );
    if (lastCommit) {
      const set = validatorSet(lastCommit.height);
      const signed = new Set(lastCommit.signatures.flatMap((s) => (s ? [s.validatorAddress] : [])));
      const byCons = new Map([...state.validators.values()].map((v) => [v.consAddress, v]));
      const signers = set.flatMap((entry) => {
        const validator = byCons.get(entry.address);
        return validator && signed.has(entry.address)
          ? [{ validator, power: BigInt(entry.votingPower) }]
          : [];
      });
      allocateRewards(ctx, signers);
      handleLiveness(ctx, set, lastCommit);
    }
    for (const e of evidence) handleEvidence(ctx, e);
  }

  function deliverTxs(height: number, timeMs: number): IndexedTx[] {
    const delivered: IndexedTx[] = [];
    for (const [index, tx] of mempool.entries()) {
      const outcome = executeTx(state, tx, 'deliver', { height, timeMs }, signatureCache);
      state = outcome.state;
      const indexed = { hash: sha256(tx), height, index, tx, result: outcome.result };
      delivered.push(indexed);
      txIndex.set(toHex(indexed.hash), indexed);
    }
    return delivered;
  }

  function produceBlock(input: {
    timeMs: number;
    lastCommit: Commit | null;
    evidence: DoubleSignEvidence[];
  }): Block {
    const height = state.height + 1;
    const { timeMs } = input;
    state.height = height;
    state.timeMs = timeMs;
    beginBlock(height, timeMs, input.lastCommit, input.evidence);
    const txs = mempool;
    const delivered = deliverTxs(height, timeMs);
    const end = makeCtx(state, height, timeMs);
    govEndBlock(end);
    completeUnbonding(end);
    validatorSets.set(height + 1, updateValidatorSet(end));

    const signingSet = validatorSet(height);
    const header: BlockHeader = {
      chainId: state.params.chainId,
      height,
      timeMs,
      lastBlockHash: blocks.get(height - 1)?.hash ?? new Uint8Array(),
      appHash,
      validatorsHash: validatorsHash(signingSet),
      proposerAddress: signingSet[height % Math.max(signingSet.length, 1)]?.address ?? '',
    };
    const block: Block = {
      header,
      hash: headerHash(header),
      txs,
      lastCommit: input.lastCommit,
      evidence: input.evidence,
    };
    blocks.set(height, block);
    txsByHeight.set(height, delivered);
    const heightBytes = new TextEncoder().encode(String(height));
    appHash = sha256(concat([appHash, heightBytes, ...delivered.map((t) => t.hash)]));
    mempool = [];
    signatureCache.clear();
    checkState = cloneState(state);
    return block;
  }

  function checkTx(tx: Uint8Array): CheckTxResult {
    const hash = sha256(tx);
    const block = { height: state.height + 1, timeMs: state.timeMs };
    const { result } = executeTx(checkState, tx, 'check', block, signatureCache);
    if (result.code === 0) mempool.push(tx);
    return {
      code: result.code,
      codespace: result.codespace,
      log: result.log,
      hash,
      gasWanted: result.gasWanted,
    };
  }

  return {
    params: genesis.params,
    height: () => state.height,
    block: (height) => blocks.get(height),
    validatorSet,
    checkTx,
    produceBlock,
    txResult: (hash) => txIndex.get(toHex(hash)),
    searchTxs: (query) => searchIndexedTxs(query, txIndex, txsByHeight),
    query: (path, data) =>
      runQuery(
        {
          state,
          genesisTimeMs: genesis.genesisTimeMs,
          simulate: (tx) =>
            executeTx(
              cloneState(state),
              tx,
              'simulate',
              { height: state.height + 1, timeMs: state.timeMs },
              signatureCache,
            ),
        },
        path,
        data,
      ),
    fund(address, coins) {
      for (const s of [state, checkState]) fundAccount(s, address, coinsFrom(coins));
    },
    submitProposal(input) {
      // Applied to the check state too, so pending mempool txs (e.g. votes) see the proposal.
      const id = submitFundedProposal(makeCtx(state, state.height, input.nowMs), input);
      submitFundedProposal(makeCtx(checkState, state.height, input.nowMs), input);
      return String(id);
    },
  };
}
