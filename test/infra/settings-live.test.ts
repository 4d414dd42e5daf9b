/**
 * Settings from CDK context, live: the commander stack is synthesized with `beam:settings`, and the
 * real Lambda entry points (commander/handlers) start with the environment the template gives
 * each function. Their cold start runs the commander's own loader on it (settingsFromEnv), reading the
 * secrets by the ARNs the template names through a loopback stand-in for the Parameters and Secrets
 * extension. Then the settings from context decide what happens: who is answered in which chat, and
 * where the failover question goes.
 *
 * Deploy-time values stand as `deployed-<logical id>` (the table's name, the secrets' and the key's
 * ARNs). What a local run sets on top is where this machine's services are: the table endpoint
 * (BEAM_DYNAMODB_ENDPOINT, added: dynalite, holding a table of the name the functions are given), the
 * extension stand-in's port (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, the one template value replaced:
 * the layer's 2773 may be taken here), the chat APIs (SLACK_API_URL, TELEGRAM_API_ROOT) and the tick's
 * EC2 endpoint on loopback fakes; and what Lambda's runtime provides (region, credentials, the session
 * token the extension checks). The KMS key stays the deployed one: nothing here seals or opens a node
 * secret in these functions.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import { failoverSettingsOf, loadFailover } from '../../commander/app/failover.js';
import { buildDeps } from '../../commander/deps.js';
import { settingsFromEnv } from '../../commander/env.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import { handler as slackHandler } from '../../commander/handlers/slack.js';
import { handler as telegramHandler } from '../../commander/handlers/telegram.js';
import { handler as tickHandler } from '../../commander/handlers/tick.js';
import type { CommanderSettings } from '../../commander/settings.js';
import { buildBeamApp } from '../../infra/beam-app.js';
import {
  COMMANDER_ENV,
  COMMANDER_FUNCTIONS,
  type CommanderStack,
  type SecretName,
} from '../../infra/commander-stack.js';
import { type Report, signedHeaders } from '../../protocol/index.js';
import { type RecordedCall, startFakeApi } from '../bots/fake-api.js';
import {
  enrollRequest,
  httpEvent,
  OPERATOR,
  parseResult,
  startDynalite,
  TOKEN,
} from '../commander/helpers.js';
import { sampleReport } from '../fixtures/report.js';
import { waitFor } from '../helpers/wait.js';
import { deployedEnv, lambdaEnvironments, offlineApp } from './synth.js';

type Fn = keyof typeof COMMANDER_FUNCTIONS;

/** What the deployer puts in context (`cdk.json` or `-c beam:settings=…`): chats, who may do what, confirm mode. */
const OPS_CHANNEL = 'C0LIVEOPS';
const OPS_GROUP = '-1005550001';
const CONTEXT_SETTINGS = {
  chat: [
    { platform: 'slack', chat: OPS_CHANNEL },
    { platform: 'telegram', chat: OPS_GROUP },
  ],
  access: {
    slack: { teamId: 'T0LIVE', users: { U0ADMIN: 'admin', U0OPER: 'operator' }, chats: [OPS_CHANNEL] },
    telegram: { users: { '4242001': 'operator' }, chats: [OPS_GROUP] },
  },
  failover: { mode: 'confirm' },
};

/** The values the operator put into the stack's secrets (Secrets Manager), by secret. */
const SECRET_VALUES: Record<SecretName, string> = {
  slackSigningSecret: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  slackBotToken: 'xoxb-1111222233-4444555566-LiveSettingsTokenValue01',
  telegramBotToken: '7000333444:AAF-liveSettingsTokenValue_0123456789',
  telegramWebhookSecret: 'live-settings-hook-secret',
  enrollmentToken: TOKEN,
  pagerDutyWebhookSecret: 'live-settings-pagerduty-secret',
};
const SESSION = 'live-settings-session-token';
const VALIDATOR = 'C'.repeat(40);
const CHAIN = 'beam-devnet-1';
const silent = { info() {}, warn() {}, error() {} };

let stack: CommanderStack;
/** Each function's environment as deployed (deploy-time values as `deployed-<logical id>`). */
let deployed: Record<Fn, Record<string, string>>;
let db: Awaited<ReturnType<typeof startDynalite>>;
let slackApi: Awaited<ReturnType<typeof startFakeApi>>;
let telegramApi: Awaited<ReturnType<typeof startFakeApi>>;
let extension: Server;
let ec2: Server;
/** The secrets' values by the ids the template hands the functions. */
const secretsById = new Map<string, string>();
const secretsRead: string[] = [];

/** The environment `fn` runs with here: the template's, plus where this machine's services are. */
function localEnv(fn: Fn): Record<string, string> {
  return {
    ...deployed[fn],
    // The one thing the deployed commander finds by itself (DynamoDB in its region) and a local run must be told.
    BEAM_DYNAMODB_ENDPOINT: db.endpoint,
    // The Parameters and Secrets extension's stand-in: the template names the layer's port (2773),
    // a fixed port this machine may have in use; the stand-in listens where the system put it.
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
    // Chat platforms and EC2 on loopback fakes.
    SLACK_API_URL: `${slackApi.url}/api/`,
    TELEGRAM_API_ROOT: telegramApi.url,
    ...(COMMANDER_FUNCTIONS[fn].ec2
      ? { BEAM_EC2_ENDPOINT: `http://127.0.0.1:${(ec2.address() as AddressInfo).port}` }
      : {}),
    BEAM_LOG_LEVEL: 'fatal',
  };
}

/** Runs `fn`'s first invocation (its cold start) in its environment; later invocations reuse what it built. */
async function coldStart<T>(fn: Fn, invoke: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env))
    if (key.startsWith('BEAM_') || key.startsWith('SLACK_') || key.startsWith('TELEGRAM_'))
      delete process.env[key];
  Object.assign(process.env, localEnv(fn));
  try {
    return await invoke();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** The settings `fn` loads at cold start, by the commander's own loader, from its local environment. */
const loadSettings = (fn: Fn) =>
  settingsFromEnv(localEnv(fn), { enrollmentToken: COMMANDER_ENV.enrollmentToken in deployed[fn] });

// ── Slack ─────────────────────────────────────────────────────────────────────────────────────

const slackPosted: { call: RecordedCall; ts: string }[] = [];

function slackSigned(body: string) {
  const ts = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', SECRET_VALUES.slackSigningSecret)
    .update(`v0:${ts}:${body}`)
    .digest('hex');
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${signature}`,
  };
}

let trigger = 0;
/** A `/beam <text>` slash command from `user` in `channel` of the context's workspace. */
function slash(text: string, user: string, channel = OPS_CHANNEL) {
  const id = `live-${++trigger}`;
  const body = new URLSearchParams({
    team_id: 'T0LIVE',
    channel_id: channel,
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/beam',
    text,
    response_url: `${slackApi.url}/respond/${id}`,
    trigger_id: id,
  }).toString();
  return { id, event: httpEvent('POST', '/slack/events', body, slackSigned(body)) };
}

/** A click on a button (`value`) of the message `ts` in the ops channel. */
function click(value: string, ts: string, user: string) {
  const id = `live-${++trigger}`;
  const body = new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions',
      team: { id: 'T0LIVE' },
      user: { id: user, name: user.toLowerCase() },
      channel: { id: OPS_CHANNEL, name: 'ops' },
      container: { type: 'message', message_ts: ts, channel_id: OPS_CHANNEL },
      message: { ts, type: 'message', text: '' },
      trigger_id: id,
      response_url: `${slackApi.url}/respond/${id}`,
      actions: [{ type: 'button', action_id: `beam:${value}`, block_id: 'b', value, action_ts: '1' }],
    }),
  }).toString();
  return { id, event: httpEvent('POST', '/slack/events', body, slackSigned(body)) };
}

const slackButtons = (call: RecordedCall) =>
  ((call.body.blocks ?? []) as { type: string; elements?: { value: string; text: { text: string } }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .map((e) => ({ label: e.text.text, value: e.value }));
const responded = (id: string) => waitFor(() => slackApi.calls.find((c) => c.path === `/respond/${id}`), id);

// ── Telegram ──────────────────────────────────────────────────────────────────────────────────

let updateId = 500;
const telegramEvent = (text: string, from: number, chat = Number(OPS_GROUP)) =>
  httpEvent(
    'POST',
    '/telegram/webhook',
    JSON.stringify({
      update_id: ++updateId,
      message: {
        message_id: updateId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chat, type: 'supergroup', title: 'ops' },
        from: { id: from, is_bot: false, first_name: 'Op' },
        text,
      },
    }),
    { 'x-telegram-bot-api-secret-token': SECRET_VALUES.telegramWebhookSecret },
  );
const telegramButtons = (call: RecordedCall) =>
  ((call.body.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard ?? [])
    .flat()
    .map((b) => b.text);

// ── the fleet ─────────────────────────────────────────────────────────────────────────────────

/**
 * Two approved validator nodes of one key whose pilots reported through the pilot API: val-a, the
 * signer, last 10.25 s ago; val-b, the standby, 0.5 s ago and seeing the last commits without the
 * validator's signature. Written by a commander on the same table and settings (its clock set to the
 * reports' times, its node secrets sealed with a key of its own), as the pilot API would have. At
 * val-b's report val-a was fresh, so no report raised anything; from now on val-a's pilot counts as
 * silent (silentAfterMs, 10 s) while val-b's report stays fresh for 9.5 s: a tick in that window
 * finds the holder failing and a standby ready, and asks.
 */
async function seedFailingHolder(settings: CommanderSettings): Promise<{ standbyReportedAt: number }> {
  const { secrets: _kms, ...rest } = settings;
  let at = Date.now() - 60_000;
  const deps = buildDeps(
    { ...rest, dynamodbEndpoint: db.endpoint, enrollmentToken: TOKEN },
    { now: () => at, log: silent },
  );
  const pilotApi = createHttpHandler(deps);
  const app = new CommanderApp(deps);
  const secrets = new Map<string, string>();
  for (const [name, claim] of [
    ['val-a', 'a'],
    ['val-b', 'b'],
  ] as const) {
    const request = JSON.stringify(enrollRequest({ name, claim: claim.repeat(64), chainId: CHAIN }));
    await pilotApi(httpEvent('POST', '/v1/pilot/enroll', request));
    await app.approveNode(OPERATOR, name);
    const collected = parseResult(await pilotApi(httpEvent('POST', '/v1/pilot/enroll', request)));
    expect(collected.body.status, name).toBe('approved');
    secrets.set(name, collected.body.secret as string);
  }
  const report = (nodeId: string, height: number, signed: boolean, holdsKey: boolean): Report => {
    const base = sampleReport();
    return sampleReport({
      nodeId,
      seq: 1,
      sentAt: at,
      chainId: CHAIN,
      daemon: { ...base.daemon, height, latestBlockTime: at },
      chain: {
        validatorAddress: VALIDATOR,
        operatorAddress: null,
        recentCommits: [4, 3, 2, 1].map((d) => ({ height: height - d, signed, at })),
        signingInfo: null,
        validator: null,
        networkSignedShare: null,
        balances: [],
        rewards: [],
        commission: [],
        proposals: [],
        grants: null,
        errors: [],
      },
      custody: {
        mode: 'file',
        signMark: null,
        signerConnected: null,
        holdsValidatorKey: holdsKey,
        highestEpoch: 0,
        leaseExpiresAt: null,
        fenced: false,
      },
    });
  };
  const send = async (r: Report) => {
    const body = JSON.stringify(r);
    const reply = parseResult(
      await pilotApi(
        httpEvent(
          'POST',
          '/v1/pilot/report',
          body,
          signedHeaders(r.nodeId, secrets.get(r.nodeId)!, at, body),
        ),
      ),
    );
    expect(reply.status, r.nodeId).toBe(200);
    return reply.body;
  };
  const now = Date.now();
  at = now - 10_250;
  expect((await send(report('val-a', 100, true, true))).lease).toMatchObject({ holder: true });
  at = now - 500;
  expect((await send(report('val-b', 105, false, false))).lease).toMatchObject({ holder: false });
  return { standbyReportedAt: at };
}

beforeAll(async () => {
  stack = buildBeamApp(offlineApp({ 'beam:fleet': 'mainnet', 'beam:settings': CONTEXT_SETTINGS })).commander;
  const environments = lambdaEnvironments(stack);
  deployed = Object.fromEntries(
    (Object.keys(COMMANDER_FUNCTIONS) as Fn[]).map((fn) => [
      fn,
      deployedEnv(environments[stack.getLogicalId(stack.functions[fn].node.defaultChild as CfnFunction)]!),
    ]),
  ) as Record<Fn, Record<string, string>>;
  for (const env of Object.values(deployed))
    for (const name of Object.keys(SECRET_VALUES) as SecretName[])
      if (env[COMMANDER_ENV[name]]) secretsById.set(env[COMMANDER_ENV[name]]!, SECRET_VALUES[name]);

  db = await startDynalite();
  // The table CloudFormation creates, under the name the functions are given.
  await ensureTable(createDynamoClient({ endpoint: db.endpoint }), deployed.tick[COMMANDER_ENV.tableName]!);
  let ts = 9000;
  slackApi = await startFakeApi((call) => {
    if (call.path.startsWith('/respond/')) return { ok: true };
    if (call.method === 'auth.test')
      return { ok: true, team_id: 'T0LIVE', user_id: 'U0BEAMBOT', bot_id: 'B0BEAMBOT', user: 'beam' };
    if (call.method !== 'chat.postMessage') return { ok: true, channel: call.body.channel, ts: call.body.ts };
    slackPosted.push({ call, ts: `${++ts}.000200` });
    return { ok: true, channel: call.body.channel, ts: slackPosted.at(-1)!.ts };
  });
  let messageId = 70;
  telegramApi = await startFakeApi((call) => {
    if (call.method === 'getMe')
      return {
        ok: true,
        result: { id: 7000333444, is_bot: true, first_name: 'Beam', username: 'beam_live_bot' },
      };
    if (call.method === 'sendMessage')
      return {
        ok: true,
        result: { message_id: ++messageId, date: 1, chat: { id: Number(call.body.chat_id), type: 'group' } },
      };
    return { ok: true, result: true };
  });
  // The Parameters and Secrets extension: GetSecretValue by the ARN the function was given.
  extension = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('secretId') ?? '';
    secretsRead.push(id);
    const value = req.headers['x-aws-parameters-secrets-token'] === SESSION ? secretsById.get(id) : undefined;
    res.writeHead(value ? 200 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value ? { SecretString: value } : { message: 'no such secret' }));
  });
  await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));
  // EC2 with no instances and no addresses: the tick's sentry defence finds nothing to do.
  ec2 = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const action = new URLSearchParams(body).get('Action') ?? '?';
      const set = action === 'DescribeAddresses' ? 'addressesSet' : 'reservationSet';
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><${set}/></${action}Response>`,
      );
    });
  });
  await new Promise<void>((resolve) => ec2.listen(0, '127.0.0.1', resolve));
  // What the Lambda runtime and the extension layer provide.
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: SESSION,
  });
}, 60_000);

afterAll(async () => {
  for (const key of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
    delete process.env[key];
  await new Promise<void>((resolve) => ec2?.close(() => resolve()));
  await new Promise<void>((resolve) => extension?.close(() => resolve()));
  await slackApi?.close();
  await telegramApi?.close();
  await db?.close();
});

describe('settings from CDK context, run by the commander from the synthesized Lambda environment', () => {
  it('the chat and tick functions load the context settings from their synthesized environment', async () => {
    for (const fn of ['slack', 'telegram', 'tick'] as const) {
      const loaded = await loadSettings(fn);
      expect(loaded.chat, fn).toEqual(stack.settings!.chat);
      expect(loaded.access, fn).toEqual(stack.settings!.access);
      expect(loaded.failover, fn).toEqual(stack.settings!.failover);
      expect(loaded.failover, fn).toMatchObject({ mode: 'confirm' });
      // As deployed: the stack's own table and key; only the endpoint is local.
      expect(loaded.tableName, fn).toBe(deployed.tick[COMMANDER_ENV.tableName]);
      expect(loaded.tableName, fn).toMatch(/^deployed-Table/);
      expect(loaded.secrets?.kmsKeyId, fn).toMatch(/^deployed-NodeSecretsKey/);
    }
  });

  it('tick: starts in its environment and, with no validator in the fleet, asks nothing', async () => {
    const summary = await coldStart('tick', () => tickHandler({ 'detail-type': 'Scheduled Event' }));
    expect(summary).toMatchObject({ nodes: 0 });
    expect(slackPosted).toEqual([]);
    expect(telegramApi.of('sendMessage')).toEqual([]);
  });

  it('Slack: a signed command from an allow-listed user is answered in the configured channel; a stranger is refused', async () => {
    const allowed = slash('status', 'U0OPER');
    const answer = await coldStart('slack', () => slackHandler(allowed.event));
    expect(answer.statusCode).toBe(200);
    const reply = await waitFor(
      () => slackPosted.find((p) => String(p.call.body.text).includes('No approved nodes yet')),
      'the answer to status',
    );
    expect(reply.call.body.channel).toBe(OPS_CHANNEL);
    expect(reply.call.headers.authorization).toBe(`Bearer ${SECRET_VALUES.slackBotToken}`);

    // Same channel, same signature, a user the context does not list: told privately, nothing posted.
    const posts = slackPosted.length;
    const stranger = slash('status', 'U0STRANGER');
    expect((await slackHandler(stranger.event)).statusCode).toBe(200);
    const refusal = await responded(stranger.id);
    expect(JSON.stringify(refusal.body)).toContain('Not allowed');
    expect(JSON.stringify(refusal.body)).toContain('user U0STRANGER has no role on slack');
    expect(refusal.body.response_type).toBe('ephemeral');
    // An allow-listed user in a channel the context does not list: refused too.
    const elsewhere = slash('status', 'U0ADMIN', 'C0ELSEWHERE');
    await slackHandler(elsewhere.event);
    expect(JSON.stringify((await responded(elsewhere.id)).body)).toContain(
      'chat C0ELSEWHERE is not allow-listed for slack',
    );
    expect(slackPosted.length).toBe(posts);
  });

  it('Telegram: a command from an allow-listed user is answered in the configured group; a stranger privately refused', async () => {
    const answer = await coldStart('telegram', () => telegramHandler(telegramEvent('/status', 4242001)));
    expect(answer.statusCode).toBe(200);
    const reply = await waitFor(
      () => telegramApi.of('sendMessage').find((c) => String(c.body.text).includes('No approved nodes yet')),
      'the answer to /status',
    );
    expect(reply.body.chat_id).toBe(OPS_GROUP);
    expect(reply.path).toContain(`/bot${SECRET_VALUES.telegramBotToken}/`);

    expect((await telegramHandler(telegramEvent('/status', 4242999))).statusCode).toBe(200);
    const refusal = await waitFor(
      () => telegramApi.of('sendMessage').find((c) => c.body.chat_id === '4242999'),
      'the private refusal',
    );
    expect(String(refusal.body.text)).toContain('user 4242999 has no role on telegram');
    expect(telegramApi.of('sendMessage').filter((c) => c.body.chat_id === OPS_GROUP)).toHaveLength(1);
  });

  it('tick: the failover question (confirm mode) reaches the configured Slack channel and Telegram group with its buttons', async () => {
    const settings = await loadSettings('tick');
    const { silentAfterMs } = failoverSettingsOf(settings);
    const key = { chainId: CHAIN, validator: VALIDATOR };
    const { standbyReportedAt } = await seedFailingHolder(settings);
    // The reports raised nothing: the holder was still fresh at the standby's report.
    expect((await loadFailover(settingsStore(settings), key)).state).toMatchObject({
      lease: { holder: 'val-a' },
      op: null,
    });

    const summary = await tickHandler({ 'detail-type': 'Scheduled Event' });
    const ranAt = Date.now();
    expect(summary).toMatchObject({ nodes: 2 });
    const state = (await loadFailover(settingsStore(settings), key)).state;
    expect(
      state.op,
      `the tick ran ${ranAt - standbyReportedAt} ms after val-b's report, which counts as fresh for ${silentAfterMs} ms`,
    ).toMatchObject({ kind: 'failover', phase: 'awaiting-confirmation', from: 'val-a', to: 'val-b' });

    const question = slackPosted.find((p) => String(p.call.body.text).includes('Fail over to val-b?'));
    expect(question?.call.body.channel).toBe(OPS_CHANNEL);
    expect(question?.call.headers.authorization).toBe(`Bearer ${SECRET_VALUES.slackBotToken}`);
    expect(slackButtons(question!.call).map((b) => b.label)).toEqual(['Fail over', 'Not now']);
    const inTelegram = telegramApi
      .of('sendMessage')
      .filter((c) => String(c.body.text).includes('Fail over to val-b?'));
    expect(inTelegram.map((c) => c.body.chat_id)).toEqual([OPS_GROUP]);
    expect(telegramButtons(inTelegram[0]!)).toEqual(['Fail over', 'Not now']);
    // Asked once, in the configured chats only.
    expect(slackPosted.filter((p) => String(p.call.body.text).includes('Fail over to'))).toHaveLength(1);
  });

  it('Slack: the buttons answer to the context’s access: a stranger’s [Fail over] is refused, the admin’s [Not now] declines', async () => {
    const settings = await loadSettings('tick');
    const key = { chainId: CHAIN, validator: VALIDATOR };
    const question = slackPosted.find((p) => String(p.call.body.text).includes('Fail over to val-b?'))!;
    const [failOver, notNow] = slackButtons(question.call);

    const stranger = click(failOver!.value, question.ts, 'U0STRANGER');
    expect((await slackHandler(stranger.event)).statusCode).toBe(200);
    expect(JSON.stringify((await responded(stranger.id)).body)).toContain('user U0STRANGER has no role');
    expect((await loadFailover(settingsStore(settings), key)).state.op).toMatchObject({
      phase: 'awaiting-confirmation',
    });

    expect((await slackHandler(click(notNow!.value, question.ts, 'U0ADMIN').event)).statusCode).toBe(200);
    const op = await waitFor(async () => {
      const current = (await loadFailover(settingsStore(settings), key)).state.op;
      return current?.phase === 'aborted' ? current : null;
    }, 'the failover declined');
    expect(op.declinedBy).toContain('U0ADMIN');
    await waitFor(
      () =>
        slackApi.of('chat.update').find((c) => c.body.ts === question.ts && c.body.channel === OPS_CHANNEL),
      'the question updated in place',
    );
  });

  it('read only the secrets the template names for each function, through the extension', () => {
    expect(new Set(secretsRead)).toEqual(
      new Set(
        (['slack', 'telegram', 'tick'] as const).flatMap((fn) =>
          COMMANDER_FUNCTIONS[fn].secrets.map((name) => deployed[fn][COMMANDER_ENV[name]]),
        ),
      ),
    );
  });
});

/** A store on the functions' table, for looking at what they wrote. */
function settingsStore(settings: CommanderSettings) {
  const { secrets: _kms, ...rest } = settings;
  return buildDeps({ ...rest, dynamodbEndpoint: db.endpoint }, { log: silent }).store;
}
