import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotLogger } from '../../bots/log.js';
import { startSlackSocketMode } from '../../bots/slack/app.js';
import { waitFor } from '../helpers/wait.js';
import { chatopsFixture } from './chatops-fixture.js';
import { captureLines, startFakeApi } from './fake-api.js';
import { startFakeSocketMode } from './fake-socket-mode.js';

const BOT_TOKEN = 'xoxb-2718281828-3141592653-AbCdEfGhIjKlMnOpQrStUvWx';
const APP_TOKEN = 'xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef';

describe('Slack Socket Mode, sharing the listeners of the Lambda route', () => {
  let socket: Awaited<ReturnType<typeof startFakeSocketMode>>;
  let api: Awaited<ReturnType<typeof startFakeApi>>;
  let stop: (() => Promise<void>) | undefined;
  const log = captureLines();

  beforeAll(async () => {
    socket = await startFakeSocketMode();
    api = await startFakeApi((call) =>
      call.method === 'apps.connections.open'
        ? { ok: true, url: socket.url }
        : { ok: true, channel: call.body.channel, ts: '2000.000100' },
    );
  });
  afterAll(async () => {
    await stop?.();
    await socket.close();
    await api.close();
  });

  it('connects with the app token, acks an envelope and posts the reply', async () => {
    const t = chatopsFixture();
    const started = await startSlackSocketMode(
      {
        botToken: BOT_TOKEN,
        appToken: APP_TOKEN,
        botId: 'B01',
        botUserId: 'U0BOT',
        slackApiUrl: `${api.url}/api/`,
        retries: 0,
        workspace: { teamId: 'T1' },
        logger: createBotLogger({ secrets: [BOT_TOKEN, APP_TOKEN], destination: log.stream, level: 'debug' }),
      },
      t.chatops.handle,
    );
    stop = started.stop;
    expect(api.of('apps.connections.open')[0]?.headers.authorization).toBe(`Bearer ${APP_TOKEN}`);

    socket.send({
      envelope_id: 'env-1',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
        team_id: 'T1',
        channel_id: 'COPS',
        user_id: 'UOPS',
        user_name: 'uops',
        command: '/beam',
        text: 'nodes',
        response_url: `${api.url}/respond/sm`,
        trigger_id: 'sm-trigger',
        api_app_id: 'A1',
      },
    });
    const ack = await waitFor(() => socket.received.find((m) => m.envelope_id === 'env-1'), 'the ack', {
      timeoutMs: 5000,
    });
    expect(ack).toEqual({ envelope_id: 'env-1', payload: {} });
    const post = await waitFor(() => api.of('chat.postMessage')[0], 'chat.postMessage', { timeoutMs: 5000 });
    expect(post.body).toMatchObject({ channel: 'COPS', text: '3 nodes' });
    expect(post.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(api.of('auth.test')).toHaveLength(0);
    for (const line of log.lines) {
      expect(line).not.toContain(BOT_TOKEN);
      expect(line).not.toContain(APP_TOKEN);
    }
  });
});
