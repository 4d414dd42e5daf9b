/**
 * The Lambda entry points, each started with exactly the environment the CDK stack gives it (infra
 * COMMANDER_FUNCTIONS: its secrets by id and the settings by SSM parameter name, read through a
 * loopback stand-in for the Parameters and Secrets extension), on dynalite behind a proxy that
 * records every DynamoDB operation on the wire. What each function reads and calls under its routes'
 * traffic is what infra grants it: no more (it would fail in AWS), no less (a right nobody uses).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDER_ENV, COMMANDER_FUNCTIONS, type SecretName } from '../../infra/commander-stack.js';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import type { AlertRecord } from '../../commander/alerting/alerts.js';
import { buildDeps } from '../../commander/deps.js';
import { CommanderSettings } from '../../commander/settings.js';
import { chatSecretsFromEnv } from '../../commander/chat-env.js';
import { lambdaChat } from '../../commander/handlers/chat-common.js';
import { handler as pagerDutyHandler } from '../../commander/handlers/pagerduty.js';
import { handler as pilotHandler } from '../../commander/handlers/pilot.js';
import { handler as slackHandler } from '../../commander/handlers/slack.js';
import { handler as telegramHandler } from '../../commander/handlers/telegram.js';
import { handler as tickHandler } from '../../commander/handlers/tick.js';
import { signedHeaders } from '../../protocol/index.js';
import { captureLines, type RecordedCall, startFakeApi } from '../bots/fake-api.js';
import { sampleReport } from '../fixtures/report.js';
import { waitFor } from '../helpers/wait.js';
import { enrollRequest, httpEvent, parseResult, startDynalite, TOKEN } from './helpers.js';

type Fn = keyof typeof COMMANDER_FUNCTIONS;

const SLACK = {
  botToken: 'xoxb-4444555566-7777888899-AaBbCcDdEeFfGgHhIiJjKkLl',
  signingSecret: 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
};
const TELEGRAM = {
  botToken: '7000111222:AAE-lambdaTokenValue_0123456789abcd',
  webhookSecret: 'lambda-hook-secret-1',
};
const PAGERDUTY_SECRET = 'pagerduty-webhook-signing-secret-1';
const SESSION = 'session-token-for-the-extension';
const SETTINGS_PARAMETER = '/beam/lambda-functions/settings';
const PLACEHOLDER = 'Q8z!randomPlaceholderFromCdk#42';
/** The secret ids the stack hands out (`arn:<name>`), and their values. */
const SECRETS: Record<SecretName | 'placeholder', string> = {
  slackBotToken: SLACK.botToken,
  slackSigningSecret: SLACK.signingSecret,
  telegramBotToken: TELEGRAM.botToken,
  telegramWebhookSecret: TELEGRAM.webhookSecret,
  enrollmentToken: TOKEN,
  pagerDutyWebhookSecret: PAGERDUTY_SECRET,
  placeholder: PLACEHOLDER,
};
const VALIDATOR = 'A'.repeat(40);

let db: Awaited<ReturnType<typeof startDynalite>>;
let proxy: Server;
let slackApi: Awaited<ReturnType<typeof startFakeApi>>;
let telegramApi: Awaited<ReturnType<typeof startFakeApi>>;
let pagerDutyApi: Awaited<ReturnType<typeof startFakeApi>>;
/** The settings the SSM parameter holds (routing key and all: on AWS a SecureString). */
let settingsJson: string;
let extension: Server;
let ec2: Server;
let keyDir: string;
/** Secrets read and DynamoDB operations, by the function whose traffic is running. */
let current: Fn = 'pilot';
const FNS = Object.keys(COMMANDER_FUNCTIONS) as Fn[];
const perFunction = <T>(make: () => T) => Object.fromEntries(FNS.map((fn) => [fn, make()])) as Record<Fn, T>;
const secretsRead = perFunction(() => new Set<string>());
const parametersRead = perFunction(() => [] as string[]);
const tableOps = perFunction(() => new Set<string>());
const ec2Calls = perFunction(() => [] as string[]);

/** An EC2 Query API with no instances and no addresses: enough for a tick of an empty fleet. */
function emptyEc2(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const action = new URLSearchParams(body).get('Action') ?? '?';
      ec2Calls[current].push(action);
      const set = action === 'DescribeAddresses' ? 'addressesSet' : 'reservationSet';
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><${set}/></${action}Response>`,
      );
    });
  });
}
let base: Record<string, string>;
/** Slack messages as the fake answered them. */
const slackPosted: { call: RecordedCall; ts: string }[] = [];
const buttonsOf = (call: RecordedCall) =>
  ((call.body.blocks ?? []) as { type: string; elements?: { value: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).map((e) => e.value));
const postedWith = (text: string) =>
  waitFor(
    () => slackPosted.find((p) => String(p.call.body.text).includes(text)),
    `chat.postMessage "${text}"`,
  );

/** Forwards to dynalite, recording `X-Amz-Target: DynamoDB_20120810.<Operation>` per function. */
function recordingProxy(target: string): Server {
  const { port } = new URL(target);
  return createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '').split('.')[1];
    if (op) tableOps[current].add(op);
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
}

/** The environment the stack gives `fn`: the shared variables plus its own secrets' ids. */
function envOf(fn: Fn): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const name of COMMANDER_FUNCTIONS[fn].secrets) env[COMMANDER_ENV[name]] = `arn:${name}`;
  return env;
}

/** Runs `fn`'s first invocation (its cold start) in its own environment; later ones reuse it. */
async function coldStart<T>(fn: Fn, invoke: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  current = fn;
  for (const key of Object.keys(process.env))
    if (key.startsWith('BEAM_') || key.startsWith('SLACK_') || key.startsWith('TELEGRAM_'))
      delete process.env[key];
  Object.assign(process.env, envOf(fn));
  try {
    return await invoke();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

function slackSigned(body: string, secret = SLACK.signingSecret) {
  const ts = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
  };
}

let trigger = 0;
function slash(text: string, user = 'UADMIN', team = 'T0BEAM') {
  const id = `lambda-${++trigger}`;
  const body = new URLSearchParams({
    team_id: team,
    channel_id: 'COPS',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/beam',
    text,
    response_url: `${slackApi.url}/respond/${id}`,
    trigger_id: id,
  }).toString();
  return { id, body };
}

function click(value: string, ts: string, user = 'UADMIN') {
  const id = `lambda-${++trigger}`;
  const body = new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions',
      team: { id: 'T0BEAM' },
      user: { id: user, name: user.toLowerCase() },
      channel: { id: 'COPS', name: 'ops' },
      container: { type: 'message', message_ts: ts, channel_id: 'COPS' },
      message: { ts, type: 'message', text: '' },
      trigger_id: id,
      response_url: `${slackApi.url}/respond/${id}`,
      actions: [{ type: 'button', action_id: `beam:${value}`, block_id: 'b', value, action_ts: '1' }],
    }),
  }).toString();
  return { id, body };
}

const slackEvent = (body: string, headers = slackSigned(body)) =>
  httpEvent('POST', '/slack/events', body, headers);

let updateId = 100;
const telegramUpdate = (text: string, from = 1001) => ({
  update_id: ++updateId,
  message: {
    message_id: updateId,
    date: 1,
    chat: { id: -500, type: 'group' },
    from: { id: from, is_bot: false, first_name: 'Op' },
    text,
  },
});
const telegramEvent = (update: object) =>
  httpEvent('POST', '/telegram/webhook', JSON.stringify(update), {
    'x-telegram-bot-api-secret-token': TELEGRAM.webhookSecret,
  });

beforeAll(async () => {
  db = await startDynalite();
  await ensureTable(createDynamoClient({ endpoint: db.endpoint }), 'lambda-functions');
  proxy = recordingProxy(db.endpoint);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  let ts = 6000;
  slackApi = await startFakeApi((call) => {
    if (call.path.startsWith('/respond/')) return { ok: true };
    if (call.method !== 'chat.postMessage') return { ok: true, channel: call.body.channel, ts: call.body.ts };
    slackPosted.push({ call, ts: `${++ts}.000100` });
    return { ok: true, channel: call.body.channel, ts: slackPosted.at(-1)!.ts };
  });
  let messageId = 30;
  telegramApi = await startFakeApi((call: RecordedCall) =>
    call.method === 'sendMessage'
      ? { ok: true, result: { message_id: ++messageId, date: 1, chat: { id: -500, type: 'group' } } }
      : { ok: true, result: true },
  );
  pagerDutyApi = await startFakeApi(() => ({ status: 'success', message: 'Event processed' }));
  extension = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/systemsmanager/parameters/get') {
      const name = url.searchParams.get('name') ?? '';
      parametersRead[current].push(name);
      const ok = req.headers['x-aws-parameters-secrets-token'] === SESSION && name === SETTINGS_PARAMETER;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { Parameter: { Name: name, Value: settingsJson } } : { message: 'no' }));
      return;
    }
    const id = url.searchParams.get('secretId') ?? '';
    const name = id.replace(/^arn:/, '') as keyof typeof SECRETS;
    secretsRead[current].add(name);
    const ok = req.headers['x-aws-parameters-secrets-token'] === SESSION && name in SECRETS;
    res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { SecretString: SECRETS[name] } : { message: 'no' }));
  });
  await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));
  ec2 = emptyEc2();
  await new Promise<void>((resolve) => ec2.listen(0, '127.0.0.1', resolve));
  settingsJson = JSON.stringify({
    chat: [
      { platform: 'slack', chat: 'COPS' },
      { platform: 'telegram', chat: '-500' },
    ],
    access: {
      slack: { teamId: 'T0BEAM', users: { UADMIN: 'admin', UOPS: 'operator' }, chats: ['COPS'] },
      telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
    },
    paging: { pagerduty: { routingKey: 'R'.repeat(32), eventsUrl: `${pagerDutyApi.url}/v2/enqueue` } },
  });
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'beam-lambda-functions-'));
  writeFileSync(path.join(keyDir, 'node-secrets.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  base = {
    // What the stack sets on every function (COMMANDER_ENV), plus where this machine's services are.
    [COMMANDER_ENV.tableName]: 'lambda-functions',
    [COMMANDER_ENV.fleet]: 'beam',
    [COMMANDER_ENV.autoApproveRoles]: '',
    BEAM_DYNAMODB_ENDPOINT: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    BEAM_SECRETS_KEY_FILE: path.join(keyDir, 'node-secrets.key'),
    BEAM_LOG_LEVEL: 'fatal',
    [COMMANDER_ENV.settingsParameter]: SETTINGS_PARAMETER,
    SLACK_BOT_ID: 'B0LAMBDA',
    SLACK_BOT_USER_ID: 'U0LAMBDA',
    SLACK_API_URL: `${slackApi.url}/api/`,
    TELEGRAM_BOT_USERNAME: 'beam_lambda_bot',
    TELEGRAM_API_ROOT: telegramApi.url,
    BEAM_EC2_ENDPOINT: `http://127.0.0.1:${(ec2.address() as AddressInfo).port}`,
  };
  // What the Lambda runtime and the extension layer provide.
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  process.env.AWS_SESSION_TOKEN = SESSION;
  process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = String((extension.address() as AddressInfo).port);
}, 30_000);

afterAll(async () => {
  for (const key of [
    'AWS_SESSION_TOKEN',
    'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ])
    delete process.env[key];
  await new Promise<void>((resolve) => ec2?.close(() => resolve()));
  await slackApi?.close();
  await telegramApi?.close();
  await pagerDutyApi?.close();
  await new Promise<void>((resolve) => extension?.close(() => resolve()));
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await db?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

describe('the Lambda functions, each in its own environment', () => {
  let enrollment: { ts: string; approve: string };
  let secret: string;

  it('pilot API: an enrollment is announced in Slack and Telegram over fetch; anonymous refusals are 401', async () => {
    const enroll = () =>
      pilotHandler(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(enrollRequest({ name: 'val-1' }))));
    expect(parseResult(await coldStart('pilot', enroll))).toMatchObject({ status: 202 });
    const notice = await postedWith('val-1 asks to join');
    expect(notice.call.headers.authorization).toBe(`Bearer ${SLACK.botToken}`);
    enrollment = { ts: notice.ts, approve: buttonsOf(notice.call)[0]! };
    await waitFor(
      () => telegramApi.of('sendMessage').find((c) => String(c.body.text).includes('val-1 asks to join')),
      'the Telegram notice',
    );
    // Anonymous refusals: a wrong token, an unknown node, a malformed signature header.
    const wrong = JSON.stringify(enrollRequest({ name: 'x-1', enrollmentToken: 'w'.repeat(32) }));
    expect((await pilotHandler(httpEvent('POST', '/v1/pilot/enroll', wrong))).statusCode).toBe(401);
    const body = JSON.stringify(sampleReport({ nodeId: 'ghost' }));
    const headers = signedHeaders('ghost', 'ab'.repeat(32), Date.now(), body);
    expect((await pilotHandler(httpEvent('POST', '/v1/pilot/report', body, headers))).statusCode).toBe(401);
    const garbled = { ...headers, 'x-beam-signature': 'zz' };
    expect((await pilotHandler(httpEvent('POST', '/v1/pilot/report', body, garbled))).statusCode).toBe(401);
  });

  it('Slack: an admin approves the node; commands are answered; another workspace is refused quietly', async () => {
    const press = click(enrollment.approve, enrollment.ts);
    expect((await coldStart('slack', () => slackHandler(slackEvent(press.body)))).statusCode).toBe(200);
    await waitFor(() => slackApi.of('chat.update').length > 0, 'the enrollment message updated');
    for (const line of ['status', 'nodes', 'node val-1', 'config val-1', 'audit', 'proposals', 'policy']) {
      const calls = slackApi.calls.length;
      expect((await slackHandler(slackEvent(slash(line).body))).statusCode, line).toBe(200);
      await waitFor(() => slackApi.calls.length > calls, `the answer to ${line}`);
    }
    await slackHandler(slackEvent(slash('restart val-1').body));
    const question = await postedWith('Confirm: restart val-1');
    await slackHandler(slackEvent(click(buttonsOf(question.call)[0]!, question.ts).body));
    await waitFor(
      () => slackApi.of('chat.update').find((c) => c.body.ts === question.ts),
      'the confirmed restart',
    );
    // A sentry operation is decided here and left to the tick's EC2 calls: no "no cloud access".
    await slackHandler(slackEvent(slash('rotate-ip sentry-9').body));
    const rotate = await postedWith('Confirm: rotate-ip sentry-9');
    await slackHandler(slackEvent(click(buttonsOf(rotate.call)[0]!, rotate.ts).body));
    const answered = await waitFor(
      () => slackApi.of('chat.update').find((c) => c.body.ts === rotate.ts),
      'the rotation answered',
    );
    expect(JSON.stringify(answered.body)).toContain('IP rotation of sentry-9');
    expect(JSON.stringify(answered.body)).not.toContain('no cloud access');
    // Correctly signed, from another workspace: a plain 200, nothing done, audited.
    const calls = slackApi.calls.length;
    const foreign = slash('restart val-1', 'UADMIN', 'T0OTHER');
    expect(await slackHandler(slackEvent(foreign.body))).toMatchObject({ statusCode: 200, body: '' });
    // Forged: 401, sampled.
    const forged = slash('status');
    expect(
      (await slackHandler(slackEvent(forged.body, slackSigned(forged.body, 'x'.repeat(32))))).statusCode,
    ).toBe(401);
    expect(slackApi.calls.length).toBe(calls);
  });

  it('pilot API: the approved node collects its secret and reports, as a validator with a failover key', async () => {
    current = 'pilot';
    const collected = parseResult(
      await pilotHandler(
        httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(enrollRequest({ name: 'val-1' }))),
      ),
    );
    expect(collected).toMatchObject({ status: 200, body: { status: 'approved' } });
    secret = collected.body.secret as string;
    const report = sampleReport({ nodeId: 'val-1', seq: 1, sentAt: Date.now() });
    const withKey = {
      ...report,
      chain: {
        validatorAddress: VALIDATOR,
        operatorAddress: null,
        recentCommits: [],
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
    };
    const body = JSON.stringify(withKey);
    const reply = await pilotHandler(
      httpEvent('POST', '/v1/pilot/report', body, signedHeaders('val-1', secret, Date.now(), body)),
    );
    expect(reply.statusCode, reply.body).toBe(200);
  });

  it('Telegram: commands are answered, a stranger privately; a wrong secret is refused', async () => {
    expect(
      (await coldStart('telegram', () => telegramHandler(telegramEvent(telegramUpdate('/status')))))
        .statusCode,
    ).toBe(200);
    await waitFor(
      () => telegramApi.of('sendMessage').find((c) => String(c.body.text).includes('Fleet')),
      'the status',
    );
    for (const text of ['/nodes', '/audit', '/node val-1']) {
      const sent = telegramApi.of('sendMessage').length;
      expect((await telegramHandler(telegramEvent(telegramUpdate(text)))).statusCode).toBe(200);
      expect(telegramApi.of('sendMessage').length, text).toBeGreaterThan(sent);
    }
    await telegramHandler(telegramEvent(telegramUpdate('/switchover', 4242)));
    await waitFor(
      () => telegramApi.of('sendMessage').find((c) => c.body.chat_id === '4242'),
      'the private refusal',
    );
    const wrong = httpEvent('POST', '/telegram/webhook', JSON.stringify(telegramUpdate('/status')), {
      'x-telegram-bot-api-secret-token': 'guess',
    });
    expect((await telegramHandler(wrong)).statusCode).toBe(401);
  });

  it('tick: runs in its own environment, the EC2 adapter configured as deployed', async () => {
    await expect(
      coldStart('tick', () => tickHandler({ 'detail-type': 'Scheduled Event' })),
    ).resolves.toMatchObject({
      nodes: 1,
    });
    await tickHandler({});
  });

  it('PagerDuty: a signed acknowledgement acknowledges the open alert of its key; a forged one is refused', async () => {
    // An alert the tick opened and paged (written past the recording proxy: it is no function's call).
    const seeding = buildDeps(
      CommanderSettings.parse({
        tableName: 'lambda-functions',
        dynamodbEndpoint: db.endpoint,
        enrollmentToken: TOKEN,
      }),
      { log: { info() {}, warn() {}, error() {} } },
    );
    const now = Date.now();
    const alert: AlertRecord = {
      key: 'node:val-1:daemon-down',
      kind: 'daemon-down',
      nodeId: 'val-1',
      chainId: 'cosmoshub-4',
      severity: 'critical',
      title: 'val-1: daemon down',
      detail: 'the daemon is not running',
      state: 'open',
      since: now - 60_000,
      heldBy: null,
      openedAt: now - 60_000,
      group: null,
      lastNotifiedAt: now - 60_000,
      notifications: 1,
      acknowledgedBy: null,
      acknowledgedAt: null,
      mutedUntil: null,
      mutedBy: null,
      resolvedAt: null,
      paged: 'triggered',
    };
    await seeding.store.putAlert(alert, null);
    const delivery = JSON.stringify({
      event: {
        id: 'evt-1',
        event_type: 'incident.acknowledged',
        agent: { summary: 'Alice' },
        data: { incident_key: alert.key },
      },
    });
    const signed = (secret: string) => ({
      'content-type': 'application/json',
      'x-pagerduty-signature': `v1=${createHmac('sha256', secret).update(delivery).digest('hex')}`,
    });
    const ack = await coldStart('pagerduty', () =>
      pagerDutyHandler(httpEvent('POST', '/pagerduty/webhook', delivery, signed(PAGERDUTY_SECRET))),
    );
    expect(parseResult(ack)).toMatchObject({ status: 200, body: { ok: true, detail: 'acknowledged' } });
    expect((await seeding.store.getAlert(alert.key))?.value).toMatchObject({
      acknowledgedBy: 'pagerduty:Alice',
      paged: 'acknowledged',
    });
    const forged = await pagerDutyHandler(
      httpEvent('POST', '/pagerduty/webhook', delivery, signed('a-guessed-secret-value')),
    );
    expect(forged.statusCode).toBe(401);
    // PagerDuty knows already: nothing is paged back.
    expect(pagerDutyApi.calls).toEqual([]);
  });

  it('each read exactly the secrets the stack gives it: the enrollment token only in the pilot API', () => {
    for (const fn of FNS) {
      expect([...secretsRead[fn]].sort(), fn).toEqual([...COMMANDER_FUNCTIONS[fn].secrets].sort());
      // The settings: the one parameter, once, at the cold start.
      expect(parametersRead[fn], fn).toEqual([SETTINGS_PARAMETER]);
    }
  });

  it('each called exactly the DynamoDB actions the stack grants it, and EC2 only from the tick', () => {
    for (const fn of FNS) {
      expect([...tableOps[fn]].sort(), fn).toEqual([...COMMANDER_FUNCTIONS[fn].table].sort());
      // Only the tick has an EC2 client (its bundle alone imports one: test/infra/bundle.test.ts).
      if (!COMMANDER_FUNCTIONS[fn].ec2) expect(ec2Calls[fn], fn).toEqual([]);
    }
  });
});

describe('chat credentials from the environment', () => {
  it('names the variable, never the value, when the chat environment is wrong', async () => {
    await expect(chatSecretsFromEnv({ SLACK_BOT_TOKEN: SLACK.botToken })).rejects.toThrow(
      /Slack needs SLACK_SIGNING_SECRET .* or SLACK_APP_TOKEN/,
    );
    const bad = chatSecretsFromEnv({ TELEGRAM_BOT_TOKEN: 'not a token at all' });
    await expect(bad).rejects.toThrow(/TELEGRAM_BOT_TOKEN: use the token BotFather gave/);
    await expect(bad).rejects.not.toThrow(/not a token at all/);
  });

  it('needs only the bot token where Slack is posted to and never heard (pilot API, Telegram, tick)', async () => {
    await expect(
      chatSecretsFromEnv({ SLACK_BOT_TOKEN: SLACK.botToken }, { slackPostOnly: true }),
    ).resolves.toEqual({
      slack: { botToken: SLACK.botToken },
    });
  });

  it('leaves a platform out, and says why, when its secret still holds the deploy-time placeholder', async () => {
    const lines = captureLines();
    const { secrets } = await lambdaChat(
      { ...envOf('slack'), BEAM_TELEGRAM_BOT_TOKEN_SECRET: 'arn:placeholder' },
      { logDestination: lines.stream },
    );
    expect(secrets.telegram).toBeUndefined();
    expect(secrets.slack?.botToken).toBe(SLACK.botToken);
    const logged = lines.lines.join('\n');
    expect(logged).toContain(
      'BEAM_TELEGRAM_BOT_TOKEN_SECRET: secret arn:placeholder does not hold a Telegram bot token',
    );
    expect(logged).not.toContain(PLACEHOLDER);
  });
});
