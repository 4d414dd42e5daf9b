/**
 * Setting the chat platforms up for Beam: the Slack app manifest (`beam-commander slack manifest`)
 * and Telegram's command menu and webhook (`beam-commander telegram setup`, and `serve` at start).
 * Both are derived from the command language, so the menus list exactly what chatops understands.
 */
import * as z from 'zod';
import { type SlackManifest, slackManifest } from '../bots/slack/manifest.js';
import { type BotCommand, setUpTelegramBot } from '../bots/telegram/setup.js';
import type { TelegramSecrets } from './chat-env.js';
import { COMMAND_NAMES, COMMANDS } from './chatops/commands.js';

/** The commander's public base URL, as Slack and Telegram reach it (API Gateway's, or a proxy's). */
export const PublicUrl = z
  .url({ protocol: /^https$/, error: "use the commander's https base URL, e.g. https://beam.example.com" })
  .transform((url) => url.replace(/\/+$/, ''));

/** The menu Telegram shows on `/`: every command, `_` for `-` (Telegram allows no dashes; the bot maps them back). */
export function telegramCommands(): BotCommand[] {
  return COMMAND_NAMES.map((name) => {
    const { usage, summary } = COMMANDS[name];
    const args = usage.slice(name.length).trim();
    const description = args ? `${args}: ${summary}` : summary;
    return {
      command: name.replace(/-/g, '_'),
      description: description.length > 256 ? `${description.slice(0, 255)}…` : description,
    };
  });
}

/**
 * The Slack app manifest for a commander at `publicUrl` (checked with PublicUrl: slash command and
 * interactivity at `POST /slack/events`), or for Socket Mode without one.
 */
export function beamSlackManifest(publicUrl?: string): SlackManifest {
  return slackManifest({
    name: 'Beam',
    description: 'Runs and steers a Cosmos SDK validator fleet: /beam help lists the commands',
    command: {
      name: '/beam',
      description: 'Steer the Beam validator fleet',
      usageHint: 'status | nodes | node <name> | failover [to <node>] | proposals | help',
    },
    ...(publicUrl ? { requestUrl: `${publicUrl}/slack/events` } : {}),
  });
}

/**
 * Sets the bot's command menu and, with a public URL (checked with PublicUrl), its webhook
 * `<publicUrl>/telegram/webhook` with the secret token the commander checks (TELEGRAM_WEBHOOK_SECRET).
 */
export async function setUpTelegram(telegram: TelegramSecrets, publicUrl?: string): Promise<void> {
  let webhook: { url: string; secretToken: string } | undefined;
  if (publicUrl) {
    if (!telegram.webhookSecret) {
      throw new Error(
        'a Telegram webhook needs TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -, e.g. `openssl rand -hex 32`): the commander refuses updates without it',
      );
    }
    webhook = { url: `${publicUrl}/telegram/webhook`, secretToken: telegram.webhookSecret };
  }
  await setUpTelegramBot({
    botToken: telegram.botToken,
    ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}),
    commands: telegramCommands(),
    ...(webhook ? { webhook } : {}),
  });
}
