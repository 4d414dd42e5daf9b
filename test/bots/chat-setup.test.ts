/**
 * Setting the platforms up: the Slack app manifest against the shape Slack's manifest schema
 * requires, and the Telegram command menu and webhook against the loopback Bot API.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beamSlackManifest, setUpTelegram, telegramCommands } from '../../commander/chat-setup.js';
import { COMMAND_NAMES } from '../../commander/chatops/commands.js';
import { commandText } from '../../bots/telegram/bot.js';
import { startFakeApi } from './fake-api.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../commander/cli.ts');
const BOT_TOKEN = '7351112233:AAHk3vQd9XyZ_w2LmNoPqRsTuVwXyZabcde';
const WEBHOOK_SECRET = 'hook-secret-4f1c2d7e9a0b';

const Https = z.url({ protocol: /^https$/ });
/** Slack's app manifest schema (api.slack.com/reference/manifests), for the keys Beam writes. */
const SlackManifestShape = z.strictObject({
  _metadata: z.strictObject({ major_version: z.literal(1), minor_version: z.number().int() }).optional(),
  display_information: z.strictObject({
    name: z.string().min(1).max(35),
    description: z.string().max(140).optional(),
    background_color: z
      .string()
      .regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/)
      .optional(),
  }),
  features: z.strictObject({
    bot_user: z.strictObject({
      display_name: z.string().regex(/^[a-z0-9._-]{1,80}$/),
      always_online: z.boolean(),
    }),
    slash_commands: z
      .array(
        z.strictObject({
          command: z.string().regex(/^\/[a-z0-9_-]{1,31}$/),
          description: z.string().min(1).max(2000),
          usage_hint: z.string().max(1000).optional(),
          should_escape: z.boolean().optional(),
          url: Https.optional(),
        }),
      )
      .max(50),
  }),
  oauth_config: z.strictObject({
    scopes: z.strictObject({ bot: z.array(z.string().regex(/^[a-z.:]+$/)).max(255) }),
  }),
  settings: z.strictObject({
    interactivity: z.strictObject({ is_enabled: z.boolean(), request_url: Https.optional() }),
    org_deploy_enabled: z.boolean(),
    socket_mode_enabled: z.boolean(),
    token_rotation_enabled: z.boolean(),
  }),
});

describe('beam-commander slack manifest', () => {
  it('prints a manifest for the deployed commander: /beam and buttons at POST /slack/events', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', CLI, 'slack', 'manifest', '--url', 'https://beam.example.com/'],
      { timeout: 30_000 },
    );
    const manifest = SlackManifestShape.parse(JSON.parse(stdout));
    expect(manifest.features.slash_commands).toEqual([
      expect.objectContaining({ command: '/beam', url: 'https://beam.example.com/slack/events' }),
    ]);
    expect(manifest.settings).toMatchObject({
      interactivity: { is_enabled: true, request_url: 'https://beam.example.com/slack/events' },
      socket_mode_enabled: false,
    });
    expect(manifest.oauth_config.scopes.bot).toEqual(['chat:write', 'commands']);
  });

  it('for Socket Mode: no request URLs, socket mode on, interactivity still on', () => {
    const manifest = SlackManifestShape.parse(beamSlackManifest());
    expect(manifest.features.slash_commands[0]).not.toHaveProperty('url');
    expect(manifest.settings).toEqual({
      interactivity: { is_enabled: true },
      org_deploy_enabled: false,
      socket_mode_enabled: true,
      token_rotation_enabled: false,
    });
  });
});

describe('Telegram setup against the loopback Bot API', () => {
  let fake: Awaited<ReturnType<typeof startFakeApi>>;
  beforeAll(async () => {
    fake = await startFakeApi(() => ({ ok: true, result: true }));
  });
  afterAll(async () => {
    await fake.close();
  });

  it('sets the command menu from the command language and the webhook with its secret token', async () => {
    await setUpTelegram(
      { botToken: BOT_TOKEN, webhookSecret: WEBHOOK_SECRET, apiRoot: fake.url },
      'https://beam.example.com',
    );
    expect(fake.calls.map((c) => c.path)).toEqual([
      `/bot${BOT_TOKEN}/setMyCommands`,
      `/bot${BOT_TOKEN}/setWebhook`,
    ]);
    const [menu] = fake.of('setMyCommands');
    const commands = (menu!.body as { commands: { command: string; description: string }[] }).commands;
    expect(commands).toEqual(telegramCommands());
    // Every command of the language, in Telegram's alphabet, and each maps back to its name.
    expect(commands.map((c) => commandText(`/${c.command}`, 'beam_bot'))).toEqual(COMMAND_NAMES);
    for (const c of commands) {
      expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
    // Arguments lead the description: Telegram's menu shows no usage line of its own.
    expect(commands.find((c) => c.command === 'rotate_ip')?.description).toMatch(/^<sentry>: \S/);
    expect(fake.of('setWebhook')[0]!.body).toEqual({
      url: 'https://beam.example.com/telegram/webhook',
      secret_token: WEBHOOK_SECRET,
      allowed_updates: ['message', 'callback_query'],
    });
  });

  it('without a public URL only the menu; a webhook without its secret is refused', async () => {
    const before = fake.calls.length;
    await setUpTelegram({ botToken: BOT_TOKEN, apiRoot: fake.url });
    expect(fake.calls.slice(before).map((c) => c.method)).toEqual(['setMyCommands']);
    await expect(
      setUpTelegram({ botToken: BOT_TOKEN, apiRoot: fake.url }, 'https://beam.example.com'),
    ).rejects.toThrow(/TELEGRAM_WEBHOOK_SECRET/);
  });
});
