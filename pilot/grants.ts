import { promises as fs } from 'node:fs';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import type { PilotConfig } from './config.js';

export const GRANTED_MSGS = [
  '/cosmos.gov.v1.MsgVote',
  '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
  '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
];

/** The authz grant commands an operator runs once, from the validator's account, for the hot key. */
export function grantCommands(o: {
  bin: string;
  from: string;
  grantee: string;
  valoper: string;
  chainId: string;
  gasPrices: string;
}): string[] {
  const tail = `--from ${o.from} --chain-id ${o.chainId} --gas auto --gas-adjustment 1.5 --gas-prices ${o.gasPrices}`;
  return [
    ...GRANTED_MSGS.map((m) => `${o.bin} tx authz grant ${o.grantee} generic --msg-type ${m} ${tail}`),
    `${o.bin} tx authz grant ${o.grantee} delegate --allowed-validators ${o.valoper} ${tail}`,
  ];
}

export async function grantCommandsFor(cfg: PilotConfig, bin: string, from: string): Promise<string[]> {
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
  return grantCommands({
    bin,
    from,
    grantee: acct.address,
    valoper: v.operator_address,
    chainId: cfg.node.chain_id,
    gasPrices: c.gas_price,
  });
}
