/**
 * The `unjail` action on the devnet: the validator's node is kept down until x/slashing jails it,
 * then the pilot sends MsgExec(MsgUnjail) with the hot key, and the chain has it back. Before that,
 * the chain's own refusals (no grant, not jailed) come back as the action's result.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { MsgGrant, MsgRevoke } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../../protocol/index.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { waitFor } from '../helpers/wait.js';
import {
  FakeCommander,
  freePortBase,
  killDaemon,
  type PilotSetup,
  pilotConfigFor,
  seedLease,
} from './harness.js';

let dir: string;
let devnet: Devnet;
let setup: PilotSetup;
let pilot: Pilot;
const commander = new FakeCommander();
const last = () => commander.last('val-a');

async function run(action: Action) {
  commander.script('val-a').actions.push(action);
  return waitFor(() => commander.resultsOf('val-a', action.id)[0], `the ${action.id} result`, {
    timeoutMs: 30_000,
  });
}

const inSet = async () => {
  const res = await fetch(`${devnet.info.hub.controlUrl}/validators`);
  const { validators } = (await res.json()) as { validators: { address: string }[] };
  return validators.some((v) => v.address === devnet.info.validators[0]!.consensusAddress);
};

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-unjail-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 200,
    standby: 0,
    sentries: 0,
    startNodes: false,
    portBase: await freePortBase(2),
    reset: true,
    // Jailed after more than 20 of 40 blocks missed (past height 40), free to unjail a second later.
    params: { slashing: { signedBlocksWindow: 40, minSignedPerWindow: 0.5, downtimeJailMs: 1000 } },
  });
  await commander.start();
  setup = await pilotConfigFor(devnet.info, 'val-a', dir, { commanderUrl: commander.url });
  commander.secrets.set('val-a', 'ef'.repeat(32));
  await fs.writeFile(
    path.join(setup.stateDir, 'node-secret.json'),
    JSON.stringify({ nodeId: 'val-a', secret: 'ef'.repeat(32) }),
    { mode: 0o600 },
  );
  await seedLease(setup.stateDir, 1, 30_000);
  Object.assign(commander.script('val-a'), {
    lease: { epoch: 1, holder: true, expiresAt: 0 },
    leaseMs: 30_000,
  });
  pilot = await Pilot.create(setup.config, pino({ level: 'silent' }));
  await pilot.start();
});

afterAll(async () => {
  await pilot?.close();
  if (setup) await killDaemon(setup.stateDir);
  await commander.stop();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('unjail', () => {
  it("passes the chain's refusals through: no MsgUnjail grant, then a validator that is not jailed", async () => {
    const UNJAIL = '/cosmos.slashing.v1beta1.MsgUnjail';
    const granted = () => last()?.chain?.grants?.some((g) => g.msgTypeUrl === UNJAIL);
    await waitFor(() => last()?.chain?.validator?.status === 'bonded' && granted(), 'val-a bonded, granted');
    const v = devnet.info.validators[0]!;
    const hot = devnet.info.accounts.find((a) => a.name === 'hot')!;
    /** A transaction from the validator's own account, as its operator sends one. */
    const fromValidator = async (typeUrl: string, value: unknown) => {
      const wallet = await DirectSecp256k1HdWallet.fromMnemonic(v.accountMnemonic, { prefix: 'cosmos' });
      const client = await SigningStargateClient.connectWithSigner(devnet.info.nodes[0]!.rpcUrl, wallet, {
        gasPrice: GasPrice.fromString(`0.025${devnet.info.denom}`),
      });
      try {
        expect((await client.signAndBroadcast(v.accountAddress, [{ typeUrl, value }], 'auto')).code).toBe(0);
      } finally {
        client.disconnect();
      }
    };

    // The operator took the grant back: the chain refuses the hot key.
    await fromValidator(
      '/cosmos.authz.v1beta1.MsgRevoke',
      MsgRevoke.fromPartial({ granter: v.accountAddress, grantee: hot.address, msgTypeUrl: UNJAIL }),
    );
    await waitFor(() => granted() === false, 'the revocation reported');
    const ungranted = await run({ id: 'unjail-ungranted', issuedAt: Date.now(), type: 'unjail' });
    expect(ungranted.ok).toBe(false);
    expect(ungranted.message).toMatch(/authorization not found/);

    // What `beam-pilot grants` tells the operator to run, from the validator's account.
    await fromValidator(
      '/cosmos.authz.v1beta1.MsgGrant',
      MsgGrant.fromPartial({
        granter: v.accountAddress,
        grantee: hot.address,
        grant: {
          authorization: {
            typeUrl: '/cosmos.authz.v1beta1.GenericAuthorization',
            value: GenericAuthorization.encode({ msg: UNJAIL }).finish(),
          },
        },
      }),
    );
    await waitFor(granted, 'the grant reported');

    const notJailed = await run({ id: 'unjail-not-jailed', issuedAt: Date.now(), type: 'unjail' });
    expect(notJailed.ok).toBe(false);
    expect(notJailed.message).toMatch(/validator not jailed; cannot be unjailed/);
  });

  it('unjails the validator after downtime jailed it', async () => {
    expect(await run({ id: 'stop', issuedAt: Date.now(), type: 'stop-daemon' })).toMatchObject({ ok: true });
    // Jailed validators leave the set at the next height.
    await waitFor(async () => !(await inSet()), 'val-a jailed (out of the validator set)', {
      timeoutMs: 60_000,
    });
    expect(await run({ id: 'start', issuedAt: Date.now(), type: 'start-daemon' })).toMatchObject({
      ok: true,
    });
    const report = await waitFor(
      () => (last()?.chain?.validator?.jailed && last()?.chain?.signingInfo?.jailedUntil ? last() : null),
      'jailed, as its node shows the chain',
    );
    const until = report.chain!.signingInfo!.jailedUntil!;
    await waitFor(() => (last()?.daemon.latestBlockTime ?? 0) > until, 'the jail time over');

    const unjailed = await run({ id: 'unjail', issuedAt: Date.now(), type: 'unjail' });
    expect(unjailed).toMatchObject({ ok: true, message: 'tx committed' });
    expect(unjailed.txHash).toMatch(/^[0-9A-F]{64}$/);
    await waitFor(() => last()?.chain?.validator?.jailed === false, 'not jailed on chain');
    await waitFor(inSet, 'val-a back in the validator set');
  });
});
