// biome-ignore-all lint/suspicious/noTemplateCurlyInString: explorer templates hold literal ${…} slots
/**
 * Governance and staking end to end: a devnet validator (val-a) with its authz grants to the hot key,
 * its pilot (in process), and the real self-hosted commander (embedded dynalite, a tick every second)
 * with a recording chat transport. Proposals come from the devnet control API; votes and delegations
 * are read back from the chain with cosmjs. The scenarios share one devnet and run in order.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectSecp256k1HdWallet, decodeTxRaw } from '@cosmjs/proto-signing';
import {
  calculateFee,
  createProtobufRpcClient,
  GasPrice,
  QueryClient,
  SigningStargateClient,
  StargateClient,
  setupBankExtension,
  setupStakingExtension,
} from '@cosmjs/stargate';
import { type CometClient, connectComet } from '@cosmjs/tendermint-rpc';
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { VoteOption as V1Vote } from 'cosmjs-types/cosmos/gov/v1/gov';
import { QueryClientImpl as GovV1Query } from 'cosmjs-types/cosmos/gov/v1/query';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import * as governanceOps from '../../commander/app/governance-ops.js';
import type { ChatOps } from '../../commander/chatops/chatops.js';
import { loadGovernanceState } from '../../commander/governance/index.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { HotSigner } from '../../pilot/tx.js';
import { RecordingTransport } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase, killDaemon, type PilotSetup, pilotConfigFor, seedLease } from '../pilot/harness.js';

process.env.BEAM_LOG_LEVEL ??= 'error';
const TOKEN = 'e2e-enrollment-token-0123456789';
const ADMIN = { kind: 'console' as const, id: 'admin' };
const silent = pino({ level: process.env.PILOT_TEST_LOG ?? 'silent' });

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let pilot: Pilot;
let setup: PilotSetup;
let chatops: ChatOps;
let comet: CometClient;
let gov: GovV1Query;
let query: ReturnType<typeof queryClient>;
const chat = new RecordingTransport('console');

const queryClient = (c: CometClient) =>
  QueryClient.withExtensions(c, setupBankExtension, setupStakingExtension);
const validator = () => devnet.info.validators[0]!;
const chainId = () => devnet.info.chainId;

async function control<T>(route: string, body: unknown): Promise<T> {
  const res = await fetch(`${devnet.info.hub.controlUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const propose = async (title: string, votingPeriodMs: number) =>
  (await control<{ proposalId: string }>('/proposals', { title, summary: `About ${title}.`, votingPeriodMs }))
    .proposalId;

/** Our (the validator account's) vote on chain, or null when there is none. */
async function chainVote(id: string): Promise<V1Vote | null> {
  try {
    const r = await gov.Vote({ proposalId: BigInt(id), voter: validator().accountAddress });
    return r.vote?.options[0]?.option ?? null;
  } catch (error) {
    if (/not found/i.test((error as Error).message)) return null;
    throw error;
  }
}

async function votingEnd(id: string): Promise<number> {
  const p = (await gov.Proposal({ proposalId: BigInt(id) })).proposal!;
  return Number(p.votingEndTime!.seconds) * 1000 + Math.floor(p.votingEndTime!.nanos / 1e6);
}

async function liquid(): Promise<bigint> {
  return BigInt((await query.bank.balance(validator().accountAddress, devnet.info.denom)).amount);
}

async function delegated(): Promise<bigint> {
  const r = await query.staking.delegation(validator().accountAddress, validator().operatorAddress);
  return BigInt(r.delegationResponse?.balance?.amount ?? '0');
}

/** A transaction from the validator's own account (as an operator would send outside Beam). */
async function sendAsValidator(messages: { typeUrl: string; value: unknown }[]): Promise<void> {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(validator().accountMnemonic, {
    prefix: devnet.info.bech32Prefix,
  });
  const client = await SigningStargateClient.connectWithSigner(devnet.info.nodes[0]!.rpcUrl, wallet, {
    broadcastPollIntervalMs: 200,
  });
  try {
    const fee = calculateFee(300_000, GasPrice.fromString(`0.025${devnet.info.denom}`));
    const r = await client.signAndBroadcast(validator().accountAddress, messages, fee);
    expect(r.code, r.rawLog).toBe(0);
  } finally {
    client.disconnect();
  }
}

/** The validator account's liquid balance as the commander last saw it. */
async function reportedLiquid(): Promise<bigint> {
  const r = (await commander.deps.store.getNode('val-a'))?.value.lastReport;
  return BigInt(r?.chain?.balances.find((b) => b.denom === devnet.info.denom)?.amount ?? '0');
}

/** Resolves after two ticks that started after now. */
async function twoTicks(): Promise<void> {
  const from = Date.now();
  await waitFor(async () => (await commander.deps.store.getLastTickAt())! > from + 1_000, 'two ticks');
}

const fieldOf = (m: ChatMessage, label: string) => m.fields?.find((f) => f.label === label)?.value;
const allMessages = () => [...chat.posts, ...chat.updates].map((x) => x.message);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-governance-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    standby: 0,
    sentries: 0,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
  });
  commander = await serve(
    ServeConfig.parse({
      listen: '127.0.0.1:0',
      stateDir: path.join(dir, 'commander'),
      tick: '* * * * * *',
      settings: {
        enrollmentToken: TOKEN,
        reportIntervalMs: 500,
        enrollRetryMs: 200,
        chat: [{ platform: 'console', chat: 'ops' }],
        access: { console: { users: { alice: 'operator', admin: 'admin' }, chats: ['ops'] } },
        failover: {
          keyMode: 'file',
          reportIntervalMs: 500,
          leaseDurationMs: 3_000,
          renewMarginMs: 2_000,
          silentAfterMs: 1_500,
          chainHaltAfterMs: 1_500,
          startupGraceMs: 6_000,
          pilotFenceDelayMs: 4_000,
          maxClockSkewMs: 500,
          graceMs: 5_000,
          mode: 'confirm',
        },
        explorers: {
          [devnet.info.chainId]: {
            proposal: 'https://explorer.example/devnet/proposals/${proposalId}',
            tx: 'https://explorer.example/devnet/tx/${txHash}',
          },
        },
        governance: {
          reminderOffsetsMs: [],
          actionTimeoutMs: 60_000,
          autoBond: { withdraw: false },
        },
      },
    }),
    { transports: { console: chat } },
  );
  // The commander's own chat wiring: a button press runs `vote <id> <option>` through FleetOps.
  chatops = createChatOps(commander.deps);
  const tokenFile = path.join(dir, 'enrollment-token');
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  setup = await pilotConfigFor(devnet.info, 'val-a', dir, {
    commanderUrl: commander.url,
    extra: {
      commander: { enrollment_token_file: tokenFile, request_timeout_ms: 2_000 },
      limits: { max_delegate_per_action: '100000000000', max_delegate_per_day: '100000000000' },
    },
  });
  // val-a signed before Beam: its pilot remembers a lease, so it boots signing and is adopted.
  await seedLease(setup.stateDir, 1, 20_000);
  pilot = await Pilot.create(setup.config, silent);
  await pilot.start();
  await approveOnEnrollment(commander.deps, ['val-a']);
  // Governance acts through the node holding the key, with chain facts in its report.
  await waitFor(async () => {
    const node = (await commander.deps.store.getNode('val-a'))?.value;
    return node?.lastReport?.custody?.holdsValidatorKey && node.lastReport.chain?.grants?.length;
  }, 'val-a reporting with its key and grants');
  comet = await connectComet(devnet.info.nodes[0]!.rpcUrl);
  const q = QueryClient.withExtensions(comet);
  gov = new GovV1Query(createProtobufRpcClient(q));
  query = queryClient(comet);
}, 60_000);

afterAll(async () => {
  await pilot?.close();
  if (setup) await killDaemon(setup.stateDir);
  comet?.disconnect();
  await commander?.close();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('governance on the devnet', () => {
  let first: string;

  it('posts one message for a new proposal, with deadline, our vote, the explorer link and vote buttons', async () => {
    first = await propose('Raise the block size', 120_000);
    const post = await waitFor(
      () => chat.posts.find((p) => p.message.title === `Proposal #${first}: Raise the block size`),
      'the proposal message',
    );
    expect(post.message.text).toBe('About Raise the block size.');
    const deadline = new Date(await votingEnd(first)).toISOString().replace('.000Z', 'Z');
    expect(fieldOf(post.message, 'Voting ends')).toMatch(
      new RegExp(`^${deadline} \\(in (2 min|11\\d s)\\)$`),
    );
    expect(fieldOf(post.message, 'Our vote')).toBe('not voted');
    expect(post.message.links).toEqual([
      { url: `https://explorer.example/devnet/proposals/${first}`, label: 'proposal' },
    ]);
    expect(post.message.buttons?.map((b) => b.label)).toEqual(['Yes', 'No', 'Abstain', 'No with veto']);
    // One message, however many ticks and reports follow.
    await twoTicks();
    expect(chat.posts.filter((p) => p.message.title.includes(`#${first}:`))).toHaveLength(1);
  }, 30_000);

  it('a button press votes on chain through the pilot, and the message shows the tx hash', async () => {
    const post = chat.posts.find((p) => p.message.title === `Proposal #${first}: Raise the block size`)!;
    const no = post.message.buttons!.find((b) => b.label === 'No')!;
    const replies = await chatops.handle({
      kind: 'button',
      platform: 'console',
      chat: 'ops',
      user: { id: 'alice', name: 'Alice' },
      buttonId: no.id,
      message: post.ref,
    });
    expect(JSON.stringify(replies)).toContain('voting No on proposal');
    await waitFor(async () => (await chainVote(first)) === V1Vote.VOTE_OPTION_NO, 'the vote on chain', {
      timeoutMs: 20_000,
    });
    const updated = await waitFor(
      () =>
        chat.updates
          .filter((u) => u.ref.messageId === post.ref.messageId)
          .map((u) => fieldOf(u.message, 'Vote'))
          .find((v) => v && /tx [0-9A-F]{64}/.test(v)),
      'the message updated with the tx hash',
    );
    const hash = /tx ([0-9A-F]{64})/.exec(updated)![1]!;
    expect(updated).toMatch(/^No \(console:alice \(Alice\)\): tx/);
    const client = await StargateClient.connect(devnet.info.nodes[0]!.rpcUrl);
    try {
      expect((await client.getTx(hash))?.code).toBe(0);
    } finally {
      client.disconnect();
    }
    const audit = await commander.deps.store.listAudit(50);
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: 'console:alice (Alice)',
        action: 'vote no',
        target: `proposal ${first}`,
        outcome: 'ok',
      }),
    );

    // A changed vote before the end, with a memo.
    const changed = await governanceOps.recordVote(commander.deps, {
      proposalId: first,
      option: 'yes',
      memo: 'after the call',
      actor: ADMIN,
    });
    expect(changed).toMatchObject({
      accepted: true,
      summary: expect.stringMatching(/^changing our vote to Yes/),
    });
    await waitFor(
      async () => (await chainVote(first)) === V1Vote.VOTE_OPTION_YES,
      'the changed vote on chain',
      {
        timeoutMs: 20_000,
      },
    );
    const yes = await waitFor(
      () =>
        chat.updates
          .filter((u) => u.ref.messageId === post.ref.messageId)
          .map((u) => fieldOf(u.message, 'Vote'))
          .find((v) => v?.startsWith('Yes (console:admin): tx ')),
      'the message showing the changed vote',
    );
    // The memo rides on the transaction.
    const client2 = await StargateClient.connect(devnet.info.nodes[0]!.rpcUrl);
    try {
      const tx = await client2.getTx(/tx ([0-9A-F]{64})/.exec(yes)![1]!);
      expect(decodeTxRaw(tx!.tx).body.memo).toBe('after the call');
    } finally {
      client2.disconnect();
    }
  }, 60_000);

  it('a pilot on a chain without gov v1 votes as v1beta1 MsgVote through the same authz', async () => {
    // What the executor does when the chain facts fell back to v1beta1 (the devnet serves both).
    const hot = new HotSigner({
      rpcUrl: devnet.info.nodes[0]!.rpcUrl,
      mnemonicFile: setup.config.chain!.hot_mnemonic_file!,
      prefix: devnet.info.bech32Prefix,
      gasPrice: `0.025${devnet.info.denom}`,
      gasLimit: 400_000,
      broadcastPollIntervalMs: 200,
      broadcastTimeoutMs: 15_000,
      granter: validator().accountAddress,
      valoper: validator().operatorAddress,
    });
    try {
      const out = await hot.vote(first, 'abstain', 'legacy', true);
      expect(out.code, out.rawLog).toBe(0);
    } finally {
      hot.disconnect();
    }
    expect(await chainVote(first)).toBe(V1Vote.VOTE_OPTION_ABSTAIN);
  }, 30_000);

  it('auto-votes at the threshold and not before, never over a vote, never when held', async () => {
    const policy = {
      'autoVote.enabled': 'on',
      'autoVote.option': 'no_with_veto',
      'autoVote.thresholdHours': '8s',
      'autoVote.warnHours': '4s',
    };
    for (const [key, value] of Object.entries(policy)) {
      expect(
        await governanceOps.setGovernancePolicy(commander.deps, { key, value, actor: ADMIN }),
      ).toMatchObject({
        accepted: true,
      });
    }
    const [auto, voted, held] = [
      await propose('Left to the auto-vote', 22_000),
      await propose('Voted outside Beam', 22_000),
      await propose('Held', 22_000),
    ];
    await sendAsValidator([
      {
        typeUrl: '/cosmos.gov.v1beta1.MsgVote',
        value: {
          proposalId: BigInt(voted),
          voter: validator().accountAddress,
          option: V1Vote.VOTE_OPTION_ABSTAIN,
        },
      },
    ]);
    await waitFor(
      () => chat.posts.find((p) => p.message.title.startsWith(`Proposal #${held}:`)),
      'held announced',
    );
    expect(
      await governanceOps.holdAutoVote(commander.deps, { proposalId: held, actor: ADMIN }),
    ).toMatchObject({
      accepted: true,
    });

    const end = await votingEnd(auto);
    const castAt = end - 8_000;
    const warning = await waitFor(
      () => chat.posts.find((p) => p.message.title.startsWith(`Auto-vote on proposal #${auto}:`)),
      'the auto-vote warning',
    );
    expect(warning.message.buttons?.map((b) => b.label)).toEqual(['Hold']);
    // Warned at the warning time (threshold + 4 s before the end), not before.
    const { warnedAt } = (await loadGovernanceState(commander.deps.store, chainId())).state.proposals[auto]!
      .autoVote;
    expect(warnedAt).toBeGreaterThanOrEqual(end - 12_000);
    expect(warnedAt).toBeLessThan(end - 8_000);
    // Not before the threshold.
    await waitFor(() => Date.now() >= castAt - 700, 'just before the threshold', { timeoutMs: 15_000 });
    expect(await chainVote(auto)).toBeNull();
    await waitFor(
      async () => (await chainVote(auto)) === V1Vote.VOTE_OPTION_NO_WITH_VETO,
      'the auto-vote on chain',
      {
        timeoutMs: 15_000,
      },
    );
    const intent = await waitFor(async () => {
      const state = (await loadGovernanceState(commander.deps.store, chainId())).state;
      const i = state.proposals[auto]!.intents[0];
      return i?.status === 'done' ? i : null;
    }, 'the auto-vote result');
    expect(intent).toMatchObject({ auto: true, option: 'no_with_veto', status: 'done' });
    expect(intent.at).toBeGreaterThanOrEqual(castAt);
    expect(intent.at).toBeLessThan(castAt + 5_000);
    await waitFor(
      () =>
        chat.updates.find(
          (u) =>
            u.ref.messageId === warning.ref.messageId &&
            /^Auto-vote No with veto \(auto-vote\): tx [0-9A-F]{64}/.test(u.message.text ?? ''),
        ),
      'the warning updated with the tx',
    );

    // Past the other two proposals' thresholds (submitted within a second of this one), before the
    // end (the chain drops votes once it tallied): the outside vote stands, the held one has none.
    await waitFor(() => Date.now() > castAt + 3_000, 'past every threshold');
    expect(await votingEnd(held)).toBeGreaterThan(Date.now() + 2_000);
    expect(await chainVote(voted)).toBe(V1Vote.VOTE_OPTION_ABSTAIN);
    expect(await chainVote(held)).toBeNull();
    await waitFor(() => Date.now() > end + 1_500, 'voting ended', { timeoutMs: 15_000 });
    const after = (await loadGovernanceState(commander.deps.store, chainId())).state;
    expect(after.proposals[voted]!.intents).toEqual([]);
    expect(after.proposals[held]!.intents).toEqual([]);
    expect(after.proposals[held]!.autoVote.heldBy).toBe('console:admin');
    const heldWarning = allMessages()
      .filter((m) => m.title.startsWith(`Auto-vote on proposal #${held}:`))
      .at(-1);
    expect(heldWarning?.text).toBe('Held by console:admin: no auto-vote on this proposal.');
    await waitFor(
      () =>
        chat.updates.find(
          (u) => u.message.title === `Voting ended: Proposal #${auto}: Left to the auto-vote`,
        ),
      'the message updated when voting ended',
    );
  }, 60_000);

  it('auto-bond withdraws rewards and commission, then delegates all but the fee reserve to the own validator', async () => {
    const reserve = 2_000_000n;
    await control('/fund', { address: validator().accountAddress, amount: '700000000' });
    const funded = await waitFor(async () => {
      const l = await liquid();
      return l > 700_000_000n ? l : null;
    }, 'the funds on chain');
    // The decision works on the holder's report: let it show the funds first.
    await waitFor(async () => (await reportedLiquid()) >= funded, 'the commander seeing the funds');
    const before = await delegated();
    for (const [key, value] of Object.entries({
      'autoBond.threshold': '500000000',
      'autoBond.feeReserve': String(reserve),
      'autoBond.withdraw': 'on',
      'autoBond.enabled': 'on',
    })) {
      expect(
        await governanceOps.setGovernancePolicy(commander.deps, { key, value, actor: ADMIN }),
      ).toMatchObject({
        accepted: true,
      });
    }
    const withdrawn = await waitFor(
      () => chat.updates.find((u) => u.message.title.startsWith('Withdrawing rewards and commission: ')),
      'the withdrawal announced with its result',
      { timeoutMs: 20_000 },
    );
    expect(withdrawn.message).toMatchObject({
      title: 'Withdrawing rewards and commission: done',
      text: expect.stringMatching(/^tx [0-9A-F]{64}$/),
    });
    const done = await waitFor(
      () => chat.updates.find((u) => /^Delegating \d+stake to cosmosvaloper\S+: done$/.test(u.message.title)),
      'the delegation announced with its result',
      { timeoutMs: 20_000 },
    );
    const amount = BigInt(/^Delegating (\d+)stake/.exec(done.message.title)![1]!);
    const liquidThen = BigInt(fieldOf(done.message, 'Liquid')!.replace('stake', ''));
    // The bond was computed on a report that shows the withdrawn rewards.
    expect(liquidThen).toBeGreaterThan(funded);
    expect(amount).toBe(liquidThen - reserve);
    expect(done.message.text).toMatch(/^tx [0-9A-F]{64}$/);
    expect(fieldOf(done.message, 'Kept as fee reserve')).toBe(`${reserve}stake`);
    expect((await delegated()) - before).toBe(amount);
    // The reserve stays liquid (plus the rewards the delegation withdrew, as the SDK does).
    const left = await liquid();
    expect(left).toBeGreaterThanOrEqual(reserve);
    expect(left).toBeLessThan(liquidThen - amount + 200_000_000n);
    // One delegation: the balance is now under the threshold.
    await twoTicks();
    expect(chat.posts.filter((p) => p.message.title.startsWith('Delegating '))).toHaveLength(1);
    const preview = await governanceOps.bondPreview(commander.deps);
    expect(preview).toMatchObject({ validator: validator().operatorAddress, reserve: `${reserve}stake` });
  }, 60_000);

  it('a revoked delegate grant raises a clear alert, and bonding is refused instead of failing silently', async () => {
    expect(allMessages().filter((m) => m.title.startsWith('Authz grant problem'))).toEqual([]);
    const postsBefore = chat.posts.length;
    await sendAsValidator([
      {
        typeUrl: '/cosmos.authz.v1beta1.MsgRevoke',
        value: {
          granter: validator().accountAddress,
          grantee: devnet.info.accounts.find((a) => a.name === 'hot')!.address,
          msgTypeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
        },
      },
    ]);
    const alert = await waitFor(
      () =>
        chat.posts
          .slice(postsBefore)
          .find((p) => p.message.title === `Authz grant problem on ${chainId()}: votes or bonds will fail`),
      'the grant alert',
    );
    expect(alert.message.severity).toBe('warning');
    expect(alert.message.text).toContain('missing grant for auto-bond: /cosmos.staking.v1beta1.MsgDelegate');
    expect(alert.message.text).toContain('beam-pilot grants');
    await control('/fund', { address: validator().accountAddress, amount: '700000000' });
    await waitFor(
      async () => (await reportedLiquid()) > 700_000_000n,
      'the commander seeing the funded balance',
    );
    await twoTicks();
    const refused = await governanceOps.bondNow(commander.deps, { actor: ADMIN });
    expect(refused).toMatchObject({ accepted: false, summary: expect.stringContaining('no delegate grant') });
    expect(chat.posts.filter((p) => p.message.title.startsWith('Delegating '))).toHaveLength(1);
  }, 30_000);

  it('a vote grant about to expire is announced, and again once it expired', async () => {
    const expiresAt = Math.ceil((Date.now() + 6_000) / 1000) * 1000;
    await sendAsValidator([
      {
        typeUrl: '/cosmos.authz.v1beta1.MsgGrant',
        value: {
          granter: validator().accountAddress,
          grantee: devnet.info.accounts.find((a) => a.name === 'hot')!.address,
          grant: {
            authorization: {
              typeUrl: '/cosmos.authz.v1beta1.GenericAuthorization',
              value: GenericAuthorization.encode({ msg: '/cosmos.gov.v1.MsgVote' }).finish(),
            },
            expiration: { seconds: BigInt(expiresAt / 1000), nanos: 0 },
          },
        },
      },
    ]);
    const grantAlerts = () =>
      chat.posts
        .filter((p) => p.message.title.startsWith('Authz grant problem'))
        .map((p) => p.message.text ?? '');
    await waitFor(
      () =>
        grantAlerts().find((t) =>
          t.includes(`grant for votes expires ${new Date(expiresAt).toISOString()}: /cosmos.gov.v1.MsgVote`),
        ),
      'the expiring grant announced',
    );
    const expired = await waitFor(
      () => grantAlerts().find((t) => t.includes('missing grant for votes: /cosmos.gov.v1.MsgVote')),
      'the expired grant announced',
      { timeoutMs: 20_000 },
    );
    // Still naming the other problem: one message says everything that is wrong.
    expect(expired).toContain('missing grant for auto-bond: /cosmos.staking.v1beta1.MsgDelegate');
  }, 40_000);
});
