/**
 * Fuzzing the chat webhooks through the commander's real HTTP handler (store on dynalite, Slack and
 * Telegram APIs on loopback fakes): forged, stale, unsigned and malformed requests are refused with a
 * 4xx and leave nothing but their audit entry; signed requests with hostile payloads never cause a
 * 5xx and never change the fleet's state (nodes, secrets, leases, operations, alerts, proposals).
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import { chatSecretsFromEnv } from '../../commander/chat-env.js';
import { COMMAND_NAMES } from '../../commander/chatops/commands.js';
import { buildDeps } from '../../commander/deps.js';
import { commanderLogger, type TransportTable } from '../../commander/handlers/chat-common.js';
import { createChatRoutes } from '../../commander/handlers/chat-routes.js';
import type { HttpEventV2 } from '../../commander/handlers/lambda-types.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import { CommanderSettings } from '../../commander/settings.js';
import { captureLines, type RecordedCall, startFakeApi } from '../bots/fake-api.js';
import { enrollRequest, httpEvent, OPERATOR, startDynalite, TOKEN } from '../commander/helpers.js';
import {
  FUZZ_TIMEOUT_MS,
  fuzzParams,
  hostileBody,
  mutatedJson,
  nastyValue,
  Outcomes,
  recordFuzz,
} from './kit.js';

const SLACK_BOT_TOKEN = 'xoxb-1357924680-2468013579-QwErTyUiOpAsDfGhJkLzXcVb';
const SIGNING_SECRET = '3c9e1f0a7b2d4e6f8a0b1c2d3e4f5a6b';
const TELEGRAM_BOT_TOKEN = '6120001234:AAF-zYxWvUtSrQpOnMlKjIhGfEdCbA98765';
const WEBHOOK_SECRET = 'tg-hook-5e7a9c1b3d';
/** Items that chat traffic may write (audit, delivery dedupe, confirmations, message refs). */
const CHAT_ITEMS = new Set(['CHATAUDIT', 'DELIVERY', 'INTERACTION', 'MSG', 'AUDIT']);

let db: Awaited<ReturnType<typeof startDynalite>>;
let slackApi: Awaited<ReturnType<typeof startFakeApi>>;
let telegramApi: Awaited<ReturnType<typeof startFakeApi>>;
let http: (event: HttpEventV2) => ReturnType<ReturnType<typeof createHttpHandler>>;
let deps: ReturnType<typeof buildDeps>;
const logs = captureLines();
const slackOutcome = new Outcomes('POST /slack/events');
const telegramOutcome = new Outcomes('POST /telegram/webhook');

function slackAnswer() {
  let ts = 5000;
  return (call: RecordedCall) => {
    if (call.path.startsWith('/respond/')) return { ok: true };
    if (call.method === 'chat.postMessage')
      return { ok: true, channel: call.body.channel, ts: `${++ts}.0002` };
    if (call.method === 'chat.update') return { ok: true, channel: call.body.channel, ts: call.body.ts };
    return { ok: false, error: 'unknown_method' };
  };
}

function telegramAnswer() {
  let messageId = 700;
  return (call: RecordedCall) =>
    call.method === 'sendMessage'
      ? {
          ok: true,
          result: {
            message_id: ++messageId,
            date: 1,
            chat: { id: Number(call.body.chat_id), type: 'group' },
          },
        }
      : { ok: true, result: true };
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
      slack: { teamId: 'T1', users: { UOPS: 'operator', UVIEW: 'viewer' }, chats: ['COPS'] },
      telegram: { users: { '1001': 'operator', '1002': 'viewer' }, chats: ['-500'] },
    },
  });
  await ensureTable(createDynamoClient({ endpoint: db.endpoint }), settings.tableName);
  const secrets = await chatSecretsFromEnv({
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
  const options = { logDestination: logs.stream, logLevel: 'fatal', slackRetries: 0 };
  const transports: TransportTable = {};
  deps = buildDeps(settings, { transports, log: commanderLogger(secrets, options) });
  const chat = createChatRoutes(deps, createChatOps(deps), secrets, transports, options);
  http = createHttpHandler(deps, chat.routes);
  const send = deps.calls.send.bind(deps.calls);
  deps.calls.send = (command: { input?: { Item?: { pk?: unknown }; Key?: { pk?: unknown } } }) => {
    const name = String((command as object).constructor?.name);
    if (!/^(Get|BatchGet|Query|Scan)Command$/.test(name))
      written.push(String(command.input?.Item?.pk ?? command.input?.Key?.pk ?? name));
    return send(command);
  };
  await http(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(enrollRequest({ name: 'val-1' }))));
  await new CommanderApp(deps).approveNode(OPERATOR, 'val-1');
});

afterAll(async () => {
  recordFuzz(import.meta.filename, [slackOutcome, telegramOutcome]);
  await slackApi?.close();
  await telegramApi?.close();
  await db?.close();
});

/** The table without chat bookkeeping: the fleet's state, sorted. */
async function fleetState(): Promise<string> {
  const items = await deps.store.scanAll();
  return JSON.stringify(
    items
      .filter((i) => !CHAT_ITEMS.has(String(i.pk)))
      .map((i) => JSON.stringify(i))
      .sort(),
  );
}
/** Partition keys of every item written since the last call (recorded at the store's sender). */
const written: string[] = [];
function takeWritten(): string[] {
  return written.splice(0, written.length);
}

/** A line of the command language, usually wrong: command words with hostile arguments, or noise. */
const commandLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...COMMAND_NAMES, 'fialover', 'STATUS', 'help', ''),
      fc.array(
        fc.oneof(
          fc.constantFrom('val-1', 'sentry-a', 'to', 'yes', '1', '-1', '999999999999999999999', '@everyone'),
          fc.string({ maxLength: 20 }),
        ),
        { maxLength: 4 },
      ),
    )
    .map(([cmd, args]) => [cmd, ...args].join(' ')),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

type SlackSigning = 'signed' | 'forged' | 'stale' | 'future' | 'unsigned' | 'garbage-ts';
const slackSigning = fc.oneof(
  { weight: 6, arbitrary: fc.constant<SlackSigning>('signed') },
  {
    weight: 4,
    arbitrary: fc.constantFrom<SlackSigning>('forged', 'stale', 'future', 'unsigned', 'garbage-ts'),
  },
);

function slackHeaders(kind: SlackSigning, body: string): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  const sign = (secret: string, ts: number) => ({
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
  });
  switch (kind) {
    case 'signed':
      return sign(SIGNING_SECRET, now);
    case 'forged':
      return sign('not-the-signing-secret-0000000000', now);
    case 'stale':
      return sign(SIGNING_SECRET, now - 600);
    case 'future':
      return sign(SIGNING_SECRET, now + 600);
    case 'unsigned':
      return { 'content-type': 'application/x-www-form-urlencoded' };
    case 'garbage-ts':
      return { ...sign(SIGNING_SECRET, now), 'x-slack-request-timestamp': 'soon' };
  }
}

let trigger = 0;
/** Slack bodies: slash commands and button payloads with hostile fields, or plain noise. */
const slackBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        user: fc.constantFrom('UOPS', 'UVIEW', 'UNOBODY', ''),
        channel: fc.constantFrom('COPS', 'CELSE', ''),
        text: commandLine,
        extra: fc.dictionary(
          fc.constantFrom('command', 'team_id', 'response_url', 'ssl_check', 'token'),
          fc.string({ maxLength: 30 }),
        ),
      })
      .map(({ user, channel, text, extra }) => {
        const id = `fz-${++trigger}`;
        return new URLSearchParams({
          team_id: 'T1',
          channel_id: channel,
          user_id: user,
          user_name: user.toLowerCase(),
          command: '/beam',
          text,
          response_url: `${slackApi.url}/respond/${id}`,
          trigger_id: id,
          ...extra,
        }).toString();
      }),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('UOPS', 'UVIEW', 'UNOBODY'),
        fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('x'.repeat(64), '')),
      )
      .chain(([user, value]) => {
        const id = `fz-${++trigger}`;
        const payload = {
          type: 'block_actions',
          team: { id: 'T1' },
          user: { id: user, name: user.toLowerCase() },
          channel: { id: 'COPS', name: 'ops' },
          container: { type: 'message', message_ts: '5001.0002', channel_id: 'COPS' },
          message: { ts: '5001.0002', type: 'message', text: '' },
          trigger_id: id,
          response_url: `${slackApi.url}/respond/${id}`,
          actions: [{ type: 'button', action_id: `beam:${value}`, block_id: 'b', value, action_ts: '1' }],
        };
        return mutatedJson(payload).map((m) => new URLSearchParams({ payload: m.text }).toString());
      }),
  },
  { weight: 1, arbitrary: hostileBody({ type: 'url_verification', challenge: 'abc', token: 'x' }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
);

describe('fuzzing the chat webhooks', () => {
  it(
    'Slack: refused requests are 4xx and write only their audit entry; signed ones never 5xx nor touch fleet state',
    async () => {
      const before = await fleetState();
      await fc.assert(
        fc.asyncProperty(slackBody, slackSigning, async (body, kind) => {
          takeWritten();
          const result = await http(httpEvent('POST', '/slack/events', body, slackHeaders(kind, body)));
          const writes = takeWritten();
          slackOutcome.add(`${kind} → ${result.statusCode}`);
          expect(result.statusCode, result.body).toBeLessThan(500);
          for (const pk of writes) expect(CHAT_ITEMS.has(pk), `${pk} written by a chat request`).toBe(true);
          if (kind !== 'signed') {
            // Bolt acks Slack's ssl_check probes before verifying (an empty 200 that does nothing).
            const sslCheck = new URLSearchParams(body).has('ssl_check') && result.body === '';
            if (!sslCheck) expect(result.statusCode).toBeGreaterThanOrEqual(400);
            expect(
              writes.filter((pk) => pk !== 'CHATAUDIT'),
              'a refused request wrote more than its audit',
            ).toEqual([]);
          }
        }),
        fuzzParams('POST /slack/events'),
      );
      expect(await fleetState()).toBe(before);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'Telegram: wrong or missing secrets are 401, garbage 400, verified updates 200; nothing touches fleet state',
    async () => {
      const before = await fleetState();
      let updateId = 50_000;
      const from = { id: 1001, is_bot: false, first_name: 'Op', username: 'op' };
      const chat = { id: -500, type: 'group', title: 'ops' };
      const update = fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .tuple(commandLine, fc.constantFrom(1001, 1002, 4242), fc.constantFrom(-500, -600, 1001))
            .chain(([text, user, chatId]) =>
              mutatedJson({
                update_id: ++updateId,
                message: {
                  message_id: updateId,
                  date: 1,
                  chat: { ...chat, id: chatId },
                  from: { ...from, id: user },
                  text: `/${text}`,
                },
              }).map((m) => m.text),
            ),
        },
        {
          weight: 2,
          arbitrary: fc.oneof(fc.string({ maxLength: 70 }), nastyValue.map(String)).chain((data) =>
            mutatedJson({
              update_id: ++updateId,
              callback_query: {
                id: `cb-${updateId}`,
                from,
                chat_instance: 'ci',
                data,
                message: { message_id: 701, date: 1, chat, text: 'x' },
              },
            }).map((m) => m.text),
          ),
        },
        { weight: 1, arbitrary: hostileBody({ update_id: 1, edited_message: { text: 'x' } }) },
      );
      const secret = fc.oneof(
        { weight: 7, arbitrary: fc.constant<string | undefined>(WEBHOOK_SECRET) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<string | undefined>(undefined, '', `${WEBHOOK_SECRET}x`, 'tg-hook'),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      );
      await fc.assert(
        fc.asyncProperty(update, secret, async (body, given) => {
          takeWritten();
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (given !== undefined) headers['x-telegram-bot-api-secret-token'] = given;
          const result = await http(httpEvent('POST', '/telegram/webhook', body, headers));
          const writes = takeWritten();
          const verified = given === WEBHOOK_SECRET;
          telegramOutcome.add(`${verified ? 'secret ok' : 'bad secret'} → ${result.statusCode}`);
          expect(result.statusCode, result.body).toBeLessThan(500);
          if (!verified) expect(result.statusCode).toBe(401);
          for (const pk of writes) expect(CHAT_ITEMS.has(pk), `${pk} written by a chat update`).toBe(true);
          if (result.statusCode !== 200)
            expect(
              writes.filter((pk) => pk !== 'CHATAUDIT'),
              'a refused request wrote more than its audit',
            ).toEqual([]);
        }),
        fuzzParams('POST /telegram/webhook'),
      );
      expect(await fleetState()).toBe(before);
    },
    FUZZ_TIMEOUT_MS,
  );
});
