/** `beam-commander slack manifest` and `telegram setup`: the chat platforms set up for Beam. */
import { chatSecretsFromEnv } from './chat-env.js';
import { beamSlackManifest, PublicUrl, setUpTelegram } from './chat-setup.js';
import type { Print } from './cli-chain.js';

function publicUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const parsed = PublicUrl.safeParse(url);
  if (!parsed.success) throw new Error(`--url ${url}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Prints the Slack app manifest (JSON) for the commander at `--url`, or for Socket Mode. */
export function slackManifestCommand(flags: { url?: string; socketMode?: boolean }, print: Print): number {
  if (flags.socketMode === Boolean(flags.url)) {
    throw new Error(
      'slack manifest: give --url https://<commander> (events over HTTPS) or --socket-mode (self-hosted without a public URL)',
    );
  }
  print(JSON.stringify(beamSlackManifest(publicUrl(flags.url)), null, 2));
  return 0;
}

/** Sets the Telegram bot's command menu and, with `--url`, its webhook and secret token. */
export async function telegramSetupCommand(
  flags: { url?: string },
  print: Print,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { telegram } = await chatSecretsFromEnv(env);
  if (!telegram) throw new Error('telegram setup needs TELEGRAM_BOT_TOKEN (the token BotFather gave)');
  const url = publicUrl(flags.url);
  await setUpTelegram(telegram, url);
  print('set the command menu (setMyCommands)');
  print(
    url
      ? `set the webhook ${url}/telegram/webhook with the secret token (setWebhook)`
      : 'no --url: no webhook (the self-hosted commander polls, or run again with --url)',
  );
  return 0;
}
