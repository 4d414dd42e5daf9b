/**
 * The self-hosted commander's chat: Slack over Socket Mode, Telegram by long polling and the console,
 * all feeding one ChatOps, against loopback Slack and Telegram fakes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleChat } from '../../bots/console.js';
import type { InputHandler } from '../../bots/model.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { type RecordedCall, startFakeApi } from '../bots/fake-api.js';
import { startFakeSocketMode } from '../bots/fake-socket-mode.js';
import { waitFor } from '../helpers/wait.js';
import { TOKEN, enrollRequest } from './helpers.js';

const SLACK_BOT_TOKEN = 'xoxb-9988776655-1122334455-ZyXwVuTsRqPoNmLkJiHgFeDc';
const SLACK_APP_TOKEN = 'xapp-1-A0BEAM12345-9876543210123-fedcba9876543210fedcba9876543210';
const TELEGRAM_BOT_TOKEN = '5550001111:AAG-pOlKiJuHyGtFrDeSwAqZxCvBnM12345';

const stateDir = mkdtempSync(join(tmpdir(), 'beam-serve-chat-'));
let socket: Awaited<ReturnType<typeof startFakeSocketMode>>;
let slackApi: Awaited<ReturnType<typeof startFakeApi>>;
let telegramApi: Awaited<ReturnType<typeof startFakeApi>>;
let running: RunningCommander | undefined;
let consoleOut = '';
const consoleIn = new PassThrough();
let delivered = false;

function telegramAnswer(call: RecordedCall) {
  if (call.method === 'getUpdates' && !delivered) {
    delivered = true;
    return {
      ok: true,
      result: [
        {
          update_id: 77,
          message: {
            message_id: 1,
            date: 1,
            chat: { id: -500, type: 'group' },
            from: { id: 1001, is_bot: false, first_name: 'Op' },
            text: '/nodes',
          },
        },
      ],
    };
  }
  if (call.method === 'getUpdates') return { ok: true, result: [] };
  if (call.method === 'sendMessage') {
    return { ok: true, result: { message_id: 9, date: 1, chat: { id: -500, type: 'group' } } };
  }
  return { ok: true, result: true };
}

beforeAll(async () => {
  process.env.BEAM_LOG_LEVEL = 'warn';
  socket = await startFakeSocketMode();
  slackApi = await startFakeApi((call) =>
    call.method === 'apps.connections.open'
      ? { ok: true, url: socket.url }
      : { ok: true, channel: call.body.channel, ts: '4000.000100' },
  );
  telegramApi = await startFakeApi(telegramAnswer);
  const output = new PassThrough();
  output.on('data', (d: Buffer) => {
    consoleOut += d.toString('utf8');
  });
  let handler: InputHandler = async () => undefined;
  const consoleChat = startConsoleChat({ input: consoleIn, output, user: 'me' }, (input) => handler(input));
  const config = ServeConfig.parse({
    listen: '127.0.0.1:0',
    stateDir,
    tick: '0 0 0 1 1 *',
    settings: {
      enrollmentToken: TOKEN,
      chat: [{ platform: 'console', chat: 'console' }],
      access: {
        slack: { teamId: 'T1', users: { UOPS: 'operator' }, chats: ['COPS'] },
        telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
        console: { users: { me: 'admin' }, chats: ['console'] },
      },
    },
  });
  running = await serve(config, {
    transports: { console: consoleChat.transport },
    env: {
      SLACK_BOT_TOKEN,
      SLACK_APP_TOKEN,
      SLACK_BOT_ID: 'B0BEAM',
      SLACK_BOT_USER_ID: 'U0BEAM',
      SLACK_API_URL: `${slackApi.url}/api/`,
      TELEGRAM_BOT_TOKEN,
      TELEGRAM_BOT_USERNAME: 'beam_fleet_bot',
      TELEGRAM_API_ROOT: telegramApi.url,
    },
  });
  handler = running.chat;
});

afterAll(async () => {
  consoleIn.end();
  await running?.close();
  await socket?.close();
  await slackApi?.close();
  await telegramApi?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('beam-commander serve with chat', () => {
  it('serves Slack over Socket Mode (no /slack/events route)', async () => {
    expect(slackApi.of('apps.connections.open')[0]?.headers.authorization).toBe(`Bearer ${SLACK_APP_TOKEN}`);
    await waitFor(() => socket.connected(), 'the socket connected', { timeoutMs: 5000 });
    socket.send({
      envelope_id: 'env-serve',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
        team_id: 'T1',
        channel_id: 'COPS',
        user_id: 'UOPS',
        user_name: 'uops',
        command: '/beam',
        text: 'help failover',
        response_url: `${slackApi.url}/respond/serve`,
        trigger_id: 'serve-trigger',
      },
    });
    const post = await waitFor(() => slackApi.of('chat.postMessage')[0], 'the reply', { timeoutMs: 5000 });
    expect(post.body).toMatchObject({ channel: 'COPS', text: 'help failover' });
    const res = await fetch(`${running!.url}/slack/events`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(404);
  });

  it('polls Telegram when no webhook secret is set (no /telegram/webhook route)', async () => {
    const sent = await waitFor(() => telegramApi.of('sendMessage')[0], 'the reply to /nodes', {
      timeoutMs: 5000,
    });
    expect(String(sent.body.chat_id)).toBe('-500');
    expect(String(sent.body.text)).toContain('0 nodes');
    // At start: the command menu, then polling (which drops any webhook); never a webhook of its own.
    expect(telegramApi.calls.slice(0, 2).map((c) => c.method)).toEqual(['setMyCommands', 'deleteWebhook']);
    expect(telegramApi.of('setMyCommands')[0]?.body.commands).toContainEqual(
      expect.objectContaining({ command: 'rotate_ip' }),
    );
    expect(telegramApi.of('setWebhook')).toHaveLength(0);
    expect(telegramApi.of('getMe')).toHaveLength(0);
    const res = await fetch(`${running!.url}/telegram/webhook`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });

  it('runs console lines through ChatOps, and a numbered choice presses the commander’s button', async () => {
    consoleIn.write('status\n');
    await waitFor(() => consoleOut.includes('No approved nodes yet'), 'the status reply', {
      timeoutMs: 5000,
    });
    const res = await fetch(`${running!.url}/v1/pilot/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(enrollRequest({ name: 'val-9' })),
    });
    expect(res.status).toBe(202);
    await waitFor(
      () => consoleOut.includes('Node val-9 asks to join') && consoleOut.includes('1) Approve'),
      'buttons',
      {
        timeoutMs: 5000,
      },
    );
    consoleIn.write('1\n');
    await waitFor(
      async () => (await running!.deps.store.getNode('val-9'))?.value.status === 'approved',
      'val-9 approved from the console',
      { timeoutMs: 5000 },
    );
    await waitFor(() => consoleOut.includes('Approval of val-9: accepted'), 'the answer', {
      timeoutMs: 5000,
    });
  });
});
