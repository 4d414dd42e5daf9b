import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotLogger } from '../../bots/log.js';
import { commandText, createTelegramBot } from '../../bots/telegram/bot.js';
import { renderTelegram } from '../../bots/telegram/html.js';
import { waitFor } from '../helpers/wait.js';
import { chatopsFixture } from './chatops-fixture.js';
import { captureLines, type RecordedCall, startFakeApi } from './fake-api.js';

const BOT_TOKEN = '7351112233:AAHk3vQd9XyZ_w2LmNoPqRsTuVwXyZabcde';
const WEBHOOK_SECRET = 'hook-secret-4f1c2d7e9a0b';
const botInfo = {
  id: 7351112233,
  is_bot: true as const,
  first_name: 'Beam',
  username: 'beam_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
};
const from = { id: 1001, is_bot: false, first_name: 'Op', username: 'op' };
const chat = { id: -500, type: 'group', title: 'ops' };

/** A user who never opened a chat with the bot: Telegram refuses messages to them. */
const NEVER_STARTED = 4343;

/** Bot API answers: messages get increasing ids, everything else `true`. */
function botApi() {
  let messageId = 100;
  return (call: RecordedCall) => {
    if (call.method === 'sendMessage' && call.body.chat_id === String(NEVER_STARTED)) {
      return {
        status: 403,
        body: {
          ok: false,
          error_code: 403,
          description: "Forbidden: bot can't initiate conversation with a user",
        },
      };
    }
    if (call.method === 'sendMessage') {
      return { ok: true, result: { message_id: ++messageId, date: 1, chat, text: call.body.text } };
    }
    if (call.method === 'getUpdates') return { ok: true, result: [] };
    return { ok: true, result: true };
  };
}

const message = (updateId: number, text: string) => ({
  update_id: updateId,
  message: { message_id: updateId, date: 1, chat, from, text },
});
const callback = (updateId: number, data: string, messageId: number) => ({
  update_id: updateId,
  callback_query: {
    id: `cb-${updateId}`,
    from,
    chat_instance: 'ci',
    data,
    message: { message_id: messageId, date: 1, chat, text: 'x' },
  },
});
const headers = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET };

describe('Telegram webhook (Telegraf) against a loopback Bot API', () => {
  let fake: Awaited<ReturnType<typeof startFakeApi>>;
  let t: ReturnType<typeof chatopsFixture>;
  let bot: ReturnType<typeof createTelegramBot>;
  const rejections: string[] = [];
  const log = captureLines();

  beforeAll(async () => {
    fake = await startFakeApi(botApi());
    t = chatopsFixture();
    bot = createTelegramBot(
      {
        botToken: BOT_TOKEN,
        botInfo,
        apiRoot: fake.url,
        webhookSecret: WEBHOOK_SECRET,
        logger: createBotLogger({ secrets: [BOT_TOKEN, WEBHOOK_SECRET], destination: log.stream }),
        onRejected: (r) => rejections.push(r.reason),
      },
      t.chatops.handle,
    );
  });
  afterAll(async () => {
    await fake.close();
  });

  const deliver = (update: unknown, h: Record<string, string> = headers) =>
    bot.webhook({ headers: h, body: JSON.stringify(update) });

  it('asks for confirmation of /failover; the Confirm press edits the message and answers the callback', async () => {
    expect((await deliver(message(1, '/failover@beam_bot to val-2'))).status).toBe(200);
    const [sent] = fake.of('sendMessage');
    expect(sent?.path).toBe(`/bot${BOT_TOKEN}/sendMessage`);
    expect(sent?.body).toMatchObject({
      chat_id: '-500',
      parse_mode: 'HTML',
      reply_markup: {
        inline_keyboard: [
          [
            { text: 'Confirm', callback_data: 'id1:ok' },
            { text: 'Cancel', callback_data: 'id1:no' },
          ],
        ],
      },
    });
    expect(sent?.body.text).toContain('<b>⚠️ Confirm: failover to val-2</b>');

    expect((await deliver(callback(2, 'id1:ok', 101))).status).toBe(200);
    const methods = fake.calls.map((c) => c.method);
    expect(methods.slice(-2)).toEqual(['editMessageText', 'answerCallbackQuery']);
    expect(fake.of('answerCallbackQuery')[0]?.body).toEqual({ callback_query_id: 'cb-2' });
    expect(fake.of('editMessageText')[0]?.body).toMatchObject({
      chat_id: '-500',
      message_id: 101,
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [] },
    });
    expect(fake.of('editMessageText')[0]?.body.text).toContain('Failover to val-2: accepted');
    expect(t.fleet.calls).toEqual([{ method: 'requestFailover', args: { to: 'val-2', by: '1001' } }]);

    // Telegram redelivers update 2: ignored. A second press (new update) acts no more, and its refusal
    // is an alert on the presser's screen only, never a message in the group.
    const before = fake.calls.length;
    expect((await deliver(callback(2, 'id1:ok', 101))).status).toBe(200);
    expect(fake.calls.length).toBe(before);
    const sends = fake.of('sendMessage').length;
    expect((await deliver(callback(3, 'id1:ok', 101))).status).toBe(200);
    expect(fake.of('answerCallbackQuery')).toHaveLength(2);
    expect(fake.of('answerCallbackQuery')[1]?.body).toMatchObject({
      callback_query_id: 'cb-3',
      show_alert: true,
    });
    expect(String(fake.of('answerCallbackQuery')[1]?.body.text)).toContain(
      'this button has expired or was already used',
    );
    expect(fake.of('sendMessage')).toHaveLength(sends);
    expect(t.fleet.calls).toHaveLength(1);
    expect(fake.of('getMe')).toHaveLength(0);
  });

  it('accepts /beam <command>, escapes HTML, and ignores commands for other bots', async () => {
    await deliver(message(10, '/beam proposals'));
    const sent = fake.of('sendMessage').at(-1);
    expect(sent?.body.text).toContain('Proposal 42: Raise the &lt;block&gt; size &amp; more');
    const before = fake.calls.length;
    await deliver(message(11, '/status@other_bot'));
    await deliver(message(12, 'just chatting'));
    expect(fake.calls.length).toBe(before);
  });

  it('answers a refused command in the sender’s private chat with the bot, never in the group', async () => {
    const stranger = { id: 4242, is_bot: false, first_name: 'Eve', username: 'eve' };
    const update = (id: number, text: string) => ({
      update_id: id,
      message: { message_id: id, date: 1, chat, from: stranger, text },
    });
    const toGroup = () => fake.of('sendMessage').filter((c) => c.body.chat_id === '-500').length;
    const inGroup = toGroup();
    expect((await deliver(update(15, '/switchover'))).status).toBe(200);
    const dm = await waitFor(
      () => fake.of('sendMessage').find((c) => c.body.chat_id === '4242'),
      'the private refusal',
    );
    expect(String(dm.body.text)).toContain('user 4242 has no role on telegram');
    expect(toGroup()).toBe(inGroup);
    expect(t.audit.entries.at(-1)).toMatchObject({ userId: '4242', allowed: false });
    // Someone the bot may not write to gets no answer at all: still nothing in the group.
    const silent = { ...stranger, id: NEVER_STARTED };
    const unreachable = {
      update_id: 16,
      message: { message_id: 16, date: 1, chat, from: silent, text: '/status' },
    };
    expect((await deliver(unreachable)).status).toBe(200);
    await waitFor(() => log.lines.some((l) => l.includes('private answer not delivered')), 'the log line');
    expect(toGroup()).toBe(inGroup);
  });

  it('refuses requests without the secret-token header, with a wrong one, or with a bad body', async () => {
    rejections.length = 0;
    const before = { calls: fake.calls.length, audit: t.audit.entries.length };
    const { 'x-telegram-bot-api-secret-token': _, ...noSecret } = headers;
    expect((await deliver(message(20, '/switchover'), noSecret)).status).toBe(401);
    expect(
      (
        await deliver(message(21, '/switchover'), {
          ...headers,
          'x-telegram-bot-api-secret-token': 'hook-secret-x',
        })
      ).status,
    ).toBe(401);
    expect((await bot.webhook({ headers, body: '{"update_id": "x"}' })).status).toBe(400);
    expect(rejections).toEqual(['missing secret', 'wrong secret', 'unparseable']);
    expect(fake.calls.length).toBe(before.calls);
    expect(t.audit.entries.length).toBe(before.audit);
  });

  it('still answers 200 when handling fails, logging without the token', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const lines = captureLines();
    const failing = createTelegramBot(
      {
        botToken: BOT_TOKEN,
        botInfo,
        apiRoot: `http://127.0.0.1:${closed}`,
        webhookSecret: WEBHOOK_SECRET,
        logger: createBotLogger({
          secrets: [BOT_TOKEN, WEBHOOK_SECRET],
          destination: lines.stream,
          level: 'debug',
        }),
      },
      t.chatops.handle,
    );
    expect((await failing.webhook({ headers, body: JSON.stringify(message(30, '/status')) })).status).toBe(
      200,
    );
    await failing.webhook({ headers: { 'x-telegram-bot-api-secret-token': 'nope' }, body: '{}' });
    await waitFor(
      () => lines.lines.some((l) => l.includes('handling an update failed')),
      'the failure logged',
    );
    for (const line of [...lines.lines, ...log.lines]) {
      expect(line).not.toContain(BOT_TOKEN);
      expect(line).not.toContain(WEBHOOK_SECRET);
    }
  });
});

describe('Telegram long polling', () => {
  it('deletes the webhook, polls updates and answers them', async () => {
    let delivered = false;
    const answer = botApi();
    const fake = await startFakeApi((call) => {
      if (call.method === 'getUpdates' && !delivered) {
        delivered = true;
        return { ok: true, result: [message(50, '/nodes')] };
      }
      return answer(call);
    });
    const t = chatopsFixture();
    const bot = createTelegramBot(
      {
        botToken: BOT_TOKEN,
        botInfo,
        apiRoot: fake.url,
        logger: createBotLogger({ secrets: [BOT_TOKEN], destination: captureLines().stream }),
      },
      t.chatops.handle,
    );
    try {
      await bot.startPolling();
      const sent = await waitFor(() => fake.of('sendMessage')[0], 'the reply to /nodes', {
        timeoutMs: 10_000,
      });
      expect(sent.body.text).toContain('3 nodes');
      expect(fake.calls[0]?.method).toBe('deleteWebhook');
      expect(fake.of('getMe')).toHaveLength(0);
    } finally {
      await bot.stop();
      await fake.close();
    }
  });
});

describe('Telegram rendering', () => {
  it('renders HTML with escaping and enforces the 64-byte callback_data limit', () => {
    const rendered = renderTelegram({
      title: 'A <b> & "c"',
      fields: [{ label: 'x<y', value: '1 & 2' }],
      preformatted: 'a < b',
      links: [
        { url: 'https://e.example/?a=1&b="2"', label: 'link' },
        { url: 'https://e.example/v', label: 'validator' },
      ],
      context: 'small',
      buttons: [{ id: 'id:ok', label: 'OK' }],
    });
    expect(rendered.text).toBe(
      [
        '<b>A &lt;b&gt; &amp; &quot;c&quot;</b>',
        '<b>x&lt;y:</b> 1 &amp; 2',
        '<pre>a &lt; b</pre>',
        '<a href="https://e.example/?a=1&amp;b=&quot;2&quot;">link</a> · <a href="https://e.example/v">validator</a>',
        '<i>small</i>',
      ].join('\n\n'),
    );
    expect(rendered.reply_markup).toEqual({ inline_keyboard: [[{ text: 'OK', callback_data: 'id:ok' }]] });
    expect(() => renderTelegram({ title: 't', buttons: [{ id: 'é'.repeat(33), label: 'long' }] })).toThrow(
      /66 bytes; Telegram's callback_data takes 1–64/,
    );
  });

  it('maps Telegram commands to Beam command lines', () => {
    expect(commandText('/status', 'beam_bot')).toBe('status');
    expect(commandText('/beam vote 42 yes', 'beam_bot')).toBe('vote 42 yes');
    expect(commandText('/rotate_ip@Beam_Bot sentry-a', 'beam_bot')).toBe('rotate-ip sentry-a');
    expect(commandText('/status@other_bot', 'beam_bot')).toBeUndefined();
    expect(commandText('hello', 'beam_bot')).toBeUndefined();
    expect(commandText('/start', 'beam_bot')).toBe('help');
  });
});
