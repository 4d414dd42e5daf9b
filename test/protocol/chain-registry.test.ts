import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChainRegistryError, parseChainRegistry } from '../../protocol/chain-registry.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/chain-registry');
const read = (chain: string) => readFileSync(path.join(FIXTURES, `${chain}.json`), 'utf8');

/** The problems a chain.json edited by `edit` is refused with. */
function problems(edit: (chain: Record<string, unknown>) => void): string[] {
  const chain = JSON.parse(read('cosmoshub'));
  edit(chain);
  try {
    parseChainRegistry(JSON.stringify(chain), 'chain.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ChainRegistryError);
    return (error as ChainRegistryError).problems;
  }
  throw new Error('accepted');
}

describe('chain registry chain.json', () => {
  it('reads the Cosmos Hub and Osmosis files of the registry into the facts Beam keeps', () => {
    expect(parseChainRegistry(read('cosmoshub'), 'cosmoshub.json')).toEqual({
      chainId: 'cosmoshub-4',
      chainName: 'cosmoshub',
      prettyName: 'Cosmos Hub',
      bech32Prefix: 'cosmos',
      stakingDenom: 'uatom',
      feeTokens: [
        {
          denom: 'uatom',
          fixedMinGasPrice: 0,
          lowGasPrice: 0.01,
          averageGasPrice: 0.025,
          highGasPrice: 0.03,
        },
      ],
      gasPrice: '0.025uatom',
      explorers: [
        expect.objectContaining({
          kind: 'mintscan',
          url: 'https://www.mintscan.io/cosmos',
          validatorPage: null,
        }),
        expect.objectContaining({ kind: 'ping.pub', url: 'https://ping.pub/cosmos', accountPage: null }),
      ],
      daemonName: 'gaiad',
      recommendedVersion: 'v9.0.1',
      binaries: {
        'linux/amd64': 'https://github.com/cosmos/gaia/releases/download/v9.0.1/gaiad-v9.0.1-linux-amd64',
        'linux/arm64': 'https://github.com/cosmos/gaia/releases/download/v9.0.1/gaiad-v9.0.1-linux-arm64',
      },
    });
    // The registry's own URL templates are kept as they are.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a chain-registry template, not JavaScript's
    const txPage = 'https://www.mintscan.io/cosmos/txs/${txHash}';
    expect(parseChainRegistry(read('cosmoshub'), 'cosmoshub.json').explorers[0]?.txPage).toBe(txPage);
    expect(parseChainRegistry(read('osmosis'), 'osmosis.json')).toMatchObject({
      chainId: 'osmosis-1',
      bech32Prefix: 'osmo',
      stakingDenom: 'uosmo',
      gasPrice: '0.025uosmo',
      daemonName: 'osmosisd',
    });
  });

  it('names the field and the fix of every problem', () => {
    expect(problems((c) => delete c.chain_id)).toEqual([
      "chain_id: missing: add it as the chain registry's schema describes",
    ]);
    expect(
      problems((c) => {
        c.bech32_prefix = 'Cosmos!';
        (c.fees as { fee_tokens: unknown[] }).fee_tokens = [];
      }),
    ).toEqual([
      'bech32_prefix: use the address prefix, e.g. cosmos',
      'fees.fee_tokens: list at least one fee token: { "denom": "uatom", "average_gas_price": 0.025 }',
    ]);
    expect(
      problems((c) => ((c.fees as { fee_tokens: unknown[] }).fee_tokens = [{ denom: 'uatom' }])),
    ).toEqual([
      'fees.fee_tokens.0: no gas price for uatom: add "average_gas_price" (or "low_gas_price" / "fixed_min_gas_price"), e.g. 0.025',
    ]);
    expect(problems((c) => (c.chain_type = 'eip155'))).toEqual([
      'chain_type: Beam runs Cosmos SDK chains: use a chain.json with chain_type "cosmos"',
    ]);
    expect(() => parseChainRegistry('{', 'x.json')).toThrow(
      /x\.json is not a usable chain-registry chain\.json:\n {2}not JSON/,
    );
  });

  it('writes gas prices as decimals, as the SDK takes them', () => {
    const chain = JSON.parse(read('cosmoshub'));
    chain.fees.fee_tokens = [
      { denom: 'aevmos', low_gas_price: 0.0000001 },
      { denom: 'uatom', fixed_min_gas_price: 2 },
    ];
    expect(parseChainRegistry(JSON.stringify(chain), 'chain.json').gasPrice).toBe('2uatom');
    chain.staking.staking_tokens = [{ denom: 'aevmos' }];
    expect(parseChainRegistry(JSON.stringify(chain), 'chain.json').gasPrice).toBe('0.0000001aevmos');
  });
});
