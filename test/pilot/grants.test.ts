import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { grantCommands, grantCommandsFor, grantsTx } from '../../pilot/grants.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-grants-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('authz grant setup', () => {
  it('adds an expiration to every command when asked', () => {
    const lines = grantCommands({
      bin: 'gaiad',
      from: 'val',
      grantee: 'cosmos1hot',
      valoper: 'cosmosvaloper1own',
      chainId: 'c-1',
      gasPrices: '0.1uatom',
      expiration: 1_900_000_000,
    });
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line).toContain('--chain-id c-1 --expiration 1900000000 --gas auto');
  });

  it('builds the grants as one unsigned transaction: generic vote, withdraw and unjail grants, delegation to the own validator only', () => {
    const tx = grantsTx({
      granter: 'cosmos1val',
      grantee: 'cosmos1hot',
      valoper: 'cosmosvaloper1own',
      gasPrices: '0.025uatom',
      expiration: 1_900_000_000,
    }) as {
      body: {
        messages: {
          granter: string;
          grantee: string;
          grant: { authorization: Record<string, unknown>; expiration: string };
        }[];
      };
      auth_info: { fee: { amount: { denom: string; amount: string }[]; gas_limit: string } };
    };
    const auths = tx.body.messages.map((m) => m.grant.authorization);
    expect(auths).toEqual([
      { '@type': '/cosmos.authz.v1beta1.GenericAuthorization', msg: '/cosmos.gov.v1.MsgVote' },
      { '@type': '/cosmos.authz.v1beta1.GenericAuthorization', msg: '/cosmos.gov.v1beta1.MsgVote' },
      {
        '@type': '/cosmos.authz.v1beta1.GenericAuthorization',
        msg: '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
      },
      {
        '@type': '/cosmos.authz.v1beta1.GenericAuthorization',
        msg: '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
      },
      { '@type': '/cosmos.authz.v1beta1.GenericAuthorization', msg: '/cosmos.slashing.v1beta1.MsgUnjail' },
      {
        '@type': '/cosmos.staking.v1beta1.StakeAuthorization',
        max_tokens: null,
        allow_list: { address: ['cosmosvaloper1own'] },
        authorization_type: 'AUTHORIZATION_TYPE_DELEGATE',
      },
    ]);
    for (const m of tx.body.messages) {
      expect(m).toMatchObject({ granter: 'cosmos1val', grantee: 'cosmos1hot' });
      expect(m.grant.expiration).toBe('2030-03-17T17:46:40.000Z');
    }
    expect(tx.auth_info.fee).toMatchObject({
      amount: [{ denom: 'uatom', amount: '15000' }],
      gas_limit: '600000',
    });
  });

  it('prints the commands with what they allow, or the JSON, from the pilot config', async () => {
    const wallet = await DirectSecp256k1HdWallet.generate(12);
    const [hot] = await wallet.getAccounts();
    const mnemonicFile = path.join(dir, 'hot-mnemonic');
    await fs.writeFile(mnemonicFile, wallet.mnemonic, { mode: 0o600 });
    const text = EXAMPLE_CONFIG.replace('/etc/beam/hot-mnemonic', mnemonicFile)
      .replace('cosmosvaloper1...', 'cosmosvaloper1own')
      .replace('"cosmos1..."', '"cosmos1val"');
    const cfg = parseConfig(text, path.join(dir, 'pilot.toml'));
    const lines = await grantCommandsFor(cfg, { bin: 'gaiad', from: 'validator' });
    expect(lines[0]).toBe("# Run once with the validator account's key (cosmos1val).");
    expect(lines[1]).toContain(`The hot key ${hot!.address} may then vote`);
    expect(lines[1]).toContain('unjail the validator');
    const commands = lines.filter((l) => l.startsWith('gaiad tx authz grant'));
    expect(commands).toHaveLength(6);
    expect(commands).toContain(
      `gaiad tx authz grant ${hot!.address} generic --msg-type /cosmos.slashing.v1beta1.MsgUnjail --from validator --chain-id cosmoshub-4 --gas auto --gas-adjustment 1.5 --gas-prices 0.025uatom`,
    );
    const [json] = await grantCommandsFor(cfg, { bin: 'gaiad', from: 'validator', json: true });
    const tx = JSON.parse(json!) as { body: { messages: { granter: string; grantee: string }[] } };
    expect(tx.body.messages).toHaveLength(6);
    expect(tx.body.messages[0]).toMatchObject({ granter: 'cosmos1val', grantee: hot!.address });
  });
});
