/**
 * Signing safety on the devnet with the FilePV (key file in the home): a SIGKILLed node keeps an
 * intact priv_validator_state.json and resumes; a partitioned validator's view freezes and it votes
 * nil; double_sign_check_height refuses to start a second signer; a second signer is caught and the
 * validator tombstoned.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toBech32 } from '@cosmjs/encoding';
import { QueryClient, setupSlashingExtension } from '@cosmjs/stargate';
import { type CometClient, connectComet } from '@cosmjs/tendermint-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { PrivValidatorState } from '../../devnet/privstate.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

interface SignatureRecord {
  validatorAddress: string;
  kind: 'proposal' | 'prevote' | 'precommit';
  height: number;
  blockHash: string | null;
  node: string;
  delivered: boolean;
}

describe('devnet signing safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-safety-'));
  let devnet: Devnet;
  let sentry: CometClient;
  let validator: { consensusAddress: string; keyFile: string };
  const home = (name: string) => devnet.info.nodes.find((n) => n.name === name)?.home ?? '';
  const control = async <T>(path: string, post = false): Promise<T> => {
    const res = await fetch(`${devnet.info.hub.controlUrl}${path}`, { method: post ? 'POST' : 'GET' });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const signatures = async (node: string, fromHeight: number) =>
    (
      await control<{ signatures: SignatureRecord[] }>(
        `/signatures?address=${validator.consensusAddress}&fromHeight=${fromHeight}`,
      )
    ).signatures.filter((s) => s.node === node);
  const height = async () => (await sentry.status()).syncInfo.latestBlockHeight;
  const readState = (name: string) =>
    PrivValidatorState.parse(
      JSON.parse(readFileSync(join(home(name), 'data', 'priv_validator_state.json'), 'utf8')),
    );
  const setCheckHeight = (name: string, blocks: number) => {
    const path = join(home(name), 'config', 'config.toml');
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(
        /^double_sign_check_height = \d+$/m,
        `double_sign_check_height = ${blocks}`,
      ),
    );
  };

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      blockTimeMs: 250,
      standby: 1,
      sentries: 1,
      grants: false,
      portBase: await freePortBase(3),
      // Restarts and partitions miss blocks on purpose: a long window keeps the validator unjailed.
      params: { slashing: { signedBlocksWindow: 400 } },
    });
    validator = devnet.info.validators[0] ?? { consensusAddress: '', keyFile: '' };
    sentry = await connectComet(devnet.info.nodes.find((n) => n.name === 'sentry-1')?.rpcUrl ?? '');
    await waitFor(async () => (await signatures('val-a', 1)).length >= 2, 'val-a signing', {
      timeoutMs: 20_000,
    });
  });
  afterAll(async () => {
    sentry?.disconnect();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives SIGKILL with an intact state file and resumes signing above it', async () => {
    devnet.killNode('val-a', 'SIGKILL');
    expect(await devnet.node('val-a').waitExit()).toBeNull();
    const state = readState('val-a');
    const killedAt = Number(state.height);
    expect(killedAt).toBeGreaterThan(0);
    devnet.startNode('val-a');
    const resumed = await waitFor(
      async () => (await signatures('val-a', killedAt + 1)).find((s) => s.delivered),
      'val-a signs again',
    );
    expect(resumed.height).toBeGreaterThan(killedAt);
    // Never a second signature of a kind at the height it had signed before the kill.
    const atKill = (await signatures('val-a', killedAt)).filter((s) => s.height === killedAt);
    for (const kind of ['proposal', 'prevote', 'precommit'])
      expect(atKill.filter((s) => s.kind === kind).length).toBeLessThanOrEqual(1);
  });

  it('freezes a partitioned node and stops counting its signatures until healed', async () => {
    const valRpc = await connectComet(devnet.info.nodes.find((n) => n.name === 'val-a')?.rpcUrl ?? '');
    try {
      await control('/nodes/val-a/partition', true);
      const frozen = (await valRpc.status()).syncInfo.latestBlockHeight;
      await waitFor(async () => (await height()) > frozen + 3, 'chain moves on');
      expect((await valRpc.status()).syncInfo.latestBlockHeight).toBe(frozen);
      const during = await signatures('val-a', frozen + 1);
      expect(during.length).toBeGreaterThan(0);
      expect(during.every((s) => !s.delivered)).toBe(true);
      // It saw no proposal: nil prevotes and precommits, no proposal of its own.
      expect(during.every((s) => s.kind !== 'proposal' && s.blockHash === null)).toBe(true);
      const { liveness } = await control<{ liveness: { address: string; consecutiveMissed: number }[] }>(
        '/validators',
      );
      expect(
        liveness.find((l) => l.address === validator.consensusAddress)?.consecutiveMissed,
      ).toBeGreaterThan(0);
      await control('/nodes/val-a/heal', true);
      await waitFor(
        async () => (await valRpc.status()).syncInfo.latestBlockHeight > frozen + 3,
        'view catches up',
      );
      await waitFor(
        async () => (await signatures('val-a', frozen + 4)).some((s) => s.delivered),
        'signatures count again',
      );
    } finally {
      valRpc.disconnect();
    }
  });

  it('refuses to start a second signer when double_sign_check_height sees the key in recent commits', async () => {
    copyFileSync(validator.keyFile, join(home('val-b'), 'config', 'priv_validator_key.json'));
    setCheckHeight('val-b', 10);
    await devnet.stopNode('val-b');
    devnet.startNode('val-b');
    expect(await devnet.node('val-b').waitExit()).not.toBe(0);
    expect(readFileSync(join(home('val-b'), 'node.log'), 'utf8')).toMatch(/double_sign_check_height/);
    expect((await control<{ evidence: unknown[] }>('/evidence')).evidence).toEqual([]);
  });

  it('detects two signers of one key, puts the evidence in a block and tombstones the validator', async () => {
    setCheckHeight('val-b', 0);
    devnet.startNode('val-b');
    const evidence = await waitFor(
      async () =>
        (
          await control<{
            evidence: { kind: string; validatorAddress: string; height: number; votes: { node: string }[] }[];
          }>('/evidence')
        ).evidence[0],
      'double-sign evidence',
      { timeoutMs: 20_000 },
    );
    expect(evidence.validatorAddress).toBe(validator.consensusAddress);
    // Both nodes sign the same blocks: the devnet's stricter second-signer rule catches them.
    expect(evidence.kind).toBe('second-signer');
    expect(evidence.votes.map((v) => v.node).sort()).toEqual(['val-a', 'val-b']);
    const q = QueryClient.withExtensions(sentry, setupSlashingExtension);
    const valcons = toBech32('cosmosvalcons', fromHex(validator.consensusAddress));
    await waitFor(
      async () => (await q.slashing.signingInfo(valcons)).valSigningInfo.tombstoned,
      'tombstoned',
    );
    const withEvidence = await waitFor(async () => {
      const top = await height();
      for (let h = evidence.height; h <= top; h++) {
        const b = await sentry.block(h);
        if (b.block.evidence.length > 0) return b;
      }
      return undefined;
    }, 'evidence in a block');
    expect(withEvidence.block.evidence.length).toBe(1);
  });
});
