/**
 * The devnet chain state machine behind the `ChainApp` contract: a mempool checked against its own
 * check state, blocks proposed (header and hash before execution, as CometBFT's) and committed
 * (upgrade plan, rewards, liveness, evidence, txs, gov, unbonding, validator set with CometBFT's
 * proposer priorities), a tx index, and gRPC-over-ABCI queries.
 */
import { sha256 } from '@cosmjs/crypto';
import { toHex } from '@cosmjs/encoding';
import type { SignatureCache } from './ante.js';
import { pruneExpiredGrants } from './authz.js';
import { fundAccount, mint } from './bank.js';
import { type AbciEvent, coinsFrom } from './codec.js';
import { makeCtx } from './context.js';
import { allocateRewards } from './distribution.js';
import { initState } from './genesis.js';
import { castVote, govEndBlock, submitFundedProposal } from './gov.js';
import { type ValidatorSet, genesisValidatorSet, nextValidatorSet, proposerOf } from './proposer.js';
import { runQuery } from './query.js';
import { dispatcher } from './router.js';
import { handleEvidence, handleLiveness, handleUnjail } from './slashing.js';
import { completeUnbonding } from './staking.js';
import { MODULES, PROPOSAL_STATUS, type State, cloneState } from './state.js';
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
  UpgradeChange,
} from './types.js';
import { applyDueUpgrade, upgradeStatus } from './upgrade.js';
import { updateValidatorSet, validatorsHash } from './valset.js';

export { consensusAddress, powerReduction, valconsAddress } from './codec.js';
export { defaultParams } from './params.js';
export { genesisValidatorSet, incrementProposerPriority, nextValidatorSet, proposerOf } from './proposer.js';
export type { ValidatorSet } from './proposer.js';
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
  const blockEvents = new Map<number, AbciEvent[]>();
  /** Validator set that signs each height; the set chosen at the end of H signs H + 1. */
  const validatorSets = new Map<number, ValidatorSet>([[1, genesisValidatorSet(initial.firstSet)]]);
  const txIndex = new Map<string, IndexedTx>();
  const txsByHeight = new Map<number, IndexedTx[]>();
  const prefix = genesis.params.bech32Prefix;
  /** x/upgrade's state before each block, as changes: what a node's pre-blocker sees at any height. */
  const upgradeHistory: UpgradeChange[] = [{ height: 1, status: upgradeStatus(state) }];

  function setAt(height: number): ValidatorSet {
    const latest = state.height + 1;
    return validatorSets.get(Math.min(Math.max(height, 1), latest)) ?? { validators: [], proposer: '' };
  }

  function beginBlock(
    ctx: ReturnType<typeof makeCtx>,
    lastCommit: Commit | null,
    evidence: DoubleSignEvidence[],
  ) {
    applyDueUpgrade(ctx);
    pruneExpiredGrants(ctx);
    mint(
      ctx,
      MODULES.feeCollector,
      coinsFrom([{ denom: state.params.denom, amount: state.params.blockReward }]),
    );
    if (lastCommit) {
      const set = setAt(lastCommit.height).validators;
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

  function deliverTxs(txs: Uint8Array[], height: number, timeMs: number): IndexedTx[] {
    return txs.map((tx, index) => {
      const outcome = executeTx(state, tx, 'deliver', { height, timeMs }, signatureCache);
      state = outcome.state;
      const indexed = { hash: sha256(tx), height, index, tx, result: outcome.result };
      txIndex.set(toHex(indexed.hash), indexed);
      return indexed;
    });
  }

  function proposeBlock(input: {
    timeMs: number;
    lastCommit: Commit | null;
    evidence: DoubleSignEvidence[];
    round: number;
  }): Block {
    const height = state.height + 1;
    const set = setAt(height);
    const header: BlockHeader = {
      chainId: state.params.chainId,
      height,
      timeMs: input.timeMs,
      lastBlockHash: blocks.get(height - 1)?.hash ?? new Uint8Array(),
      appHash,
      validatorsHash: validatorsHash(set.validators),
      proposerAddress: proposerOf(set, input.round),
    };
    return {
      header,
      hash: headerHash(header),
      txs: [...mempool],
      lastCommit: input.lastCommit,
      evidence: input.evidence,
    };
  }

  function commitBlock(block: Block): void {
    const { height, timeMs } = block.header;
    if (height !== state.height + 1)
      throw new Error(`chain: block ${height} does not follow ${state.height}`);
    state.height = height;
    state.timeMs = timeMs;
    const begin = makeCtx(state, height, timeMs);
    beginBlock(begin, block.lastCommit, block.evidence);
    const delivered = deliverTxs(block.txs, height, timeMs);
    const end = makeCtx(state, height, timeMs);
    govEndBlock(end, dispatcher(prefix));
    completeUnbonding(end);
    validatorSets.set(height + 1, nextValidatorSet(setAt(height), updateValidatorSet(end)));
    blocks.set(height, block);
    blockEvents.set(height, [...begin.events, ...end.events]);
    txsByHeight.set(height, delivered);
    const heightBytes = new TextEncoder().encode(String(height));
    appHash = sha256(concat([appHash, heightBytes, ...delivered.map((t) => t.hash)]));
    signatureCache.clear();
    const upgrade = upgradeStatus(state);
    if (JSON.stringify(upgrade) !== JSON.stringify(upgradeHistory.at(-1)?.status))
      upgradeHistory.push({ height: height + 1, status: upgrade });
    // CometBFT's recheck: what the block did not take stays in the mempool if it still passes.
    checkState = cloneState(state);
    const taken = new Set(block.txs.map((tx) => toHex(sha256(tx))));
    const check = { height: height + 1, timeMs };
    mempool = mempool.filter(
      (tx) =>
        !taken.has(toHex(sha256(tx))) &&
        executeTx(checkState, tx, 'check', check, signatureCache).result.code === 0,
    );
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

  /**
   * A devnet control applied to the state and the check state alike; false when the chain refuses it
   * (its handlers check before they write, so a refusal leaves both untouched).
   */
  function control(apply: (s: State) => void): boolean {
    try {
      apply(state);
    } catch {
      return false;
    }
    try {
      apply(checkState);
    } catch {
      // The check state is rebuilt from the state at the next block.
    }
    return true;
  }

  return {
    params: genesis.params,
    height: () => state.height,
    block: (height) => blocks.get(height),
    validatorSet: (height) => setAt(height).validators,
    proposer: (height, round) => proposerOf(setAt(height), round),
    checkTx,
    proposeBlock,
    commitBlock,
    produceBlock(input) {
      const block = proposeBlock({ ...input, round: 0 });
      commitBlock(block);
      return block;
    },
    blockEvents: (height) => blockEvents.get(height) ?? [],
    info: () => ({ appVersion: state.upgrade.appVersion, lastBlockAppHash: appHash }),
    upgrade: () => upgradeStatus(state),
    upgradeHistory: () => upgradeHistory,
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
      const proposal = { ...input, messages: input.messages ?? [] };
      const id = submitFundedProposal(
        makeCtx(state, state.height, input.nowMs),
        proposal,
        dispatcher(prefix),
      );
      submitFundedProposal(makeCtx(checkState, state.height, input.nowMs), proposal, dispatcher(prefix));
      return String(id);
    },
    votingProposals: () =>
      [...state.proposals.values()]
        .filter((p) => p.status === PROPOSAL_STATUS.voting)
        .map((p) => String(p.id)),
    castVote: ({ proposalId, voter, option }) =>
      control((s) => castVote(makeCtx(s, state.height, state.timeMs), BigInt(proposalId), voter, option)),
    unjail: (operator) =>
      control((s) => handleUnjail(makeCtx(s, state.height, state.timeMs), { validatorAddr: operator })),
  };
}
