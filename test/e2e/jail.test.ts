/**
 * A jailed validator unjailed from chat, end to end: a devnet whose 20 background validators hold 95 %
 * of the power (the chain goes on without ours), a small slashing window and a short jail, two
 * validator nodes whose pilots (real processes) are their daemons' remote signers and hold the hot
 * key with every grant `beam-pilot grants` prints (MsgUnjail among them), and the real self-hosted
 * commander with a recording chat, talked to through its own chatops as an operator and a viewer.
 *
 * How the validator gets jailed: the failover mode is `confirm` and val-a's daemon hangs (SIGSTOP).
 * Beam asks "Fail over to val-b?" and nobody answers (the operator is asleep), so nothing moves and
 * the validator misses every block until x/slashing jails it. In `auto` mode Beam would fail over
 * within seconds and the validator would never be jailed; a stopped daemon would be restarted by its
 * pilot; a partitioned node precommits nil, which x/slashing counts as signed. The hung primary also
 * makes the operator's morning realistic: unjail from the alert's [Unjail] (Beam has val-b's pilot send
 * it: the lease holder's daemon hangs and could not broadcast), then answer the failover question so
 * that val-b signs for the validator again. In that order: a jailed validator signs nothing, so a
 * promotion before the unjail would wait for a first signature that cannot come.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromHex, toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, decodeTxRaw } from '@cosmjs/proto-signing';
import {
  GasPrice,
  QueryClient,
  SigningStargateClient,
  StargateClient,
  setupSlashingExtension,
  setupStakingExtension,
} from '@cosmjs/stargate';
import { type CometClient, connectComet } from '@cosmjs/tendermint-rpc';
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { MsgExec, MsgGrant } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgUnjail } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import { AuthorizationType, StakeAuthorization } from 'cosmjs-types/cosmos/staking/v1beta1/authz';
import { BondStatus } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput, ChatMessage, ChatReply, MessageRef } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { requestFailover } from '../../commander/app/failover-ops.js';
import type { ChatOps } from '../../commander/chatops/chatops.js';
import type { RunningCommander } from '../../commander/server/serve.js';
import type { CommanderSettingsInput } from '../../commander/settings.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { PilotProcess } from '../../local/pilot-process.js';
import { grantCommandsFor } from '../../pilot/grants.js';
import { RecordingTransport } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase, type PilotSetup, pilotConfigFor } from '../pilot/harness.js';
import { FailoverProbe, SIGNER_FAILOVER, serveCommander } from './failover-kit.js';

// The commander runs in this process: its tick log stays out of the test's output.
process.env.BEAM_LOG_LEVEL ??= 'warn';
const TOKEN = 'e2e-jail-enrollment-token-012345';
const ACTOR = { kind: 'console' as const, id: 'e2e' };
const BLOCK_MS = 300;
/**
 * x/slashing: more than 30 of the last 60 blocks missed jails the validator (once past height 60),
 * for 10 s. Between the first block and val-a's first signature the validator misses a few blocks
 * (the first promotion takes a report or two): far fewer than 30.
 */
const SLASHING = { signedBlocksWindow: 60, minSignedPerWindow: 0.5, downtimeJailMs: 10_000 };
const UNJAIL_GRANT = '/cosmos.slashing.v1beta1.MsgUnjail';

/** The shared signer-mode timings, asking before any failover. */
const FAILOVER = { ...SIGNER_FAILOVER, mode: 'confirm' as const };
/**
 * Commander settings beside failover: console users `op` (operator) and `look` (viewer), in chat `ops`
 * where Beam posts. A hung daemon makes each of val-a's reports wait out its pilot's 3 s RPC timeout:
 * with 500 ms reports, the default 3 silent intervals (1.5 s) would call its pilot silent, and well
 * again, at every report.
 */
const SETTINGS: Partial<CommanderSettingsInput> = {
  access: { console: { users: { op: 'operator', look: 'viewer' }, chats: ['ops'] } },
  thresholds: { silentIntervals: 10 },
};

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let chatops: ChatOps;
let probe: FailoverProbe;
let comet: CometClient;
let query: ReturnType<typeof queryClient>;
const chat = new RecordingTransport('console');
const setups = new Map<string, PilotSetup>();
const pilots = new Map<string, PilotProcess>();

const queryClient = (c: CometClient) =>
  QueryClient.withExtensions(c, setupSlashingExtension, setupStakingExtension);
const validator = () => devnet.info.validators[0]!;
const short = () => validator().consensusAddress.slice(0, 8);
const jailedKey = () => `validator:${devnet.info.chainId}:${validator().consensusAddress}:jailed`;
const pilot = (name: string) => pilots.get(name)!;
/** RPC of val-b's daemon, which never hangs here: the test reads the chain through it. */
const rpcB = () => devnet.info.nodes.find((n) => n.name === 'val-b')!.rpcUrl;

/** Every message told in the chat: the posts, then the edits. */
const told = () => [...chat.posts, ...chat.updates];
const textOf = (m: ChatMessage) =>
  [
    m.title,
    m.text,
    m.preformatted,
    m.context,
    ...(m.fields ?? []).flatMap((f) => [f.label, f.value]),
    ...(m.buttons ?? []).map((b) => b.label),
    ...(m.links ?? []).flatMap((l) => [l.label, l.url]),
  ]
    .filter((x) => x !== undefined)
    .join('\n');
/** The chat messages (by id) that ever told of the validator's jail: one, edited in place. */
const aboutJail = () => [
  ...new Set(
    told()
      .filter((m) => textOf(m.message).includes(`validator ${short()} jailed`))
      .map((m) => m.ref.messageId),
  ),
];
/** Every chatops answer given in this test, for the text check at the end. */
const answers: ChatReply[] = [];

/** A person in the ops chat pressing a button of a message Beam showed. */
async function press(user: string, buttonId: string, message: MessageRef): Promise<ChatReply[]> {
  const input: ChatInput = {
    kind: 'button',
    platform: 'console',
    chat: 'ops',
    user: { id: user, name: user === 'op' ? 'Olga' : 'Leo' },
    buttonId,
    message,
  };
  const replies = await chatops.handle(input);
  answers.push(...replies);
  return replies;
}

/** A person typing a command in the ops chat. */
async function say(user: string, text: string): Promise<ChatReply[]> {
  const replies = await chatops.handle({
    kind: 'command',
    platform: 'console',
    chat: 'ops',
    user: { id: user },
    text,
  });
  answers.push(...replies);
  return replies;
}

/** Shows a reply in the ops chat as an adapter does, so that later edits of its subject land on it. */
async function show(reply: ChatReply): Promise<MessageRef> {
  if (reply.replace) {
    await chat.update(reply.replace, reply.message);
    return reply.replace;
  }
  const ref = await chat.post('ops', reply.message);
  await reply.onPosted?.(ref);
  return ref;
}

/** The validator as the chain shows it (through val-b's daemon, which never hangs here). */
async function onChain() {
  const v = (await query.staking.validator(validator().operatorAddress)).validator!;
  const valcons = toBech32(`${devnet.info.bech32Prefix}valcons`, fromHex(validator().consensusAddress));
  const info = (await query.slashing.signingInfo(valcons)).valSigningInfo!;
  const until = info.jailedUntil;
  return {
    jailed: v.jailed,
    bonded: v.status === BondStatus.BOND_STATUS_BONDED,
    jailedUntil: until ? Number(until.seconds) * 1000 + Math.floor(until.nanos / 1e6) : 0,
    missed: Number(info.missedBlocksCounter),
  };
}

/**
 * The grants `beam-pilot grants --json` prints (one unsigned tx), signed and sent from the validator
 * account, as an operator does once with the validator's key.
 */
async function grantAsPrinted(setup: PilotSetup): Promise<void> {
  const [json] = await grantCommandsFor(setup.config, { bin: 'gaiad', from: 'validator', json: true });
  type Printed = {
    granter: string;
    grantee: string;
    grant: { authorization: Record<string, unknown> & { '@type': string } };
  };
  const printed = (JSON.parse(json!) as { body: { messages: Printed[] } }).body.messages;
  const messages = printed.map((m) => {
    const a = m.grant.authorization;
    const typeUrl = a['@type'];
    let value: Uint8Array;
    if (typeUrl === '/cosmos.authz.v1beta1.GenericAuthorization')
      value = GenericAuthorization.encode({ msg: a.msg as string }).finish();
    else if (
      typeUrl === '/cosmos.staking.v1beta1.StakeAuthorization' &&
      a.authorization_type === 'AUTHORIZATION_TYPE_DELEGATE'
    )
      value = StakeAuthorization.encode(
        StakeAuthorization.fromPartial({
          allowList: { address: (a.allow_list as { address: string[] }).address },
          authorizationType: AuthorizationType.AUTHORIZATION_TYPE_DELEGATE,
        }),
      ).finish();
    else
      throw new Error(
        `beam-pilot grants printed an authorization this test cannot send: ${JSON.stringify(a)}`,
      );
    const authorization = { typeUrl, value };
    return {
      typeUrl: '/cosmos.authz.v1beta1.MsgGrant',
      value: MsgGrant.fromPartial({ granter: m.granter, grantee: m.grantee, grant: { authorization } }),
    };
  });
  expect(printed.map((m) => m.grant.authorization.msg)).toContain(UNJAIL_GRANT);
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(validator().accountMnemonic, {
    prefix: devnet.info.bech32Prefix,
  });
  const client = await SigningStargateClient.connectWithSigner(rpcB(), wallet, {
    gasPrice: GasPrice.fromString(`0.025${devnet.info.denom}`),
    broadcastPollIntervalMs: 200,
  });
  try {
    const tx = await client.signAndBroadcast(validator().accountAddress, messages, 'auto');
    expect(tx.code, tx.rawLog).toBe(0);
  } finally {
    client.disconnect();
  }
}

/** A validator node up as a standby: daemon up and answering, its signer connected. */
function standby(name: string): Promise<unknown> {
  return waitFor(async () => {
    const r = await probe.lastReport(name);
    return r?.daemon.running && r.daemon.rpcReachable && r.custody?.signerConnected === true;
  }, `${name} up as a standby`);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-jail-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: BLOCK_MS,
    standby: 1,
    sentries: 0,
    startNodes: false,
    // Blocks begin once the pilots' daemons are linked (as the local stack does): the validator
    // misses only the blocks before its first promotion.
    startBlocks: false,
    portBase: await freePortBase(),
    reset: true,
    keyMode: 'signer',
    params: { slashing: SLASHING },
  });
  expect(devnet.hub.background.list()).toHaveLength(20);
  probe = new FailoverProbe(devnet, validator().consensusAddress, () => commander);
  commander = await serveCommander(dir, TOKEN, FAILOVER, chat, SETTINGS);
  chatops = createChatOps(commander.deps);
  const tokenFile = path.join(dir, 'enrollment-token');
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  for (const name of ['val-a', 'val-b']) {
    const setup = await pilotConfigFor(devnet.info, name, dir, {
      commanderUrl: commander.url,
      enrollmentTokenFile: tokenFile,
    });
    expect(setup.config.limits.allow_unjail).toBe(true);
    setups.set(name, setup);
    const p = new PilotProcess(
      name,
      setup.file,
      setup.stateDir,
      path.join(dir, `pilot-${name}.log`),
      setup.config.upgrade.install_dir,
    );
    pilots.set(name, p);
    p.start();
  }
  await approveOnEnrollment(commander.deps, ['val-a', 'val-b']);
  await waitFor(
    () => ['val-a', 'val-b'].every((n) => devnet.hub.nodes().some((x) => x.name === n && x.connected)),
    'both daemons linked to the network',
  );
  devnet.hub.startProducing();
  await standby('val-a');
  await standby('val-b');
  const from = probe.height();
  // Accepted once the commander sees val-a synced and following new blocks.
  await waitFor(
    async () => (await requestFailover(commander.deps, { to: 'val-a', actor: ACTOR })).accepted,
    'the first promotion accepted',
  );
  await probe.signingAgain('val-a', from);
  comet = await connectComet(rpcB());
  query = queryClient(comet);
}, 90_000);

afterAll(async () => {
  for (const p of pilots.values()) {
    p.signalDaemon('SIGCONT');
    await p.stop(2_000);
  }
  comet?.disconnect();
  await commander?.close();
  await devnet?.stop();
  if (!process.env.KEEP_E2E_DIR) await fs.rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
});

describe('a jailed validator unjailed from chat', () => {
  let alertRef: MessageRef;
  let unjailButton: string;
  let question: { ref: MessageRef; message: ChatMessage };
  let jailedUntil: number;
  let answerRef: MessageRef;

  it('the hot key holds the grants `beam-pilot grants` prints, MsgUnjail among them', async () => {
    const before = await onChain();
    // Far from jailed: the blocks missed before the first promotion.
    expect(before.jailed).toBe(false);
    expect(before.missed).toBeLessThan(SLASHING.signedBlocksWindow * (1 - SLASHING.minSignedPerWindow) - 5);
    await grantAsPrinted(setups.get('val-a')!);
    for (const name of ['val-a', 'val-b'])
      await waitFor(
        async () => (await probe.lastReport(name))?.chain?.grants?.some((g) => g.msgTypeUrl === UNJAIL_GRANT),
        `${name} reporting the MsgUnjail grant`,
      );
  }, 30_000);

  it('a hung primary nobody fails over is jailed by x/slashing: one critical alert, with [Unjail]', async () => {
    const started = Date.now();
    pilot('val-a').signalDaemon('SIGSTOP');
    // Beam asks; nobody answers.
    question = await waitFor(
      () => chat.posts.find((p) => p.message.title === 'Fail over to val-b?'),
      'the failover question',
    );
    expect(question.message.buttons?.map((b) => b.label)).toEqual(['Fail over', 'Not now']);
    const jailed = await waitFor(
      async () => {
        const v = await onChain();
        return v.jailed ? v : null;
      },
      'the validator jailed by x/slashing',
      { timeoutMs: 60_000 },
    );
    jailedUntil = jailed.jailedUntil;
    console.log(`jailed ${((Date.now() - started) / 1000).toFixed(1)} s after val-a's daemon hung`);
    expect(jailedUntil).toBeGreaterThan(started);
    // Its group's message (alone, or with the validator's other signing alerts still open).
    const title = `validator ${short()} jailed`;
    const shown = await waitFor(
      () =>
        told().find(
          (m) => m.message.title.startsWith(title) && m.message.buttons?.some((b) => b.label === 'Unjail'),
        ),
      'the jailed alert in chat, with [Unjail]',
    );
    expect(shown.message.severity).toBe('critical');
    expect(textOf(shown.message)).toContain(`jailed until ${new Date(jailedUntil).toISOString()}`);
    expect(shown.message.buttons!.map((b) => [b.label, b.style])).toEqual([
      ['Acknowledge', undefined],
      ['Mute 1h', undefined],
      ['Unjail', 'danger'],
    ]);
    const alert = (await commander.deps.store.getAlert(jailedKey()))!.value;
    expect(alert).toMatchObject({ kind: 'jailed', state: 'open', severity: 'critical', notifications: 1 });
    expect(shown.message.fields).toContainEqual({ label: 'Alert', value: alert.group });
    alertRef = shown.ref;
    unjailButton = shown.message.buttons!.find((b) => b.label === 'Unjail')!.id;
    expect(aboutJail()).toEqual([alertRef.messageId]);
  }, 90_000);

  it('a viewer may not unjail; an operator who presses before the jail ends is asked to confirm, then told when it ends', async () => {
    // Neither the button nor the command.
    const [viewer] = await press('look', unjailButton, alertRef);
    const [typed] = await say('look', 'unjail val-a');
    for (const refusal of [viewer, typed])
      expect(refusal).toMatchObject({
        private: true,
        message: { text: '`unjail` needs the operator role; you are viewer' },
      });
    if (Date.now() > jailedUntil - 3_000) {
      console.log('the jail was (nearly) over before the alert came: no early press');
      return;
    }
    const [asked] = await press('op', unjailButton, alertRef);
    expect(asked!.message.title).toBe(`Confirm: unjail ${validator().consensusAddress}`);
    const ref = await show(asked!);
    const [refused] = await press('op', asked!.message.buttons!.find((b) => b.label === 'Confirm')!.id, ref);
    expect(refused!.replace).toEqual(ref);
    expect(refused!.message).toMatchObject({
      title: `Unjail of ${validator().consensusAddress}: refused`,
      text: `validator ${short()} is jailed until ${new Date(jailedUntil).toISOString()}: the chain refuses an unjail before then`,
    });
    await show(refused!);
    for (const name of ['val-a', 'val-b'])
      expect(
        (await commander.deps.store.getNode(name))!.value.actions.filter((a) => a.type === 'unjail'),
      ).toEqual([]);
  }, 30_000);

  it("once the jail time is over, a confirmed press sends MsgExec(MsgUnjail) through val-b (val-a's daemon hangs), and the tx hash is told", async () => {
    // The commander judges the jail time against its freshest report of the chain.
    await waitFor(
      async () => ((await probe.lastReport('val-b'))?.daemon.latestBlockTime ?? 0) > jailedUntil,
      "val-b's report past the jail time",
      { timeoutMs: 30_000 },
    );
    const [asked] = await press('op', unjailButton, alertRef);
    expect(asked!.message.title).toBe(`Confirm: unjail ${validator().consensusAddress}`);
    expect(asked!.message.buttons!.map((b) => b.label)).toEqual(['Confirm', 'Cancel']);
    const ref = await show(asked!);
    const confirm = asked!.message.buttons!.find((b) => b.label === 'Confirm')!.id;
    // Only the operator who asked (or an admin) answers it.
    const [notYours] = await press('look', confirm, ref);
    expect(notYours).toMatchObject({
      private: true,
      message: { text: 'only Olga (op) or an admin can answer this' },
    });
    const [accepted] = await press('op', confirm, ref);
    expect(accepted!.replace).toEqual(ref);
    expect(accepted!.message).toMatchObject({
      title: `Unjail of ${validator().consensusAddress}: accepted`,
      text: `val-b (not val-a, the lease holder: its daemon does not answer RPC) sends MsgExec(MsgUnjail) for validator ${short()} with its hot key; the tx hash follows here.`,
    });
    answerRef = await show(accepted!);
    const queued = async (name: string) =>
      (await commander.deps.store.getNode(name))!.value.actions.filter((a) => a.type === 'unjail');
    expect(await queued('val-a')).toEqual([]);
    const [action] = await queued('val-b');
    expect(action).toMatchObject({ type: 'unjail', id: expect.stringMatching(/^unjail-/) });

    // val-b's pilot takes it with its next report's reply and answers with the tx; the tick tells it.
    const done = await waitFor(
      () =>
        chat.updates.find(
          (u) =>
            u.ref.messageId === answerRef.messageId && u.message.title.startsWith(`Unjail of validator `),
        ),
      'the outcome told in place of the answer',
    );
    expect(done.message).toMatchObject({
      title: `Unjail of validator ${short()}: done`,
      severity: 'ok',
      text: expect.stringMatching(/^tx [0-9A-F]{64} at height \d+, sent by val-b$/),
    });
    const txHash = /^tx ([0-9A-F]{64})/.exec(done.message.text!)![1]!;
    // The transaction's explorer link, when the commander's explorer settings make one, names it.
    for (const link of (done.message.links ?? []).filter((l) => l.label === 'transaction'))
      expect(link.url).toContain(txHash);

    const client = await StargateClient.connect(rpcB());
    try {
      const tx = (await client.getTx(txHash))!;
      expect(tx.code, tx.rawLog).toBe(0);
      const [exec] = decodeTxRaw(tx.tx).body.messages;
      expect(exec!.typeUrl).toBe('/cosmos.authz.v1beta1.MsgExec');
      const { grantee, msgs } = MsgExec.decode(exec!.value);
      expect(grantee).toBe(devnet.info.accounts.find((a) => a.name === 'hot')!.address);
      expect(msgs.map((m) => m.typeUrl)).toEqual([UNJAIL_GRANT]);
      expect(MsgUnjail.decode(msgs[0]!.value).validatorAddr).toBe(validator().operatorAddress);
      expect(/at height (\d+),/.exec(done.message.text!)![1]).toBe(String(tx.height));
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('the chain has the validator back, the alert resolves, and once the operator fails over from the hung primary it signs again', async () => {
    await waitFor(async () => {
      const v = await onChain();
      return !v.jailed && v.bonded;
    }, 'the validator unjailed and bonded on chain');
    await waitFor(
      () =>
        devnet.hub.chain.validatorSet(probe.height()).some((v) => v.address === validator().consensusAddress),
      'the validator back in the active set',
    );
    await waitFor(
      async () => (await commander.deps.store.getAlert(jailedKey()))?.value.state === 'resolved',
      'the jailed alert resolved',
    );
    const resolved = await waitFor(
      () =>
        chat.updates.find(
          (u) =>
            u.ref.messageId === alertRef.messageId &&
            u.message.title.startsWith(`Resolved: validator ${short()} jailed`),
        ),
      'the alert message edited: resolved',
    );
    expect(resolved.message.severity).toBe('ok');
    expect(resolved.message.buttons ?? []).toEqual([]);
    // Still one message about the jail, and one notice of it.
    expect(aboutJail()).toEqual([alertRef.messageId]);
    expect((await commander.deps.store.getAlert(jailedKey()))!.value.notifications).toBe(1);

    // val-a's daemon still hangs: the operator answers Beam's question, and val-b signs.
    expect((await probe.state()).op).toMatchObject({ phase: 'awaiting-confirmation', to: 'val-b' });
    const from = probe.height();
    const failOver = question.message.buttons!.find((b) => b.label === 'Fail over')!;
    const [moving] = await press('op', failOver.id, question.ref);
    expect(moving!.message.title).toMatch(/^Failover confirmed \(fo-[\w-]+\): accepted$/);
    await show(moving!);
    const missed = await probe.signingAgain('val-b', from, 45_000);
    console.log(`signing again through val-b, ${missed} blocks after the last signature`);
    expect((await probe.state()).lease.holder).toBe('val-b');
    expect((await onChain()).jailed).toBe(false);
    probe.noDoubleSign();
  }, 90_000);

  it('no message says null, undefined, NaN or 1970', () => {
    const texts = [...told().map((m) => m.message), ...answers.map((a) => a.message)].map(textOf);
    expect(texts.length).toBeGreaterThan(10);
    for (const text of texts) expect(text).not.toMatch(/\bnull\b|\bundefined\b|\bNaN\b|1970/);
  });
});
