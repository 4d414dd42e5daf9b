/**
 * The README's start command, driven through its console chat as a person would: the pinned status,
 * an unplanned failover, the old primary back, a switchover, a flood and the IP rotation it causes, a
 * sentry replacement, a proposal voted by button, and auto-bond. The chain is checked through its
 * public interfaces; it must never see a double-sign. Then it counts what reached the chat: every
 * message is one the test names, none is an alert that Beam's own actions or a passing blip caused.
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
import { processesUnder } from '../../local/sweep.js';
import { freePortBase } from '../pilot/harness.js';
import { waitFor } from '../helpers/wait.js';
import { type ChatLine, ConsoleDriver } from './console-driver.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface DevnetJson {
  hub: { controlUrl: string };
  validators: { consensusAddress: string; operatorAddress: string; accountAddress: string }[];
  nodes: { name: string; rpcUrl: string }[];
}

const STATUS = /Fleet [^\n]*\n[\s\S]*?holds the signing lease/;

/**
 * Every message the walkthrough posts (edits in place are not new messages), by name and how many:
 * answers to what the test typed, then what Beam said on its own.
 */
const MESSAGES: { name: string; title: RegExp; count: number }[] = [
  { name: 'the validators’ enrollments, approved at start', title: /^Node val-[ab] asks to join$/, count: 2 },
  { name: 'the first promotion, at start', title: /^Failover(?: done)?: .*val-a/, count: 1 },
  { name: 'the pinned status (`status pin`)', title: /^Fleet beam-devnet-1 at \d+$/, count: 1 },
  { name: 'the answers to `chaos …`', title: /^chaos$/, count: 6 },
  { name: 'val-a’s death', title: /^val-a: pilot silent/, count: 1 },
  { name: 'the failover question', title: /^Fail over to val-b\?$/, count: 1 },
  { name: 'the switchover’s confirmation', title: /^Confirm: switchover$/, count: 1 },
  { name: 'the switchover', title: /^Switchover: /, count: 1 },
  { name: 'the IP rotation', title: /^Rotating the IP of sentry-1/, count: 1 },
  { name: 'sentry-2’s death', title: /^sentry-2: pilot silent/, count: 1 },
  { name: 'the replacement', title: /^Replacing sentry-2/, count: 1 },
  { name: 'the proposal', title: /^Proposal #\d+: Raise the block size$/, count: 1 },
  { name: 'the bond', title: /^Delegating \d+stake/, count: 1 },
];
const MAX_MESSAGES = 20;

/** Processes whose command line names `dir` (pilots, daemons, the stack itself), as `pid cmdline`. */
const processesUsing = async (dir: string) => (await processesUnder(dir)).map((p) => `${p.pid} ${p.cmdline}`);

describe('the local stack, driven through the console chat', { timeout: 180_000 }, () => {
  let dir: string;
  let stack: ConsoleDriver;
  let devnet: DevnetJson;
  /** The pinned status message's number: the test reads the fleet from its edits. */
  let pin: string;

  /** Waits until the pinned status message shows `pattern`. */
  const pinned = (pattern: RegExp, from: number, timeoutMs = 60_000) =>
    stack.expectMessage(pin, pattern, from, timeoutMs).then((m: ChatLine) => `${m.title}\n${m.body}`);

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

  it('pins the fleet’s status, with val-a signing and no misses from before its first signature', async () => {
    const from = stack.mark();
    await stack.ask('status pin', STATUS);
    const pinnedMessage = stack.messages(from).find((m) => /^Fleet /.test(m.title))!;
    pin = pinnedMessage.id;
    const status = `${pinnedMessage.title}\n${pinnedMessage.body}`;
    expect(status).toMatch(/Signing: val-a/);
    expect(status).toMatch(/val-a \*\s+validator\s+active/);
    expect(status).toMatch(/val-b\s+validator\s+standby/);
    // Nobody's signature was missed before val-a first signed.
    expect(status).toMatch(/Missed blocks: (0 of the last \d+|none: no signature of ours seen yet)/);
    expect(status).toMatch(/pinned by console:operator: edited in place/);
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
    const status = await pinned(/Signing: val-b/, from);
    // What it says of val-a comes from a report that old, and says so.
    expect(status).toMatch(/val-a\s+validator\s+\S+ \(seen \d+ s ago\)/);
    expect(await control('/evidence')).toEqual({ evidence: [] });
  });

  it('brings val-a back as a demoted full node', async () => {
    const from = stack.mark();
    await stack.ask('chaos start val-a', /val-a: machine up/);
    const status = await pinned(/val-a\s+validator\s+standby\s+\d/, from);
    expect(status).toMatch(/Signing: val-b/);
    expect(stack.transcript.slice(from)).not.toMatch(/Signing: val-a/);
    // Its death's message says it is over, in place.
    await stack.expect(/updated: \[\d+\] \(ok\) Resolved: val-a: pilot silent/, from, 30_000);
    expect(await control('/evidence')).toEqual({ evidence: [] });
  });

  it('switches back to val-a as planned, after a confirmation, without a daemon restart', async () => {
    const from = stack.mark();
    const question = await stack.ask(
      'switchover',
      /\[(\d+)\][^\n]*Confirm: switchover[\s\S]*?(\d+)\) Confirm/,
    );
    stack.type(`press ${question[1]} ${question[2]}`);
    await stack.expect(/Switchover done: val-a is signing/, from, 90_000);
    await pinned(/Signing: val-a/, from);
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
    const status = await pinned(new RegExp(`${replacement}\\s+sentry\\s+healthy`), from);
    expect(status).not.toMatch(/sentry-2\s/);
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

  it('told the whole walkthrough in at most 20 messages, each one named, no alert Beam caused itself', () => {
    const posts = stack.messages().filter((m) => !m.updated);
    const unnamed = posts.filter((m) => !MESSAGES.some((n) => n.title.test(m.title)));
    expect(unnamed.map((m) => `[${m.id}] ${m.title}`)).toEqual([]);
    for (const { name, title, count } of MESSAGES) {
      expect(
        posts.filter((m) => title.test(m.title)).map((m) => m.title),
        name,
      ).toHaveLength(count);
    }
    expect(posts.length).toBeLessThanOrEqual(MAX_MESSAGES);
    // No alert about a blip (peers, RPC, lag, misses), a stray, or a node Beam was working on, even as an edit.
    const everything = stack
      .messages()
      .map((m) => `${m.title}\n${m.body}`)
      .join('\n');
    expect(everything).not.toMatch(
      /peers?\b.*\(threshold|RPC not answering|blocks behind|missed \d+ blocks|without the lease/,
    );
    expect(everything).not.toMatch(/\bnull\b|\bundefined\b|\bNaN\b|1970-01-01/);
  });
});
