/**
 * The chat webhooks end to end: signed Slack requests and Telegram updates sent to the commander's
 * real HTTP handler (store on dynalite), with Slack's Web API and Telegram's Bot API on loopback fakes.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreChatAudit } from '../../commander/adapters/store/chatops.js';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import { DEFAULT_MODULES } from '../../commander/app/fleet-ops.js';
import { type ChatSecrets, chatSecretsFromEnv } from '../../commander/chat-env.js';
import { buildDeps } from '../../commander/deps.js';
import { commanderLogger, type TransportTable } from '../../commander/handlers/chat-common.js';
import { createChatRoutes } from '../../commander/handlers/chat-routes.js';
import type { HttpEventV2 } from '../../commander/handlers/lambda-types.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import { CommanderSettings } from '../../commander/settings.js';
import { captureLines, type RecordedCall, startFakeApi } from '../bots/fake-api.js';
import { waitFor } from '../helpers/wait.js';
import { OPERATOR, TOKEN, enrollRequest, httpEvent, startDynalite } from './helpers.js';

const SLACK_BOT_TOKEN = 'xoxb-1357924680-2468013579-QwErTyUiOpAsDfGhJkLzXcVb';
const SIGNING_SECRET = '3c9e1f0a7b2d4e6f8a0b1c2d3e4f5a6b';
const TELEGRAM_BOT_TOKEN = '6120001234:AAF-zYxWvUtSrQpOnMlKjIhGfEdCbA98765';
const WEBHOOK_SECRET = 'tg-hook-5e7a9c1b3d';
const SECRETS = [SLACK_BOT_TOKEN, SIGNING_SECRET, TELEGRAM_BOT_TOKEN, WEBHOOK_SECRET];

function slackSigned(body: string, { secret = SIGNING_SECRET, ts = Math.floor(Date.now() / 1000) } = {}) {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
  };
}

let db: Awaited<ReturnType<typeof startDynalite>>;
let slackApi: Awaited<ReturnType<typeof startFakeApi>>;
let telegramApi: Awaited<ReturnType<typeof startFakeApi>>;
let http: (event: HttpEventV2) => ReturnType<ReturnType<typeof createHttpHandler>>;
let deps: ReturnType<typeof buildDeps>;
let secrets: ChatSecrets;
/** The commander's clock runs ahead of the wall clock by this much (platform signatures use the wall clock). */
let ahead = 0;
const logs = captureLines();
/** Slack messages as the fake answered them: channel, ts, fallback text, buttons. */
const slackPosted: { channel: string; ts: string; text: string; buttons: string[] }[] = [];
const telegramSent: { chat: string; messageId: number; text: string; buttons: string[] }[] = [];

function slackAnswer() {
  let ts = 5000;
  return (call: RecordedCall) => {
    if (call.path.startsWith('/respond/')) return { ok: true };
    if (call.method === 'chat.postMessage') {
      const channel = String(call.body.channel);
      if (channel === 'CBROKEN') return { ok: false, error: 'channel_not_found' };
      const posted = {
        channel,
        ts: `${++ts}.000200`,
        text: String(call.body.text),
        buttons: buttonsOf(call),
      };
      slackPosted.push(posted);
      return { ok: true, channel, ts: posted.ts };
    }
    if (call.method === 'chat.update') return { ok: true, channel: call.body.channel, ts: call.body.ts };
    return { ok: false, error: 'unknown_method' };
  };
}

function buttonsOf(call: RecordedCall): string[] {
  const blocks = (call.body.blocks ?? []) as { type: string; elements?: { value?: string }[] }[];
  return blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).map((e) => e.value ?? '') : []));
}

function telegramAnswer() {
  let messageId = 700;
  return (call: RecordedCall) => {
    if (call.method === 'sendMessage') {
      const keyboard = (call.body.reply_markup as { inline_keyboard?: { callback_data: string }[][] })
        ?.inline_keyboard;
      const sent = {
        chat: String(call.body.chat_id),
        messageId: ++messageId,
        text: String(call.body.text),
        buttons: (keyboard ?? []).flat().map((b) => b.callback_data),
      };
      telegramSent.push(sent);
      return {
        ok: true,
        result: { message_id: sent.messageId, date: 1, chat: { id: Number(sent.chat), type: 'group' } },
      };
    }
    return { ok: true, result: true };
  };
}

beforeAll(async () => {
  db = await startDynalite();
  slackApi = await startFakeApi(slackAnswer());
  telegramApi = await startFakeApi(telegramAnswer());
  const settings = CommanderSettings.parse({
    tableName: `t-${randomBytes(6).toString('hex')}`,
    dynamodbEndpoint: db.endpoint,
    enrollmentToken: TOKEN,
    chat: [
      { platform: 'slack', chat: 'COPS' },
      { platform: 'telegram', chat: '-500' },
    ],
    access: {
      slack: {
        teamId: 'T1',
        users: { UOPS: 'operator', UOPS2: 'operator', UADMIN: 'admin', UVIEW: 'viewer' },
        chats: ['COPS'],
      },
      telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
    },
  });
  await ensureTable(createDynamoClient({ endpoint: db.endpoint }), settings.tableName);
  // The credentials as the Lambda reads them.
  secrets = await chatSecretsFromEnv({
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_ID: 'B0BEAM',
    SLACK_BOT_USER_ID: 'U0BEAM',
    SLACK_API_URL: `${slackApi.url}/api/`,
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    TELEGRAM_BOT_USERNAME: 'beam_fleet_bot',
    TELEGRAM_API_ROOT: telegramApi.url,
  });
  const options = { logDestination: logs.stream, logLevel: 'debug', slackRetries: 0 };
  const transports: TransportTable = {};
  deps = buildDeps(settings, {
    transports,
    log: commanderLogger(secrets, options),
    now: () => Date.now() + ahead,
  });
  const chat = createChatRoutes(deps, createChatOps(deps), secrets, transports, options);
  http = createHttpHandler(deps, chat.routes);

  // A validator to restart, approved by a person.
  await http(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(enrollRequest({ name: 'val-1' }))));
  await new CommanderApp(deps).approveNode(OPERATOR, 'val-1');
});

afterAll(async () => {
  await slackApi?.close();
  await telegramApi?.close();
  await db?.close();
});

const chatAudit = () => new StoreChatAudit(deps.store).list(100);
const queuedRestarts = async () =>
  (await deps.store.getNode('val-1'))!.value.actions.filter((a) => a.type === 'restart-daemon');

describe('POST /slack/events', () => {
  let trigger = 0;
  const slash = (text: string, user = 'UOPS', channel = 'COPS', team = 'T1') => {
    const id = `trig-${++trigger}`;
    const body = new URLSearchParams({
      team_id: team,
      channel_id: channel,
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/beam',
      text,
      response_url: `${slackApi.url}/respond/${id}`,
      trigger_id: id,
    }).toString();
    return { body, id };
  };
  const click = (value: string, messageTs: string, user = 'UOPS') => {
    const id = `trig-${++trigger}`;
    const body = new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        team: { id: 'T1' },
        user: { id: user, name: user.toLowerCase() },
        channel: { id: 'COPS', name: 'ops' },
        container: { type: 'message', message_ts: messageTs, channel_id: 'COPS' },
        message: { ts: messageTs, type: 'message', text: '' },
        trigger_id: id,
        response_url: `${slackApi.url}/respond/${id}`,
        actions: [{ type: 'button', action_id: `beam:${value}`, block_id: 'b', value, action_ts: '1' }],
      }),
    }).toString();
    return { body, id };
  };
  const send = (body: string, headers: Record<string, string> = slackSigned(body)) =>
    http(httpEvent('POST', '/slack/events', body, headers));
  const responded = (id: string) =>
    waitFor(() => slackApi.calls.find((c) => c.path === `/respond/${id}`), `response_url ${id}`);
  const postedTitled = (text: string) =>
    waitFor(() => slackPosted.find((p) => p.text === text), `chat.postMessage "${text}"`);

  it('answers `/beam status` with a status message in the channel, without auth.test', async () => {
    const { body } = slash('status', 'UVIEW');
    expect((await send(body)).statusCode).toBe(200);
    const post = await waitFor(
      () => slackApi.of('chat.postMessage').find((c) => String(c.body.text).includes('Fleet beam-devnet-1')),
      'the status message',
    );
    expect(post.headers.authorization).toBe(`Bearer ${SLACK_BOT_TOKEN}`);
    expect(post.body.channel).toBe('COPS');
    expect(JSON.stringify(post.body.blocks)).toContain('val-1');
    expect(slackApi.of('auth.test')).toHaveLength(0);
  });

  it('asks for confirmation before restart; Confirm queues one restart-daemon action, a second press acts no more', async () => {
    const before = (await queuedRestarts()).length;
    const { body } = slash('restart val-1');
    expect((await send(body)).statusCode).toBe(200);
    const question = await postedTitled('⚠️ Confirm: restart val-1');
    expect(question.buttons).toHaveLength(2);
    expect(await queuedRestarts()).toHaveLength(before);

    const press = click(question.buttons[0]!, question.ts);
    expect((await send(press.body)).statusCode).toBe(200);
    const update = await waitFor(
      () => slackApi.of('chat.update').find((c) => c.body.ts === question.ts),
      'the question updated in place',
    );
    expect(update.body.text).toBe('ℹ️ Restart of val-1: accepted');
    expect(await queuedRestarts()).toHaveLength(before + 1);

    // Slack retries the same delivery: deduplicated in the table, nothing happens.
    const retry = {
      ...slackSigned(press.body),
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    };
    expect((await send(press.body, retry)).statusCode).toBe(200);
    // A second, distinct press of the used button: refused privately.
    const again = click(question.buttons[0]!, question.ts);
    expect((await send(again.body)).statusCode).toBe(200);
    expect(JSON.stringify((await responded(again.id)).body)).toContain('already used');
    expect(await queuedRestarts()).toHaveLength(before + 1);
    expect(slackApi.of('chat.update').filter((c) => c.body.ts === question.ts)).toHaveLength(1);
  });

  it('needs a confirmation for failover, rotate-ip and replace, and runs nothing before it', async () => {
    const appAudit = (await deps.store.listAudit(100)).length;
    for (const line of ['failover', 'rotate-ip sentry-a', 'replace sentry-a']) {
      const { body } = slash(line);
      expect((await send(body)).statusCode).toBe(200);
      const question = await postedTitled(`⚠️ Confirm: ${line}`);
      expect(question.buttons).toHaveLength(2);
    }
    // Only the questions were asked: no failover or sentry operation was decided.
    expect((await deps.store.listAudit(100)).length).toBe(appAudit);
    // Confirming the failover reaches the failover module, which answers for this (empty) fleet.
    const failover = slackPosted.find((p) => p.text === '⚠️ Confirm: failover')!;
    const press = click(failover.buttons[0]!, failover.ts);
    await send(press.body);
    const answered = await waitFor(
      () => slackApi.of('chat.update').find((c) => c.body.ts === failover.ts),
      'the failover answer',
    );
    expect(answered.body.text).toBe('⚠️ Failover: refused');
    expect(JSON.stringify(answered.body.blocks)).toContain('no validator node has reported');
    // Cancel on the rotation: the question says so, nothing runs.
    const rotate = slackPosted.find((p) => p.text === '⚠️ Confirm: rotate-ip sentry-a')!;
    await send(click(rotate.buttons[1]!, rotate.ts).body);
    const cancelled = await waitFor(
      () => slackApi.of('chat.update').find((c) => c.body.ts === rotate.ts),
      'the cancelled question',
    );
    expect(cancelled.body.text).toBe('Cancelled');
  });

  it('refuses users without a role, channels not allow-listed and too-low roles, ephemerally, with an audit entry each', async () => {
    const posts = slackApi.of('chat.postMessage').length;
    const stranger = slash('status', 'USTRANGER');
    await send(stranger.body);
    const refusal = await responded(stranger.id);
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(refusal.body)).toContain('user USTRANGER has no role on slack');
    const elsewhere = slash('status', 'UOPS', 'CRANDOM');
    await send(elsewhere.body);
    expect(JSON.stringify((await responded(elsewhere.id)).body)).toContain(
      'chat CRANDOM is not allow-listed',
    );
    const viewer = slash('restart val-1', 'UVIEW');
    await send(viewer.body);
    expect(JSON.stringify((await responded(viewer.id)).body)).toContain('needs the operator role');
    expect(slackApi.of('chat.postMessage')).toHaveLength(posts);
    const audit = await chatAudit();
    for (const [userId, chat, action] of [
      ['USTRANGER', 'COPS', 'command status'],
      ['UOPS', 'CRANDOM', 'command status'],
      ['UVIEW', 'COPS', 'command restart val-1'],
    ]) {
      expect(audit).toContainEqual(
        expect.objectContaining({ platform: 'slack', userId, chat, action, allowed: false }),
      );
    }
  });

  it('decodes a base64 body as UTF-8', async () => {
    const { body, id } = slash('node vål-1');
    const event = httpEvent('POST', '/slack/events', Buffer.from(body).toString('base64'), slackSigned(body));
    expect((await http({ ...event, isBase64Encoded: true })).statusCode).toBe(200);
    expect(JSON.stringify((await responded(id)).body)).toContain('vål-1');
  });

  it('refuses unsigned, stale, forged and future-dated requests with 401, counted and sampled in the audit', async () => {
    const calls = slackApi.calls.length;
    const { body } = slash('restart val-1');
    const now = Math.floor(Date.now() / 1000);
    const { 'x-slack-signature': _, ...unsigned } = slackSigned(body);
    const forged = slackSigned(body, { secret: 'an-attacker-secret' });
    const cases = [
      unsigned,
      slackSigned(body, { ts: now - 301 }),
      forged,
      slackSigned(body, { ts: now + 3600 }),
    ];
    for (const headers of cases) expect((await send(body, headers)).statusCode).toBe(401);
    const refused = async () =>
      (await chatAudit())
        .filter((e) => e.action === 'webhook request' && e.platform === 'slack')
        .map((e) => `${e.reason} ×${e.count}`)
        .sort();
    // One item per reason, written before the 401 left; the second stale one only counted.
    expect(await refused()).toEqual(['forged ×1', 'stale ×1', 'unsigned ×1']);
    // A flood of forgeries writes nothing more within the minute.
    const writes = () =>
      [...deps.calls.byCommand].filter(([c]) => c === 'PutCommand').reduce((a, [, n]) => a + n, 0);
    const before = writes();
    for (let i = 0; i < 30; i++) expect((await send(body, forged)).statusCode).toBe(401);
    expect(writes()).toBe(before);
    // Once the minute has passed, the next request writes each window's count.
    ahead += 61_000;
    expect((await send(body, unsigned)).statusCode).toBe(401);
    expect(await refused()).toEqual(['forged ×31', 'stale ×2', 'unsigned ×1', 'unsigned ×1']);
    expect(writes()).toBe(before + 3); // forged and stale rewritten, a new unsigned window
    expect(slackApi.calls.length).toBe(calls);
  });

  it('answers a correctly signed request from another workspace 200, does nothing and audits it', async () => {
    const calls = slackApi.calls.length;
    const restarts = (await queuedRestarts()).length;
    const foreign = slash('restart val-1', 'UADMIN', 'COPS', 'T0OTHER');
    const res = await send(foreign.body);
    expect(res).toMatchObject({ statusCode: 200, body: '' });
    const audited = (await chatAudit()).find(
      (e) => e.action === 'webhook request' && e.reason === 'foreign workspace',
    );
    expect(audited).toMatchObject({ platform: 'slack', allowed: false, count: 1 });
    expect(slackApi.calls.length).toBe(calls);
    expect(await queuedRestarts()).toHaveLength(restarts);
    expect(await deps.store.get({ pk: 'DELIVERY', sk: `slack:${foreign.id}` })).toBeNull();
  });

  it('answers an internal error with a reference only; the details go to the log', async () => {
    const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/beam-Table';
    const failing = createChatRoutes(
      deps,
      createChatOps(deps, {
        modules: {
          ...DEFAULT_MODULES,
          failover: {
            ...DEFAULT_MODULES.failover!,
            failoverOverview: async () => {
              throw new Error(`AccessDeniedException: not authorized to perform dynamodb:Query on ${arn}`);
            },
          },
        },
      }),
      secrets,
      {},
      { logDestination: logs.stream, logLevel: 'debug', slackRetries: 0 },
    );
    const broken = createHttpHandler(deps, failing.routes);
    const { body, id } = slash('status');
    expect((await broken(httpEvent('POST', '/slack/events', body, slackSigned(body)))).statusCode).toBe(200);
    const answer = await responded(id);
    expect(answer.body.response_type).toBe('ephemeral');
    const shown = JSON.stringify(answer.body);
    const ref = /ref ([0-9a-f]{8})/.exec(shown)?.[1];
    expect(ref, shown).toBeDefined();
    expect(shown).not.toMatch(/arn:aws|AccessDenied|dynamodb/);
    const logged = logs.lines.find((l) => l.includes(ref!) && l.includes('chat input failed'));
    expect(logged).toContain(arn);
    const audited = (await chatAudit()).find((e) => e.reason?.includes(ref!));
    expect(audited).toMatchObject({ allowed: false, reason: `failed: internal error, ref ${ref}` });
  });

  it('shows the commander’s own ChatAction buttons; a dangerous one asks its presser to confirm, and the confirmation acts once', async () => {
    const before = (await queuedRestarts()).length;
    await deps.chat.post('maintenance:val-1', { title: 'val-1 needs a restart', severity: 'warning' }, [
      { label: 'Restart now', command: 'restart val-1', style: 'danger' },
    ]);
    const offered = await postedTitled('⚠️ val-1 needs a restart');
    expect(offered.buttons).toHaveLength(1);
    // A viewer may look but not press.
    const viewer = click(offered.buttons[0]!, offered.ts, 'UVIEW');
    await send(viewer.body);
    expect(JSON.stringify((await responded(viewer.id)).body)).toContain('needs the operator role');
    // An operator's press asks them, as the typed command would; nothing runs yet.
    const asked = slackPosted.filter((p) => p.text === '⚠️ Confirm: restart val-1').length;
    const press = click(offered.buttons[0]!, offered.ts, 'UOPS');
    await send(press.body);
    const question = await waitFor(
      () => slackPosted.filter((p) => p.text === '⚠️ Confirm: restart val-1')[asked],
      'the question',
    );
    expect(await queuedRestarts()).toHaveLength(before);
    // The question is the presser's: another operator's Confirm is refused.
    const other = click(question.buttons[0]!, question.ts, 'UOPS2');
    await send(other.body);
    expect(JSON.stringify((await responded(other.id)).body)).toContain(
      'only uops (UOPS) or an admin can answer this',
    );
    expect(await queuedRestarts()).toHaveLength(before);
    const confirm = click(question.buttons[0]!, question.ts, 'UOPS');
    await send(confirm.body);
    await waitFor(
      () => slackApi.of('chat.update').find((c) => c.body.ts === question.ts),
      'the question updated in place',
    );
    expect(await queuedRestarts()).toHaveLength(before + 1);
    const twice = click(question.buttons[0]!, question.ts, 'UOPS');
    await send(twice.body);
    expect(JSON.stringify((await responded(twice.id)).body)).toContain('already used');
    expect(await queuedRestarts()).toHaveLength(before + 1);
    expect(
      (await chatAudit()).find((e) => e.action.startsWith(`button ${question.buttons[0]}`) && e.allowed),
    ).toMatchObject({ userId: 'UOPS' });
  });
});

describe('enrollment buttons', () => {
  it('offers Approve / Reject with a pending node; only an admin’s press lets it in', async () => {
    const request = enrollRequest({ name: 'sentry-b', role: 'sentry', cometNodeId: 'b'.repeat(40) });
    await http(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(request)));
    const offered = await waitFor(
      () => slackPosted.find((p) => p.text === '⚠️ Node sentry-b asks to join'),
      'the enrollment message',
    );
    expect(offered.buttons).toHaveLength(2);
    const click = (user: string) =>
      new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          team: { id: 'T1' },
          user: { id: user, name: user },
          channel: { id: 'COPS', name: 'ops' },
          container: { type: 'message', message_ts: offered.ts, channel_id: 'COPS' },
          message: { ts: offered.ts, type: 'message', text: '' },
          trigger_id: `enroll-${user}`,
          response_url: `${slackApi.url}/respond/enroll-${user}`,
          actions: [{ type: 'button', action_id: 'beam:a', block_id: 'b', value: offered.buttons[0] }],
        }),
      }).toString();
    const operator = click('UOPS');
    await http(httpEvent('POST', '/slack/events', operator, slackSigned(operator)));
    const refusal = await waitFor(
      () => slackApi.calls.find((c) => c.path === '/respond/enroll-UOPS'),
      'the refusal',
    );
    expect(JSON.stringify(refusal.body)).toContain('needs the admin role');
    expect((await deps.store.getNode('sentry-b'))!.value.status).toBe('pending');
    const admin = click('UADMIN');
    await http(httpEvent('POST', '/slack/events', admin, slackSigned(admin)));
    await waitFor(
      async () => (await deps.store.getNode('sentry-b'))!.value.status === 'approved',
      'sentry-b approved',
    );
    expect((await deps.store.getNode('sentry-b'))!.value.decidedBy).toBe('slack:UADMIN (UADMIN)');
  });
});

describe('POST /telegram/webhook', () => {
  const from = { id: 1001, is_bot: false, first_name: 'Op', username: 'op' };
  const chat = { id: -500, type: 'group', title: 'ops' };
  let updateId = 9000;
  const message = (text: string, user = from) => ({
    update_id: ++updateId,
    message: { message_id: updateId, date: 1, chat, from: user, text },
  });
  const callback = (data: string, messageId: number) => ({
    update_id: ++updateId,
    callback_query: {
      id: `cb-${updateId}`,
      from,
      chat_instance: 'ci',
      data,
      message: { message_id: messageId, date: 1, chat, text: 'x' },
    },
  });
  const headers = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET };
  const send = (update: object, h: Record<string, string> = headers) =>
    http(httpEvent('POST', '/telegram/webhook', JSON.stringify(update), h));
  const sentStarting = (prefix: string) =>
    waitFor(() => telegramSent.find((s) => s.text.startsWith(prefix)), `sendMessage "${prefix}"`);

  it('answers /status in the chat, and handles a redelivered update once', async () => {
    const update = message('/status@beam_fleet_bot');
    expect((await send(update)).statusCode).toBe(200);
    const sent = await waitFor(
      () => telegramSent.find((s) => s.text.includes('Fleet beam-devnet-1')),
      'the status message',
    );
    expect(sent.chat).toBe('-500');
    expect(sent.text).toContain('val-1');
    const count = telegramApi.of('sendMessage').length;
    expect((await send(update)).statusCode).toBe(200);
    expect(telegramApi.of('sendMessage')).toHaveLength(count);
    expect(telegramApi.of('getMe')).toHaveLength(0);
  });

  it('asks to confirm /rotate_ip; the button press answers the callback and edits the question once', async () => {
    expect((await send(message('/rotate_ip sentry-a'))).statusCode).toBe(200);
    const question = await sentStarting('<b>⚠️ Confirm: rotate-ip sentry-a</b>');
    expect(question.buttons).toHaveLength(2);
    for (const data of question.buttons) expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
    const press = callback(question.buttons[0]!, question.messageId);
    expect((await send(press)).statusCode).toBe(200);
    expect(telegramApi.of('answerCallbackQuery').map((c) => c.body.callback_query_id)).toContain(
      press.callback_query.id,
    );
    const edits = () =>
      telegramApi.of('editMessageText').filter((c) => c.body.message_id === question.messageId);
    const edit = await waitFor(() => edits()[0], 'the question edited');
    // Confirmed, it reached sentry defence, which has no cloud access in this commander.
    expect(String(edit.body.text)).toContain('IP rotation of sentry-a: refused');
    expect(String(edit.body.text)).toContain('no cloud access');
    const again = callback(question.buttons[0]!, question.messageId);
    await send(again);
    // The refusal is an alert for the presser alone.
    const alert = await waitFor(
      () =>
        telegramApi
          .of('answerCallbackQuery')
          .find((c) => c.body.callback_query_id === again.callback_query.id),
      'the refusal alert',
    );
    expect(alert.body).toMatchObject({ show_alert: true });
    expect(String(alert.body.text)).toContain('already used');
    expect(edits()).toHaveLength(1);
  });

  it('refuses an unknown user privately (a message to the user, not the group) and audits it', async () => {
    const stranger = { id: 4242, is_bot: false, first_name: 'Eve', username: 'eve' };
    await send(message('/restart val-1', stranger));
    const refusal = await waitFor(
      () => telegramSent.find((s) => s.text.includes('user 4242 has no role on telegram')),
      'the refusal',
    );
    expect(refusal.chat).toBe('4242');
    expect(telegramSent.filter((s) => s.chat === '-500' && s.text.includes('4242'))).toEqual([]);
    expect(await chatAudit()).toContainEqual(
      expect.objectContaining({
        platform: 'telegram',
        userId: '4242',
        allowed: false,
        action: 'command restart val-1',
      }),
    );
  });

  it('refuses a missing or wrong secret-token header with 401 and audits it', async () => {
    const calls = telegramApi.calls.length;
    const { 'x-telegram-bot-api-secret-token': _, ...none } = headers;
    expect((await send(message('/status'), none)).statusCode).toBe(401);
    expect(
      (await send(message('/status'), { ...headers, 'x-telegram-bot-api-secret-token': 'guess' })).statusCode,
    ).toBe(401);
    const reasons = await waitFor(async () => {
      const refused = (await chatAudit()).filter(
        (e) => e.action === 'webhook request' && e.platform === 'telegram',
      );
      return refused.length >= 2 && refused.map((e) => e.reason).sort();
    }, 'two audited refusals');
    expect(reasons).toEqual(['missing secret', 'wrong secret']);
    expect(telegramApi.calls.length).toBe(calls);
  });
});

describe('secrets in logs', () => {
  it('never writes a bot token, signing secret or webhook secret to a log line', async () => {
    // Failing deliveries are logged with the client's error; a Bot API URL embeds the token.
    await telegramApi.close();
    await deps.chat.post('alert:x', { title: 'Disk almost full', severity: 'critical' });
    await waitFor(() => logs.lines.some((l) => l.includes('chat delivery failed')), 'a logged failure');
    const body = new URLSearchParams({ text: 'status' }).toString();
    const forged = slackSigned(body, { secret: SIGNING_SECRET.slice(1) });
    expect((await http(httpEvent('POST', '/slack/events', body, forged))).statusCode).toBe(401);
    // The commander's logger itself: a secret anywhere in a line is replaced.
    deps.log.warn({ err: `Bearer ${SLACK_BOT_TOKEN} refused`, url: `/bot${TELEGRAM_BOT_TOKEN}/x` }, 'probe');
    expect(logs.lines.at(-1)).toContain('[redacted]');
    expect(logs.lines.length).toBeGreaterThan(20);
    for (const line of logs.lines) for (const secret of SECRETS) expect(line).not.toContain(secret);
  });
});
