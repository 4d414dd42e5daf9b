import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotLogger } from '../../bots/log.js';
import { renderSlack } from '../../bots/slack/blocks.js';
import { createSlackRoute, type SlackRejection } from '../../bots/slack/app.js';
import { waitFor } from '../helpers/wait.js';
import { chatopsFixture } from './chatops-fixture.js';
import { captureLines, startFakeApi } from './fake-api.js';

const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const BOT_TOKEN = 'xoxb-2718281828-3141592653-AbCdEfGhIjKlMnOpQrStUvWx';

function signed(body: string, { secret = SIGNING_SECRET, ts = Math.floor(Date.now() / 1000) } = {}) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': signature,
  };
}

describe('Slack route (Bolt AwsLambdaReceiver) against a loopback Slack Web API', () => {
  let ts = 1000;
  let fake: Awaited<ReturnType<typeof startFakeApi>>;
  let t: ReturnType<typeof chatopsFixture>;
  let route: ReturnType<typeof createSlackRoute>;
  const rejections: SlackRejection[] = [];
  const log = captureLines();

  beforeAll(async () => {
    fake = await startFakeApi((call) =>
      call.path.startsWith('/respond/')
        ? { ok: true }
        : { ok: true, channel: call.body.channel, ts: String(call.body.ts ?? `${++ts}.000100`) },
    );
    t = chatopsFixture();
    route = createSlackRoute(
      {
        botToken: BOT_TOKEN,
        signingSecret: SIGNING_SECRET,
        botId: 'B01',
        botUserId: 'U0BOT',
        slackApiUrl: `${fake.url}/api/`,
        retries: 0,
        workspace: { teamId: 'T1' },
        logger: createBotLogger({
          secrets: [BOT_TOKEN, SIGNING_SECRET],
          destination: log.stream,
          level: 'debug',
        }),
        onRejected: (r) => rejections.push(r),
      },
      t.chatops.handle,
    );
  });
  afterAll(async () => {
    await fake.close();
  });

  const slash = (text: string, user = 'UOPS', trigger = `trig-${Math.random()}`, team = 'T1') =>
    new URLSearchParams({
      token: 'legacy',
      team_id: team,
      channel_id: 'COPS',
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/beam',
      text,
      response_url: `${fake.url}/respond/${trigger}`,
      trigger_id: trigger,
      api_app_id: 'A1',
    }).toString();

  const click = (value: string, messageTs: string, user = 'UOPS', trigger = `trig-${Math.random()}`) =>
    new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        team: { id: 'T1' },
        api_app_id: 'A1',
        token: 'legacy',
        user: { id: user, name: user.toLowerCase() },
        channel: { id: 'COPS', name: 'ops' },
        container: { type: 'message', message_ts: messageTs, channel_id: 'COPS' },
        message: { ts: messageTs, type: 'message', text: '' },
        trigger_id: trigger,
        response_url: `${fake.url}/respond/${trigger}`,
        actions: [{ type: 'button', action_id: `beam:${value}`, block_id: 'b1', value, action_ts: '1' }],
      }),
    }).toString();

  it('posts a confirmation for `/beam failover`, and a Confirm click updates it in place once', async () => {
    const body = slash('failover to val-2');
    const res = await route.handle({ headers: signed(body), body });
    expect(res.status).toBe(200);
    const post = await waitFor(() => fake.of('chat.postMessage')[0], 'chat.postMessage', { timeoutMs: 5000 });
    expect(post.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(post.body.channel).toBe('COPS');
    const blocks = post.body.blocks as { type: string; elements?: { value: string; style?: string }[] }[];
    expect(blocks.find((b) => b.type === 'actions')?.elements).toMatchObject([
      { value: 'id1:ok', style: 'danger' },
      { value: 'id1:no' },
    ]);
    const postedTs = '1001.000100';

    const press = click('id1:ok', postedTs, 'UOPS', 'trig-confirm');
    expect((await route.handle({ headers: signed(press), body: press })).status).toBe(200);
    const update = await waitFor(() => fake.of('chat.update')[0], 'chat.update', { timeoutMs: 5000 });
    expect(update.body).toMatchObject({ channel: 'COPS', ts: postedTs });
    expect(update.body.text).toBe('ℹ️ Failover to val-2: accepted');
    expect(t.fleet.calls).toEqual([{ method: 'requestFailover', args: { to: 'val-2', by: 'UOPS' } }]);

    // Slack retries the same delivery: handled once.
    const retry = { ...signed(press), 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' };
    expect((await route.handle({ headers: retry, body: press })).status).toBe(200);
    // A second, distinct click on the used button: refused privately through response_url.
    const again = click('id1:ok', postedTs, 'UOPS', 'trig-again');
    expect((await route.handle({ headers: signed(again), body: again })).status).toBe(200);
    const responded = await waitFor(
      () => fake.calls.find((c) => c.path === '/respond/trig-again'),
      'response_url',
    );
    expect(responded.body).toMatchObject({ response_type: 'ephemeral', text: '⚠️ Not allowed' });
    expect(JSON.stringify(responded.body.blocks)).toContain('this button has expired or was already used');
    expect(t.fleet.calls).toHaveLength(1);
    expect(fake.of('chat.update')).toHaveLength(1);
    expect(fake.calls.some((c) => c.path === '/respond/trig-confirm')).toBe(false);
    expect(log.lines.some((l) => l.includes('duplicate delivery ignored'))).toBe(true);
    expect(fake.of('auth.test')).toHaveLength(0);
  });

  it('answers unauthorized users ephemerally through response_url, never in the channel, and audits the refusal', async () => {
    const posts = fake.of('chat.postMessage').length;
    const body = slash('restart val-1', 'UNOBODY', 'trig-nobody');
    expect((await route.handle({ headers: signed(body), body })).status).toBe(200);
    const responded = await waitFor(
      () => fake.calls.find((c) => c.path === '/respond/trig-nobody'),
      'response_url',
    );
    expect(responded.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(responded.body.blocks)).toContain('user UNOBODY has no role on slack');
    expect(fake.of('chat.postMessage')).toHaveLength(posts);
    expect(t.audit.entries.at(-1)).toMatchObject({
      userId: 'UNOBODY',
      allowed: false,
      action: 'command restart val-1',
    });
  });

  it('decodes a base64 body as UTF-8 before Bolt sees it', async () => {
    const body = slash('vote 42 yes Grüße 👍 für alle');
    const res = await route.handle({
      headers: signed(body),
      body: Buffer.from(body, 'utf8').toString('base64'),
      isBase64Encoded: true,
    });
    expect(res.status).toBe(200);
    expect(t.fleet.calls.at(-1)).toEqual({
      method: 'recordVote',
      args: { proposalId: '42', option: 'yes', memo: 'Grüße 👍 für alle', by: 'UOPS' },
    });
  });

  it('refuses unsigned, stale, forged and future-dated requests with 401, reports them, and acts on none', async () => {
    const before = { calls: fake.calls.length, fleet: t.fleet.calls.length };
    rejections.length = 0;
    const body = slash('switchover');
    const now = Math.floor(Date.now() / 1000);
    const { 'x-slack-signature': _, ...unsignedHeaders } = signed(body);
    const cases = [
      unsignedHeaders,
      signed(body, { ts: now - 301 }),
      signed(body, { secret: 'not-the-signing-secret' }),
      { ...signed(body), 'x-slack-signature': signed(`${body}&text=failover`)['x-slack-signature'] },
      signed(body, { ts: now + 3600 }),
    ];
    for (const headers of cases) expect((await route.handle({ headers, body })).status).toBe(401);
    expect(rejections.map((r) => r.reason)).toEqual(['unsigned', 'stale', 'forged', 'forged', 'stale']);
    expect(fake.calls.length).toBe(before.calls);
    expect(t.fleet.calls.length).toBe(before.fleet);
  });

  it('answers a correctly signed request from another workspace 200 and does nothing (Slack would retry an error)', async () => {
    const before = { calls: fake.calls.length, fleet: t.fleet.calls.length, audit: t.audit.entries.length };
    rejections.length = 0;
    const command = slash('switchover', 'UADMIN', 'trig-foreign', 'T999');
    const res = await route.handle({ headers: signed(command), body: command });
    expect(res).toMatchObject({ status: 200, body: '' });
    const press = new URLSearchParams({
      payload: JSON.stringify({
        ...JSON.parse(new URLSearchParams(click('id1:ok', '1.1')).get('payload')!),
        team: { id: 'T999' },
      }),
    }).toString();
    expect((await route.handle({ headers: signed(press), body: press })).status).toBe(200);
    expect(rejections.map((r) => r.reason)).toEqual(['foreign workspace', 'foreign workspace']);
    // Nothing reached ChatOps, Slack or the audit; not even the delivery was remembered.
    expect(t.fleet.calls.length).toBe(before.fleet);
    expect(t.audit.entries.length).toBe(before.audit);
    expect(fake.calls.length).toBe(before.calls);
    expect(log.lines.some((l) => l.includes('request from another workspace refused'))).toBe(true);
  });

  it('checks the Enterprise Grid org too when one is configured', async () => {
    const grid = createSlackRoute(
      {
        botToken: BOT_TOKEN,
        signingSecret: SIGNING_SECRET,
        botId: 'B01',
        botUserId: 'U0BOT',
        slackApiUrl: `${fake.url}/api/`,
        retries: 0,
        workspace: { teamId: 'T1', enterpriseId: 'E1' },
        logger: createBotLogger({ secrets: [BOT_TOKEN], destination: captureLines().stream }),
        onRejected: (r) => rejections.push(r),
      },
      t.chatops.handle,
    );
    rejections.length = 0;
    const before = t.audit.entries.length;
    for (const enterprise of ['E2', '']) {
      const body = `${slash('status', 'UOPS', `trig-grid-${enterprise}`)}&enterprise_id=${enterprise}`;
      expect((await grid.handle({ headers: signed(body), body })).status).toBe(200);
    }
    expect(rejections.map((r) => r.reason)).toEqual(['foreign workspace', 'foreign workspace']);
    const ours = `${slash('status', 'UOPS', 'trig-grid-ok')}&enterprise_id=E1`;
    expect((await grid.handle({ headers: signed(ours), body: ours })).status).toBe(200);
    await waitFor(() => t.audit.entries.length > before, 'the command handled');
  });

  it('answers 400, not 500, to signed payloads Bolt cannot route, and still takes well-formed ones', async () => {
    const payload = JSON.parse(new URLSearchParams(click('status', '1.1')).get('payload')!);
    const form = (p: unknown) => new URLSearchParams({ payload: JSON.stringify(p) }).toString();
    const before = t.fleet.calls.length;
    rejections.length = 0;
    const bad = [
      { ...payload, channel: null }, // Bolt reads channel.id unless channel is undefined
      { ...payload, actions: [] }, // Bolt routes by actions[0]
      { ...payload, user: null },
      { type: 'view_submission', user: { id: 'UOPS' }, team: null },
      { event: { type: 'app_mention', user: null } },
      { event: { type: 'subteam_created', subteam: null } },
    ].map(form);
    for (const body of bad) expect((await route.handle({ headers: signed(body), body })).status).toBe(400);
    expect(rejections.map((r) => r.reason)).toEqual(bad.map(() => 'unparseable'));
    const { channel: _, ...withoutChannel } = payload; // the container names the channel
    const ok = form(withoutChannel);
    expect((await route.handle({ headers: signed(ok), body: ok })).status).toBe(200);
    expect(t.fleet.calls.length).toBe(before);
  });

  it('never writes the bot token or signing secret to a log line', async () => {
    // A failing Web API: chat.postMessage errors out and is logged at error level.
    const broken = await startFakeApi(() => ({ ok: false, error: 'invalid_auth' }));
    const lines = captureLines();
    const logger = createBotLogger({
      secrets: [BOT_TOKEN, SIGNING_SECRET],
      destination: lines.stream,
      level: 'debug',
    });
    try {
      const failing = createSlackRoute(
        {
          botToken: BOT_TOKEN,
          signingSecret: SIGNING_SECRET,
          botId: 'B01',
          botUserId: 'U0BOT',
          slackApiUrl: `${broken.url}/api/`,
          retries: 0,
          workspace: { teamId: 'T1' },
          logger,
        },
        t.chatops.handle,
      );
      const body = slash('status');
      expect((await failing.handle({ headers: signed(body), body })).status).toBe(200);
      await waitFor(
        () => lines.lines.some((l) => l.includes('handling an input failed')),
        'the failure logged',
      );
      const forged = signed(body, { secret: 'wrong' });
      expect((await failing.handle({ headers: forged, body })).status).toBe(401);
      logger.info(
        { botToken: BOT_TOKEN, nested: { signingSecret: SIGNING_SECRET } },
        `token ${BOT_TOKEN} in a message`,
      );
      logger.error(new Error(`request to ${broken.url}/bot${BOT_TOKEN}/x failed`));
      const all = [...lines.lines, ...log.lines];
      expect(all.length).toBeGreaterThan(4);
      for (const line of all) {
        expect(line).not.toContain(BOT_TOKEN);
        expect(line).not.toContain(SIGNING_SECRET);
      }
      expect(lines.lines.join('')).toContain('[redacted]');
    } finally {
      await broken.close();
    }
  });
});

describe('Block Kit rendering', () => {
  it('renders header, fields, preformatted, links, buttons and context', () => {
    const { text, blocks } = renderSlack({
      title: 'Proposal 42',
      severity: 'warning',
      text: 'a <b> & c',
      fields: [{ label: 'Ends', value: 'soon' }],
      preformatted: 'NODE  ROLE',
      links: [
        { url: 'https://explorer.example/42', label: 'proposal' },
        { url: 'https://explorer.example/tx/A|B', label: 'tx <1>' },
      ],
      buttons: [{ id: 'x:ok', label: 'Confirm', style: 'primary' }],
      context: 'by ops',
    });
    expect(text).toBe('⚠️ Proposal 42');
    expect(blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: '⚠️ Proposal 42' } },
      { type: 'section', text: { type: 'mrkdwn', text: 'a &lt;b&gt; &amp; c' } },
      { type: 'section', fields: [{ type: 'mrkdwn', text: '*Ends*\nsoon' }] },
      { type: 'section', text: { type: 'mrkdwn', text: '```NODE  ROLE```' } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '<https://explorer.example/42|proposal> · <https://explorer.example/tx/A%7CB|tx &lt;1&gt;>',
        },
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'beam:x:ok',
            text: { type: 'plain_text', text: 'Confirm' },
            value: 'x:ok',
            style: 'primary',
          },
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'by ops' }] },
    ]);
  });
});

describe("Slack's 3-second budget", () => {
  it('answers Slack within the budget while a slow handler finishes later', async () => {
    const fake = await startFakeApi((call) => ({ ok: true, channel: call.body.channel, ts: '3000.000100' }));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const route = createSlackRoute(
        {
          botToken: BOT_TOKEN,
          signingSecret: SIGNING_SECRET,
          botId: 'B01',
          botUserId: 'U0BOT',
          slackApiUrl: `${fake.url}/api/`,
          retries: 0,
          workspace: { teamId: 'T1' },
          budgetMs: 100,
          logger: createBotLogger({ secrets: [BOT_TOKEN], destination: captureLines().stream }),
        },
        async () => {
          await gate;
          return [{ message: { title: 'slow answer' } }];
        },
      );
      const body = new URLSearchParams({
        team_id: 'T1',
        channel_id: 'COPS',
        user_id: 'UOPS',
        user_name: 'uops',
        command: '/beam',
        text: 'status',
        response_url: `${fake.url}/respond/slow`,
        trigger_id: 'slow',
      }).toString();
      // The handler is blocked until released: the response can only come from the budget.
      const res = await route.handle({ headers: signed(body), body });
      expect(res.status).toBe(200);
      expect(fake.of('chat.postMessage')).toHaveLength(0);
      release();
      const post = await waitFor(() => fake.of('chat.postMessage')[0], 'the late reply', { timeoutMs: 5000 });
      expect(post.body.text).toBe('slow answer');
    } finally {
      release();
      await fake.close();
    }
  });
});
