/**
 * A chain as the Cosmos chain registry (github.com/cosmos/chain-registry, `<chain>/chain.json`)
 * describes it, reduced to the facts Beam needs: `beam-pilot init --chain` writes the pilot's chain
 * settings from them and `beam-commander chain add` stores them for the commander. The registry's
 * files carry much more (peers, APIs, images): unknown keys are ignored, so newer files still load.
 */
import * as z from 'zod';
import { ChainId } from './common.js';

const Denom = z.string().regex(/^[a-zA-Z][a-zA-Z0-9/:._-]{1,127}$/, 'use a denom such as uatom');
const Price = z.number().nonnegative('use a gas price of 0 or more, e.g. 0.025');
const Link = z.url('use a full URL such as https://www.mintscan.io/cosmos');

const FeeToken = z.looseObject({
  denom: Denom,
  fixed_min_gas_price: Price.optional(),
  low_gas_price: Price.optional(),
  average_gas_price: Price.optional(),
  high_gas_price: Price.optional(),
});

const Explorer = z.looseObject({
  kind: z.string().min(1).optional(),
  url: Link.optional(),
  tx_page: z.string().min(1).optional(),
  account_page: z.string().min(1).optional(),
  validator_page: z.string().min(1).optional(),
  proposal_page: z.string().min(1).optional(),
});

const RegistryChain = z.looseObject({
  chain_name: z.string().regex(/^[a-z0-9]+$/, 'use the registry folder name, e.g. cosmoshub'),
  /** Newer files name the CAIP-2 namespace; Beam runs Cosmos SDK chains only. */
  chain_type: z
    .literal('cosmos', 'Beam runs Cosmos SDK chains: use a chain.json with chain_type "cosmos"')
    .optional(),
  chain_id: ChainId,
  pretty_name: z.string().min(1).optional(),
  bech32_prefix: z.string().regex(/^[a-z][a-z0-9]{0,31}$/, 'use the address prefix, e.g. cosmos'),
  daemon_name: z.string().min(1).optional(),
  fees: z.looseObject({
    fee_tokens: z
      .array(FeeToken)
      .min(1, 'list at least one fee token: { "denom": "uatom", "average_gas_price": 0.025 }'),
  }),
  staking: z.looseObject({
    staking_tokens: z
      .array(z.looseObject({ denom: Denom }))
      .min(1, 'list the staking token: { "denom": "uatom" }'),
  }),
  explorers: z.array(Explorer).optional(),
  codebase: z
    .looseObject({
      recommended_version: z.string().min(1).optional(),
      binaries: z.record(z.string(), Link).optional(),
    })
    .optional(),
});

/** What Beam keeps of a registry chain. */
export const ChainFacts = z.strictObject({
  chainId: ChainId,
  chainName: z.string(),
  prettyName: z.string().nullable(),
  bech32Prefix: z.string(),
  /** The bond denom: what auto-bond delegates and the pilot's `chain.denom`. */
  stakingDenom: Denom,
  feeTokens: z.array(
    z.strictObject({
      denom: Denom,
      fixedMinGasPrice: Price.nullable(),
      lowGasPrice: Price.nullable(),
      averageGasPrice: Price.nullable(),
      highGasPrice: Price.nullable(),
    }),
  ),
  /** `amount` + `denom`, as the pilot's `chain.gas_price` takes it (see gasPriceOf). */
  gasPrice: z.string(),
  /** Registry templates: `${txHash}`, `${accountAddress}` and the like stand for the values. */
  explorers: z.array(
    z.strictObject({
      kind: z.string().nullable(),
      url: z.string().nullable(),
      txPage: z.string().nullable(),
      accountPage: z.string().nullable(),
      validatorPage: z.string().nullable(),
      proposalPage: z.string().nullable(),
    }),
  ),
  daemonName: z.string().nullable(),
  recommendedVersion: z.string().nullable(),
  /** Download URLs by platform (`linux/amd64`, …). */
  binaries: z.record(z.string(), z.string()),
});
export type ChainFacts = z.infer<typeof ChainFacts>;
type FeeTokenFacts = ChainFacts['feeTokens'][number];

/** A decimal without exponent (1e-7 → "0.0000001"), as Cosmos SDK gas prices are written. */
function decimal(n: number): string {
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 18 });
}

/**
 * The gas price the hot key pays: of the fee token in the staking denom (else the first), the
 * average price, else the low one, else the fixed minimum. Returns the problem naming the field
 * when the token lists none.
 */
function gasPriceOf(tokens: FeeTokenFacts[], stakingDenom: string): { price: string } | { problem: string } {
  const index = Math.max(
    0,
    tokens.findIndex((t) => t.denom === stakingDenom),
  );
  const token = tokens[index] as FeeTokenFacts;
  const price = token.averageGasPrice ?? token.lowGasPrice ?? token.fixedMinGasPrice;
  if (price === null) {
    return {
      problem: `fees.fee_tokens.${index}: no gas price for ${token.denom}: add "average_gas_price" (or "low_gas_price" / "fixed_min_gas_price"), e.g. 0.025`,
    };
  }
  return { price: `${decimal(price)}${token.denom}` };
}

export class ChainRegistryError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a usable chain-registry chain.json:\n  ${problems.join('\n  ')}`);
  }
}

/** Reads a chain.json's text; every problem names its field and the fix (ChainRegistryError). */
export function parseChainRegistry(text: string, file: string): ChainFacts {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ChainRegistryError(file, [`not JSON: ${(error as Error).message}`]);
  }
  const parsed = RegistryChain.safeParse(raw);
  if (!parsed.success) {
    throw new ChainRegistryError(
      file,
      parsed.error.issues.map((issue) => {
        const field = issue.path.join('.') || '(top level)';
        const missing = issue.code === 'invalid_type' && issue.input === undefined;
        return missing
          ? `${field}: missing: add it as the chain registry's schema describes`
          : `${field}: ${issue.message}`;
      }),
    );
  }
  const c = parsed.data;
  const feeTokens = c.fees.fee_tokens.map((t) => ({
    denom: t.denom,
    fixedMinGasPrice: t.fixed_min_gas_price ?? null,
    lowGasPrice: t.low_gas_price ?? null,
    averageGasPrice: t.average_gas_price ?? null,
    highGasPrice: t.high_gas_price ?? null,
  }));
  const stakingDenom = (c.staking.staking_tokens[0] as { denom: string }).denom;
  const gas = gasPriceOf(feeTokens, stakingDenom);
  if ('problem' in gas) throw new ChainRegistryError(file, [gas.problem]);
  return {
    chainId: c.chain_id,
    chainName: c.chain_name,
    prettyName: c.pretty_name ?? null,
    bech32Prefix: c.bech32_prefix,
    stakingDenom,
    feeTokens,
    gasPrice: gas.price,
    explorers: (c.explorers ?? []).map((e) => ({
      kind: e.kind ?? null,
      url: e.url ?? null,
      txPage: e.tx_page ?? null,
      accountPage: e.account_page ?? null,
      validatorPage: e.validator_page ?? null,
      proposalPage: e.proposal_page ?? null,
    })),
    daemonName: c.daemon_name ?? null,
    recommendedVersion: c.codebase?.recommended_version ?? null,
    binaries: c.codebase?.binaries ?? {},
  };
}

/**
 * A `codebase.binaries` value as the registry writes it: the download URL, optionally with
 * go-getter's `?checksum=sha256:<hex>` (what cosmovisor reads). Returns the URL to download (that
 * parameter is go-getter's, not the server's) and the sha256, or the problem with the checksum.
 */
export function registryBinary(value: string): { url: string; sha256: string | null } | { problem: string } {
  if (!URL.canParse(value))
    return { problem: 'use a full URL such as https://github.com/…/gaiad-linux-amd64' };
  const url = new URL(value);
  const checksum = url.searchParams.get('checksum');
  if (checksum === null) return { url: value, sha256: null };
  const match = /^sha256:([0-9a-fA-F]{64})$/.exec(checksum);
  if (!match) {
    return {
      problem: `?checksum=${checksum.slice(0, 80)}: Beam checks sha256: write ?checksum=sha256:<64 hex>, as the chain registry does`,
    };
  }
  url.searchParams.delete('checksum');
  return { url: url.toString(), sha256: (match[1] as string).toLowerCase() };
}
