/**
 * The README's start command, driven through its console chat as a person would: status, an unplanned
 * failover, a flood and the IP rotation it causes, a sentry replacement, a proposal voted by button,
 * and auto-bond. The chain is checked through its public interfaces; it must never see a double-sign.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  QueryClient,
  createProtobufRpcClient,
  setupBankExtension,
  setupStakingExtension,
} from '@cosmjs/stargate';
import { connectComet } from '@cosmjs/tendermint-rpc';
import { VoteOption } from 'cosmjs-types/cosmos/gov/v1/gov';
import { QueryClientImpl as GovV1Query } from 'cosmjs-types/cosmos/gov/v1/query';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortBase } from '../pilot/harness.js';
import { waitFor } from '../helpers/wait.js';
import { ConsoleDriver } from './console-driver.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface DevnetJson {
  hub: { controlUrl: string };
  validators: { consensusAddress: string; operatorAddress: string; accountAddress: string }[];
  nodes: { name: string; rpcUrl: string }[];
}

const STATUS = /Fleet [^\n]*\n[\s\S]*?holds the signing lease/;

/** Processes whose command line names `dir` (pilots, daemons, the stack itself), as `pid cmdline`. */
async function processesUsing(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmdline.includes(dir) && !/^\d+ \(.*\) Z/.test(stat))
      found.push(`${entry} ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

describe('the local stack, driven through the console chat', { timeout: 180_000 }, () => {
  let dir: string;
  let stack: ConsoleDriver;
  let devnet: DevnetJson;

  const control = async (route: string): Promise<unknown> => {
    const res = await fetch(`${devnet.hub.controlUrl}${route}`);
    return res.json();
  };

  /** Bank, staking and gov v1 queries through a sentry's CometBFT RPC, as any client would. */
  const chainQueries = async () => {
    const comet = await connectComet(devnet.nodes.find((n) => n.name === 'sentry-3')!.rpcUrl);
    const query = QueryClient.withExtensions(comet, setupBankExtension, setupStakingExtension);
    return { bank: query.bank, staking: query.staking, gov: new GovV1Query(createProtobufRpcClient(query)) };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-stack-'));
    const portBase = await freePortBase(12);
    stack = new ConsoleDriver(
      [
        '--dir',
        path.join(dir, 'stack'),
        '--reset',
        '--port-base',
        String(portBase),
        '--block-time-ms',
        '500',
      ],
      ROOT,
    );
    await stack.expect(/Ctrl-C stops everything/, 0, 120_000);
    devnet = JSON.parse(await fs.readFile(path.join(dir, 'stack', 'devnet', 'devnet.json'), 'utf8'));
  }, 150_000);

  afterAll(async () => {
    await stack?.interrupt();
    expect(stack.stderr).toMatch(/stopping the local stack/);
    // Ctrl-C stops everything the stack started: no process runs from its directory any more.
    await waitFor(async () => (await processesUsing(dir)).length === 0, 'every stack process gone', {
      timeoutMs: 30_000,
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${(await processesUsing(dir)).join('\n')}`);
    });
    await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows the fleet with val-a signing', async () => {
    const [status] = await stack.ask('status', STATUS);
    expect(status).toMatch(/Signing: val-a/);
    expect(status).toMatch(/val-a \*\s+validator\s+active/);
    expect(status).toMatch(/val-b\s+validator\s+standby/);
  });

  it('fails over to val-b when val-a’s machine dies, after a button press', async () => {
    const from = stack.mark();
    await stack.ask('chaos kill val-a', /val-a: machine down/);
    const question = await stack.expect(
      /\[(\d+)\][^\n]*Fail over to val-b\?[\s\S]*?(\d+)\) Fail over/,
      from,
      90_000,
    );
    stack.type(`press ${question[1]} ${question[2]}`);
    await stack.expect(/Failover done: val-b is signing/, from, 90_000);
    const [status] = await stack.ask('status', STATUS);
    expect(status).toMatch(/Signing: val-b/);
    expect(await control('/evidence')).toEqual({ evidence: [] });
  });

  it('brings val-a back as a demoted full node', async () => {
    const from = stack.mark();
    await stack.ask('chaos start val-a', /val-a: machine up/);
    await waitFor(
      async () => {
        const [status] = await stack.ask('status', STATUS);
        return /val-a\s+validator\s+standby/.test(status) && /Signing: val-b/.test(status);
      },
      'val-a reporting as a standby',
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(stack.transcript.slice(from)).not.toMatch(/Signing: val-a/);
    expect(await control('/evidence')).toEqual({ evidence: [] });
  });

  it('rotates a flooded sentry’s public address once, and its config follows', async () => {
    const from = stack.mark();
    await stack.ask('chaos flood sentry-1 300 20', /sentry-1: flooded with \d+ connections/);
    const [, address] = await stack.expect(/sentry-1 has a new public address: (\S+)/, from, 120_000);
    const configFile = path.join(dir, 'stack', 'devnet', 'nodes', 'sentry-1', 'config', 'config.toml');
    await waitFor(
      async () => (await fs.readFile(configFile, 'utf8')).includes(`external_address = "${address}"`),
      `external_address ${address} in sentry-1's config.toml`,
    );
    // One rotation, however long the flood lasts: every message about it is one message, updated.
    const messages = new Set(
      [...stack.transcript.slice(from).matchAll(/\[(\d+)\][^\n]*Rotating the IP of sentry-1/g)].map(
        (m) => m[1],
      ),
    );
    expect(messages.size).toBe(1);
  });

  it('replaces a dead sentry with a new one that joins the fleet', async () => {
    const from = stack.mark();
    await stack.ask('chaos kill sentry-2', /sentry-2: machine down/);
    const [, replacement] = await stack.expect(/sentry-2 replaced by (\S+)/, from, 150_000);
    await waitFor(
      async () => {
        const [status] = await stack.ask('status', STATUS);
        return new RegExp(`${replacement}\\s+sentry`).test(status) && !/sentry-2\s/.test(status);
      },
      `${replacement} in the fleet status`,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  });

  it('casts a vote on chain from a proposal’s button', async () => {
    const from = stack.mark();
    const [, id] = await stack.ask('chaos propose Raise the block size', /proposal (\d+) submitted/);
    const message = await stack.expect(
      new RegExp(`\\[(\\d+)\\][^\\n]*Proposal #${id}: Raise the block size[\\s\\S]*?(\\d+)\\) Yes`),
      from,
      60_000,
    );
    stack.type(`press ${message[1]} ${message[2]}`);
    const [, txHash] = await stack.expect(/Yes \([^)]*\): tx ([0-9A-F]{64})/, from, 90_000);
    const { gov } = await chainQueries();
    const vote = await gov.Vote({ proposalId: BigInt(id!), voter: devnet.validators[0]!.accountAddress });
    expect(vote.vote?.options[0]?.option).toBe(VoteOption.VOTE_OPTION_YES);
    expect(txHash).toMatch(/^[0-9A-F]{64}$/);
  });

  it('bonds a topped-up balance to the own validator and keeps the fee reserve', async () => {
    const from = stack.mark();
    const { bank, staking } = await chainQueries();
    const validator = devnet.validators[0]!;
    const before = BigInt(
      (await staking.delegation(validator.accountAddress, validator.operatorAddress)).delegationResponse!
        .balance!.amount,
    );
    await stack.ask('chaos fund 1500000000', /sent 1500000000stake/);
    const [, amount, seen] = await stack.expect(
      /Delegating (\d+)stake to \S+: done\ntx [0-9A-F]{64}\n {2}Liquid: (\d+)stake\n {2}Kept as fee reserve: 1000000stake/,
      from,
      90_000,
    );
    // All but the reserve of what the commander saw is bonded.
    expect(BigInt(amount!)).toBe(BigInt(seen!) - 1_000_000n);
    expect(BigInt(seen!)).toBeGreaterThan(1_500_000_000n);
    const after = BigInt(
      (await staking.delegation(validator.accountAddress, validator.operatorAddress)).delegationResponse!
        .balance!.amount,
    );
    expect(after - before).toBe(BigInt(amount!));
    // What stays liquid: the reserve less the tx fee (gas limit × gas price), plus the rewards that the
    // delegation withdrew, as the SDK does; never less than the reserve can pay for.
    const liquid = BigInt((await bank.balance(validator.accountAddress, 'stake')).amount);
    expect(liquid).toBeGreaterThanOrEqual(1_000_000n - 10_000n);
    expect(liquid).toBeLessThan(BigInt(seen!) / 2n);
    expect(await control('/evidence')).toEqual({ evidence: [] });
  });
});
