/**
 * The Lambda entry points with chat configured from the environment, the credentials read from
 * Secrets Manager through a loopback stand-in for the Parameters and Secrets extension.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { chatSecretsFromEnv } from '../../commander/chat-env.js';
import { lambdaChat } from '../../commander/handlers/chat-routes.js';
import { handler as httpHandler } from '../../commander/handlers/http.js';
import { handler as tickHandler } from '../../commander/handlers/tick.js';
import { captureLines, type RecordedCall, startFakeApi } from '../bots/fake-api.js';
import { waitFor } from '../helpers/wait.js';
import { TOKEN, enrollRequest, httpEvent, startDynalite } from './helpers.js';

const SLACK = {
  botToken: 'xoxb-4444555566-7777888899-AaBbCcDdEeFfGgHhIiJjKkLl',
  signingSecret: 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
};
const TELEGRAM = {
  botToken: '7000111222:AAE-lambdaTokenValue_0123456789abcd',
  webhookSecret: 'lambda-hook-secret-1',
};
const SESSION = 'session-token-for-the-extension';
const PLACEHOLDER = 'Q8z!randomPlaceholderFromCdk#42';
const SECRETS: Record<string, string> = {
  'arn:slack-bot': SLACK.botToken,
  'arn:slack-signing': SLACK.signingSecret,
  'arn:telegram-bot': TELEGRAM.botToken,
  'arn:telegram-hook': TELEGRAM.webhookSecret,
  'arn:placeholder': PLACEHOLDER,
};
const ENV_KEYS: string[] = [];

let db: Awaited<ReturnType<typeof startDynalite>>;
let slackApi: Awaited<ReturnType<typeof startFakeApi>>;
let telegramApi: Awaited<ReturnType<typeof startFakeApi>>;
let extension: Server;
const extensionCalls: string[] = [];

function setEnv(values: Record<string, string>) {
  for (const [k, v] of Object.entries(values)) {
    ENV_KEYS.push(k);
    process.env[k] = v;
  }
}

beforeAll(async () => {
  db = await startDynalite();
  await ensureTable(createDynamoClient({ endpoint: db.endpoint }), 'lambda-chat');
  slackApi = await startFakeApi((call) => ({ ok: true, channel: call.body.channel, ts: '6000.000100' }));
  telegramApi = await startFakeApi((call: RecordedCall) =>
    call.method === 'sendMessage'
      ? { ok: true, result: { message_id: 31, date: 1, chat: { id: -500, type: 'group' } } }
      : { ok: true, result: true },
  );
  extension = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('secretId') ?? '';
    extensionCalls.push(id);
    const ok = req.headers['x-aws-parameters-secrets-token'] === SESSION && id in SECRETS;
    res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { SecretString: SECRETS[id] } : { message: 'no' }));
  });
  await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));
  setEnv({
    BEAM_TABLE_NAME: 'lambda-chat',
    BEAM_DYNAMODB_ENDPOINT: db.endpoint,
    BEAM_ENROLLMENT_TOKEN: TOKEN,
    BEAM_LOG_LEVEL: 'warn',
    BEAM_SETTINGS_JSON: JSON.stringify({
      chat: [{ platform: 'telegram', chat: '-500' }],
      access: {
        slack: { users: { UOPS: 'operator' }, chats: ['COPS'] },
        telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
      },
    }),
    // The variables the CDK stack sets: one secret id per value.
    BEAM_SLACK_BOT_TOKEN_SECRET: 'arn:slack-bot',
    BEAM_SLACK_SIGNING_SECRET_SECRET: 'arn:slack-signing',
    SLACK_BOT_ID: 'B0LAMBDA',
    SLACK_BOT_USER_ID: 'U0LAMBDA',
    SLACK_API_URL: `${slackApi.url}/api/`,
    BEAM_TELEGRAM_BOT_TOKEN_SECRET: 'arn:telegram-bot',
    BEAM_TELEGRAM_WEBHOOK_SECRET_SECRET: 'arn:telegram-hook',
    TELEGRAM_BOT_USERNAME: 'beam_lambda_bot',
    TELEGRAM_API_ROOT: telegramApi.url,
    AWS_SESSION_TOKEN: SESSION,
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
  });
});

afterAll(async () => {
  for (const key of ENV_KEYS) delete process.env[key];
  await slackApi?.close();
  await telegramApi?.close();
  await new Promise<void>((resolve) => extension?.close(() => resolve()));
  await db?.close();
});

describe('Lambda chat routes from the environment', () => {
  it('answers a signed Slack slash command with credentials from Secrets Manager', async () => {
    const body = new URLSearchParams({
      channel_id: 'COPS',
      user_id: 'UOPS',
      user_name: 'uops',
      command: '/beam',
      text: 'nodes',
      response_url: `${slackApi.url}/respond/l1`,
      trigger_id: 'lambda-1',
    }).toString();
    const ts = Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', SLACK.signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const result = await httpHandler(
      httpEvent('POST', '/slack/events', body, {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signature,
      }),
    );
    expect(result.statusCode).toBe(200);
    const post = await waitFor(() => slackApi.of('chat.postMessage')[0], 'the reply');
    expect(post.headers.authorization).toBe(`Bearer ${SLACK.botToken}`);
    expect(post.body).toMatchObject({ channel: 'COPS', text: '0 nodes' });
    expect(extensionCalls.sort()).toEqual([
      'arn:slack-bot',
      'arn:slack-signing',
      'arn:telegram-bot',
      'arn:telegram-hook',
    ]);
  });

  it('takes Telegram updates with the webhook secret, and posts the commander’s notices to Telegram', async () => {
    const update = {
      update_id: 1,
      message: {
        message_id: 1,
        date: 1,
        chat: { id: -500, type: 'group' },
        from: { id: 1001, is_bot: false, first_name: 'Op' },
        text: '/help',
      },
    };
    const headers = { 'x-telegram-bot-api-secret-token': TELEGRAM.webhookSecret };
    expect(
      (await httpHandler(httpEvent('POST', '/telegram/webhook', JSON.stringify(update), headers))).statusCode,
    ).toBe(200);
    const help = await waitFor(() => telegramApi.of('sendMessage')[0], 'the help reply');
    expect(String(help.body.text)).toContain('confirm-failover');
    expect(help.path).toBe(`/bot${TELEGRAM.botToken}/sendMessage`);
    // A pending enrollment is announced in the routed Telegram chat, with buttons.
    await httpHandler(
      httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(enrollRequest({ name: 'val-7' }))),
    );
    const notice = await waitFor(
      () => telegramApi.of('sendMessage').find((c) => String(c.body.text).includes('val-7 asks to join')),
      'the enrollment notice',
    );
    expect(JSON.stringify(notice.body.reply_markup)).toContain('callback_data');
    // The tick Lambda builds its chat transports from the same environment.
    await expect(tickHandler({})).resolves.toMatchObject({ nodes: 1 });
  });

  it('names the variable, never the value, when the chat environment is wrong', async () => {
    await expect(chatSecretsFromEnv({ SLACK_BOT_TOKEN: SLACK.botToken })).rejects.toThrow(
      /Slack needs SLACK_SIGNING_SECRET .* or SLACK_APP_TOKEN/,
    );
    const bad = chatSecretsFromEnv({ TELEGRAM_BOT_TOKEN: 'not a token at all' });
    await expect(bad).rejects.toThrow(/TELEGRAM_BOT_TOKEN: use the token BotFather gave/);
    await expect(bad).rejects.not.toThrow(/not a token at all/);
  });

  it('leaves a platform out, and says why, when its secret still holds the deploy-time placeholder', async () => {
    const lines = captureLines();
    const { secrets } = await lambdaChat(
      { ...process.env, BEAM_TELEGRAM_BOT_TOKEN_SECRET: 'arn:placeholder' },
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
