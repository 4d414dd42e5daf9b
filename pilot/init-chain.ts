import { type ChainFacts, registryBinary } from '../protocol/chain-registry.js';
import { EXAMPLE_CONFIG } from './config.js';
import { editToml } from './toml-edit.js';

/** The registry's platform key for a machine (`linux/amd64`, `linux/arm64`), as in `codebase.binaries`. */
export function registryPlatform(platform: string = process.platform, arch: string = process.arch): string {
  const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };
  return `${platform}/${goArch[arch] ?? arch}`;
}

/**
 * The example's (commented) `[daemon.binary]` with the registry's binary for `platform`: its URL, and
 * its sha256 when the registry carries one. It stays commented: only the operator knows the path the
 * daemon runs.
 */
function withBinary(text: string, chain: ChainFacts, platform: string): string {
  const listed = chain.binaries[platform];
  const binary = listed ? registryBinary(listed) : null;
  if (!binary || 'problem' in binary) return text;
  const sha256 = binary.sha256
    ? `# sha256 = "${binary.sha256}"   # from the registry's ?checksum`
    : `# sha256 = "<64 hex>"            # sha256sum of the binary: the registry lists none`;
  return text
    .replace(
      /^# url = "[^"]*"$/m,
      `# url = ${JSON.stringify(binary.url)}   # the registry's ${platform} binary`,
    )
    .replace(/^# sha256 = .*$/m, sha256);
}

/**
 * The example config with a registry chain's settings in place of the Cosmos Hub's: `node.chain_id`,
 * `chain.bech32_prefix`, `chain.denom` (the staking token) and `chain.gas_price`, the address
 * placeholders in the chain's prefix, and the binary for this machine's platform in the commented
 * `[daemon.binary]`. Every comment stays.
 */
export function exampleConfigFor(chain: ChainFacts, platform: string = registryPlatform()): string {
  const p = chain.bech32Prefix;
  const text = editToml(
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
  return withBinary(text, chain, platform);
}
