// Temporary plumbing fake until devnet/chain lands.
import { createHash } from 'node:crypto';
import type { Block, ChainApp, ChainParams, Genesis } from '../../devnet/chain/types.js';

export function fakeParams(): ChainParams {
  return {
    chainId: 'beam-devnet-1',
    denom: 'stake',
    bech32Prefix: 'cosmos',
    slashing: {
      signedBlocksWindow: 100,
      minSignedPerWindow: 0.5,
      downtimeJailMs: 60000,
      slashFractionDowntime: 0.01,
      slashFractionDoubleSign: 0.05,
    },
    gov: { minDeposit: '1', votingPeriodMs: 10000, quorum: 0.33, threshold: 0.5, vetoThreshold: 0.334 },
    blockReward: '1000',
    minGasPrice: 0,
    maxValidators: 10,
  };
}

export function fakeChain(genesis: Genesis): ChainApp {
  const blocks: Block[] = [];
  const tombstoned = new Set<string>();
  const addr = (pk: Uint8Array) =>
    createHash('sha256').update(pk).digest().subarray(0, 20).toString('hex').toUpperCase();
  const set = () =>
    genesis.validators
      .map((v) => ({
        address: addr(v.consensusPubkey),
        pubkey: v.consensusPubkey,
        votingPower: 100,
        proposerPriority: 0,
      }))
      .filter((v) => !tombstoned.has(v.address));
  return {
    params: genesis.params,
    height: () => blocks.length,
    block: (h) => blocks[h - 1],
    validatorSet: () => set(),
    checkTx: (tx) => ({
      code: 0,
      codespace: '',
      log: '',
      hash: createHash('sha256').update(tx).digest(),
      gasWanted: 0,
    }),
    produceBlock: ({ timeMs, lastCommit, evidence }) => {
      for (const e of evidence) tombstoned.add(e.validatorAddress);
      const height = blocks.length + 1;
      const hash = createHash('sha256').update(`block${height}${timeMs}`).digest();
      const block: Block = {
        header: {
          chainId: genesis.params.chainId,
          height,
          timeMs,
          lastBlockHash: blocks.at(-1)?.hash ?? new Uint8Array(),
          appHash: hash,
          validatorsHash: hash,
          proposerAddress: set()[0]?.address ?? '',
        },
        hash,
        txs: [],
        lastCommit,
        evidence,
      };
      blocks.push(block);
      return block;
    },
    txResult: () => undefined,
    searchTxs: () => [],
    query: () => ({ code: 0, codespace: '', log: '', value: new Uint8Array(), height: blocks.length }),
    fund: () => undefined,
    submitProposal: () => '1',
  };
}
