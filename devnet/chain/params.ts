/** Default chain parameters: short periods suited to a local devnet. */
import type { ChainParams } from './types.js';

type Overrides = Partial<Omit<ChainParams, 'slashing' | 'gov'>> & {
  slashing?: Partial<ChainParams['slashing']>;
  gov?: Partial<ChainParams['gov']>;
};

export function defaultParams(overrides: Overrides = {}): ChainParams {
  return {
    chainId: 'beam-devnet-1',
    denom: 'stake',
    bech32Prefix: 'cosmos',
    blockReward: '1000000',
    minGasPrice: 0.025,
    maxValidators: 100,
    unbondingTimeMs: 10_000,
    voteExtensionsEnableHeight: 1,
    ...overrides,
    slashing: {
      signedBlocksWindow: 20,
      minSignedPerWindow: 0.5,
      downtimeJailMs: 60_000,
      slashFractionDowntime: 0.01,
      slashFractionDoubleSign: 0.05,
      ...overrides.slashing,
    },
    gov: {
      minDeposit: '10000000',
      votingPeriodMs: 30_000,
      quorum: 0.334,
      threshold: 0.5,
      vetoThreshold: 0.334,
      ...overrides.gov,
    },
  };
}
