import type { ChainFacts } from '../protocol/chain-registry.js';
import { EXAMPLE_CONFIG } from './config.js';
import { editToml } from './toml-edit.js';

/**
 * The example config with a registry chain's settings in place of the Cosmos Hub's: `node.chain_id`,
 * `chain.bech32_prefix`, `chain.denom` (the staking token) and `chain.gas_price`, and the address
 * placeholders in the chain's prefix. Every comment stays.
 */
export function exampleConfigFor(chain: ChainFacts): string {
  const p = chain.bech32Prefix;
  return editToml(
    EXAMPLE_CONFIG,
    new Map([
      ['node.chain_id', chain.chainId],
      ['validator.operator_address', `${p}valoper1...`],
      ['validator.account_address', `${p}1...`],
      ['chain.denom', chain.stakingDenom],
      ['chain.bech32_prefix', p],
      ['chain.gas_price', chain.gasPrice],
    ]),
  ).text;
}
