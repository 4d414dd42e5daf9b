import { promises as fs } from 'node:fs';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import type { PilotConfig } from './config.js';

export const GRANTED_MSGS = [
  '/cosmos.gov.v1.MsgVote',
  // Chains without gov v1 (Cosmos SDK < 0.46) get their votes as v1beta1 MsgVote.
  '/cosmos.gov.v1beta1.MsgVote',
  '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
  '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
  // The `unjail` action (limits.allow_unjail): the validator back after downtime, without its key.
  '/cosmos.slashing.v1beta1.MsgUnjail',
];

/** The authz grant commands an operator runs once, from the validator's account, for the hot key. */
export function grantCommands(o: {
  bin: string;
  from: string;
  grantee: string;
  valoper: string;
  chainId: string;
  gasPrices: string;
  /** Unix seconds when the grants expire; none by default (Beam alerts before a grant expires). */
  expiration?: number | null;
}): string[] {
  const expiry = o.expiration ? ` --expiration ${o.expiration}` : '';
  const tail = `--from ${o.from} --chain-id ${o.chainId}${expiry} --gas auto --gas-adjustment 1.5 --gas-prices ${o.gasPrices}`;
  return [
    ...GRANTED_MSGS.map((m) => `${o.bin} tx authz grant ${o.grantee} generic --msg-type ${m} ${tail}`),
    `${o.bin} tx authz grant ${o.grantee} delegate --allowed-validators ${o.valoper} ${tail}`,
  ];
}

/**
 * The same grants as one unsigned transaction (the JSON `tx --generate-only` writes), for validator
 * keys on a Ledger or a multisig: `gaiad tx sign grants.json --from validator`, then `tx broadcast`.
 */
export function grantsTx(o: {
  granter: string;
  grantee: string;
  valoper: string;
  gasPrices: string;
  expiration?: number | null;
  gasLimit?: number;
}): object {
  const price = /^(\d+(?:\.\d+)?)([a-zA-Z][a-zA-Z0-9/]*)$/.exec(o.gasPrices);
  if (!price) throw new Error(`gas price ${o.gasPrices}: use amount+denom, e.g. 0.025uatom`);
  const gas = o.gasLimit ?? 600_000;
  const expiration = o.expiration ? new Date(o.expiration * 1000).toISOString() : null;
  const grant = (authorization: object) => ({
    '@type': '/cosmos.authz.v1beta1.MsgGrant',
    granter: o.granter,
    grantee: o.grantee,
    grant: { authorization, expiration },
  });
  return {
    body: {
      messages: [
        ...GRANTED_MSGS.map((msg) => grant({ '@type': '/cosmos.authz.v1beta1.GenericAuthorization', msg })),
        grant({
          '@type': '/cosmos.staking.v1beta1.StakeAuthorization',
          max_tokens: null,
          allow_list: { address: [o.valoper] },
          authorization_type: 'AUTHORIZATION_TYPE_DELEGATE',
        }),
      ],
      memo: 'beam: authz grants for the hot key',
      timeout_height: '0',
      extension_options: [],
      non_critical_extension_options: [],
    },
    auth_info: {
      signer_infos: [],
      fee: {
        amount: [{ denom: price[2], amount: String(Math.ceil(gas * Number(price[1]))) }],
        gas_limit: String(gas),
        payer: '',
        granter: '',
      },
      tip: null,
    },
    signatures: [],
  };
}

export interface GrantOutputOptions {
  bin: string;
  from: string;
  /** Unix seconds; none when absent. */
  expiration?: number | null;
  /** The unsigned transaction instead of the commands. */
  json?: boolean;
}

/** What `beam-pilot grants` prints: commands with a short explanation, or the unsigned tx as JSON. */
export async function grantCommandsFor(cfg: PilotConfig, options: GrantOutputOptions): Promise<string[]> {
  const c = cfg.chain;
  const v = cfg.validator;
  if (!c?.hot_mnemonic_file || !v?.operator_address) {
    throw new Error('grants need chain.hot_mnemonic_file and validator.operator_address in the config');
  }
  const mnemonic = (await fs.readFile(c.hot_mnemonic_file, 'utf8')).trim();
  const [acct] = await (
    await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: c.bech32_prefix })
  ).getAccounts();
  if (!acct) throw new Error('the hot mnemonic yields no account');
  if (options.json) {
    if (!v.account_address)
      throw new Error('--json needs validator.account_address (the granter) in the config');
    const tx = grantsTx({
      granter: v.account_address,
      grantee: acct.address,
      valoper: v.operator_address,
      gasPrices: c.gas_price,
      expiration: options.expiration ?? null,
    });
    return [JSON.stringify(tx, null, 2)];
  }
  return [
    `# Run once with the validator account's key (${v.account_address ?? 'validator.account_address'}).`,
    `# The hot key ${acct.address} may then vote, withdraw rewards and commission, unjail the validator, and delegate to ${v.operator_address} only.`,
    '# Beam alerts in chat when a grant is missing or about to expire. Ledger or multisig: use --json.',
    '# A chain without gov v1 (Cosmos SDK < 0.46) refuses the /cosmos.gov.v1.MsgVote grant: skip that line.',
    ...grantCommands({
      bin: options.bin,
      from: options.from,
      grantee: acct.address,
      valoper: v.operator_address,
      chainId: cfg.node.chain_id,
      gasPrices: c.gas_price,
      expiration: options.expiration ?? null,
    }),
  ];
}
