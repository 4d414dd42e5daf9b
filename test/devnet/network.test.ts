/**
 * The default network as real processes: Beam's validator (5 %) beside 20 background validators.
 * Every block commits with more than 2/3 of the power and CometBFT's BlockIDFlags (as cosmjs
 * decodes them); Beam's validator proposes in its turn; the chain halts with more than 1/3 offline
 * and resumes when enough return (Beam's 5 % deciding at the boundary); downtime jails exactly at
 * x/slashing's threshold, and MsgUnjail through authz MsgExec brings the validator back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, type EncodeObject } from '@cosmjs/proto-signing';
import {
  GasPrice,
  QueryClient,
  SigningStargateClient,
  setupSlashingExtension,
  setupStakingExtension,
} from '@cosmjs/stargate';
import { BlockIdFlag, type CometClient, connectComet } from '@cosmjs/tendermint-rpc';
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { MsgExec, MsgGrant } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgUnjail } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const WINDOW = 10;
const MAX_MISSED = WINDOW - Math.round(WINDOW * 0.5);
const JAIL_MS = 2000;

describe('the default network: Beam beside background validators', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-network-'));
  let devnet: Devnet;
  let comet: CometClient;
  let val: Devnet['info']['validators'][number];
  const signers: SigningStargateClient[] = [];
  const hub = () => devnet.hub;
  const height = () => hub().chain.height();
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${devnet.info.hub.controlUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { validators: string[] };
  };
  /** Whether the validator's precommit for the block is in the canonical commit of `h`. */
  const signedAt = (h: number) =>
    hub()
      .chain.block(h + 1)
      ?.lastCommit?.signatures.some(
        (s) => s?.validatorAddress === val.consensusAddress && s.blockIdFlag === 'commit',
      );
  const signer = async (mnemonic: string) => {
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic);
    const [account] = await wallet.getAccounts();
    const client = await SigningStargateClient.connectWithSigner(devnet.info.nodes[1]!.rpcUrl, wallet, {
      broadcastPollIntervalMs: 100,
      gasPrice: GasPrice.fromString('0.025stake'),
    });
    client.registry.register('/cosmos.slashing.v1beta1.MsgUnjail', MsgUnjail);
    signers.push(client);
    return { client, address: account!.address };
  };

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      blockTimeMs: 200,
      standby: 0,
      sentries: 1,
      portBase: await freePortBase(2),
      params: { slashing: { signedBlocksWindow: WINDOW, minSignedPerWindow: 0.5, downtimeJailMs: JAIL_MS } },
    });
    val = devnet.info.validators[0]!;
    comet = await connectComet(devnet.info.nodes.find((n) => n.name === 'sentry-1')!.rpcUrl);
    await waitFor(() => Array.from({ length: height() }, (_, h) => h).some(signedAt), 'val signing', {
      timeoutMs: 20_000,
    });
  });
  afterAll(async () => {
    for (const s of signers) s.disconnect();
    comet?.disconnect();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits every block with more than 2/3 of the power and each validator flagged, as cosmjs decodes it', async () => {
    expect(devnet.info.background).toHaveLength(20);
    const { validators } = await comet.validators({ per_page: 100 });
    expect(validators).toHaveLength(21);
    const total = validators.reduce((s, v) => s + v.votingPower, 0n);
    const own = validators.find(
      (v) => Buffer.from(v.address).toString('hex').toUpperCase() === val.consensusAddress,
    );
    expect(Number(own!.votingPower) / Number(total)).toBeCloseTo(0.05, 3);

    const partitioned = (await control('/background/partition', { count: 2 })).validators;
    const from = height();
    await waitFor(() => height() >= from + 4, 'four blocks with two partitioned');
    await control('/background/heal', {});
    for (let h = 2; h < height(); h++) {
      const { block } = await comet.block(h + 1);
      const signatures = block.lastCommit!.signatures;
      const power = new Map(
        (await comet.validators({ height: h, per_page: 100 })).validators.map((v) => [
          Buffer.from(v.address).toString('hex').toUpperCase(),
          v.votingPower,
        ]),
      );
      expect(signatures).toHaveLength(power.size);
      const committed = signatures
        .filter((s) => s.blockIdFlag === BlockIdFlag.Commit)
        .reduce(
          (sum, s) => sum + (power.get(Buffer.from(s.validatorAddress!).toString('hex').toUpperCase()) ?? 0n),
          0n,
        );
      const all = [...power.values()].reduce((a, b) => a + b, 0n);
      expect(3n * committed > 2n * all, `commit ${h}`).toBe(true);
      for (const s of signatures) {
        if (s.blockIdFlag === BlockIdFlag.Absent) expect(s.validatorAddress).toBeUndefined();
        else expect(s.signature).toHaveLength(64);
      }
    }
    // The partitioned ones never saw the proposals: their nil precommits are in the commits.
    const nil = (await comet.block(from + 3)).block.lastCommit!.signatures.filter(
      (s) => s.blockIdFlag === BlockIdFlag.Nil,
    );
    const partitionedAddresses = devnet.info.background
      .filter((b) => partitioned.includes(b.name))
      .map((b) => b.consensusAddress);
    expect(nil.map((s) => Buffer.from(s.validatorAddress!).toString('hex').toUpperCase()).sort()).toEqual(
      partitionedAddresses.sort(),
    );
  });

  it("rotates proposers by power: Beam's validator proposes in its turn, through its node", async () => {
    const from = height();
    const proposed = await waitFor(() => {
      for (let h = from; h <= height(); h++)
        if (hub().chain.block(h)?.header.proposerAddress === val.consensusAddress) return h;
      return undefined;
    }, "a block proposed by Beam's validator");
    const hash = Buffer.from(hub().chain.block(proposed)!.hash).toString('hex').toUpperCase();
    const proposals = hub()
      .signatures({ address: val.consensusAddress, fromHeight: proposed })
      .filter((r) => r.kind === 'proposal' && r.height === proposed);
    expect(proposals.some((r) => r.node === 'val-a' && r.blockHash === hash)).toBe(true);
  });

  it('halts with more than 1/3 offline and resumes when enough return, Beam counting at the boundary', async () => {
    // 7 of 20 at 95 each: 665 of 2000 offline. With Beam's 100 the rest (1335) is still +2/3.
    expect((await control('/background/down', { count: 7 })).validators).toHaveLength(7);
    const before = height();
    await waitFor(() => height() >= before + 3, 'blocks with 7 background validators down');
    devnet.killNode('val-a');
    await devnet.node('val-a').waitExit();
    // Nothing commits without Beam's 100 now: rounds pass, the height stays.
    const stuck = await waitFor(() => {
      const r = hub().roundState();
      return r && r.round >= 3 ? r.height - 1 : undefined;
    }, 'a halt');
    await waitFor(() => (hub().roundState()?.round ?? 0) >= 6, 'more rounds');
    expect(height()).toBe(stuck);
    expect(hub().roundState()?.height).toBe(stuck + 1);
    expect((await comet.status()).syncInfo.latestBlockHeight).toBe(stuck);
    devnet.startNode('val-a');
    await waitFor(() => height() > stuck + 1 && signedAt(stuck + 1), 'the chain resumes with Beam', {
      timeoutMs: 20_000,
    });
    await control('/background/up', {});
  });

  it('jails at the downtime threshold with exact signing info, and unjails through authz MsgExec', async () => {
    const q = QueryClient.withExtensions(comet, setupStakingExtension, setupSlashingExtension);
    const valcons = toBech32('cosmosvalcons', fromHex(val.consensusAddress));
    const owner = await signer(val.accountMnemonic);
    const hot = await signer(devnet.info.accounts.find((a) => a.name === 'hot')!.mnemonic);
    const grant: EncodeObject = {
      typeUrl: '/cosmos.authz.v1beta1.MsgGrant',
      value: MsgGrant.fromPartial({
        granter: owner.address,
        grantee: hot.address,
        grant: {
          authorization: {
            typeUrl: '/cosmos.authz.v1beta1.GenericAuthorization',
            value: GenericAuthorization.encode({ msg: '/cosmos.slashing.v1beta1.MsgUnjail' }).finish(),
          },
        },
      }),
    };
    expect((await owner.client.signAndBroadcast(owner.address, [grant], 'auto')).code).toBe(0);

    devnet.killNode('val-a');
    await devnet.node('val-a').waitExit();
    await waitFor(async () => (await q.staking.validator(val.operatorAddress)).validator.jailed, 'jailed');
    const jailedAt = await waitFor(() => {
      for (let h = height(); h > 1; h--) {
        const slash = hub()
          .chain.blockEvents(h)
          .find((e) => e.type === 'slash' && e.attributes.some((a) => a.value === valcons));
        if (slash) return h;
      }
      return undefined;
    }, 'the slash event');
    const missedIn = (last: number) =>
      Array.from({ length: WINDOW }, (_, i) => last - i).filter((h) => !signedAt(h)).length;
    // Block J handles the commit of J - 1: the window of the last 10 commits crossed the threshold there.
    expect(missedIn(jailedAt - 1)).toBe(MAX_MISSED + 1);
    expect(missedIn(jailedAt - 2)).toBeLessThanOrEqual(MAX_MISSED);
    const { validator } = await q.staking.validator(val.operatorAddress);
    expect(validator.status).toBe(2); // BOND_STATUS_UNBONDING
    const info = (await q.slashing.signingInfo(valcons)).valSigningInfo;
    expect(info.missedBlocksCounter).toBe(0n);
    expect(info.tombstoned).toBe(false);
    const jailedUntil = Number(info.jailedUntil!.seconds) * 1000 + info.jailedUntil!.nanos / 1e6;
    expect(jailedUntil).toBe(hub().chain.block(jailedAt)!.header.timeMs + JAIL_MS);
    expect(
      hub()
        .chain.validatorSet(jailedAt + 1)
        .map((v) => v.address),
    ).not.toContain(val.consensusAddress);

    devnet.startNode('val-a');
    await waitFor(() => Date.now() > jailedUntil + 500, 'the jail time over', { intervalMs: 100 });
    const unjail: EncodeObject = {
      typeUrl: '/cosmos.authz.v1beta1.MsgExec',
      value: MsgExec.fromPartial({
        grantee: hot.address,
        msgs: [
          hot.client.registry.encodeAsAny({
            typeUrl: '/cosmos.slashing.v1beta1.MsgUnjail',
            value: MsgUnjail.fromPartial({ validatorAddr: val.operatorAddress }),
          }),
        ],
      }),
    };
    const unjailed = await hot.client.signAndBroadcast(hot.address, [unjail], 'auto');
    expect(unjailed.code, unjailed.rawLog).toBe(0);
    const back = await waitFor(
      () =>
        hub()
          .chain.validatorSet(height())
          .some((v) => v.address === val.consensusAddress)
          ? height()
          : 0,
      'back in the set',
    );
    await waitFor(() => signedAt(back), 'signing again', { timeoutMs: 20_000 });
    const after = (await q.slashing.signingInfo(valcons)).valSigningInfo;
    expect(Number(after.startHeight)).toBe(unjailed.height);
    expect(after.missedBlocksCounter).toBe(0n);
    expect(Number(after.jailedUntil!.seconds) * 1000 + after.jailedUntil!.nanos / 1e6).toBe(jailedUntil);
    expect((await q.staking.validator(val.operatorAddress)).validator).toMatchObject({
      jailed: false,
      status: 3,
    });
  });
});
