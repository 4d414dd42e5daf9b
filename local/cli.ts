#!/usr/bin/env node
/** `npm start`: the whole local stack on one machine, with the console chat on this terminal. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { startConsoleChat } from '../bots/console.js';
import type { Platform } from '../bots/model.js';
import { CHAOS_HELP } from './chaos.js';
import { withChaos } from './console.js';
import { type Stack, startStack } from './stack.js';

const HELP = `beam local stack: a devnet, the EC2 emulation, the commander and one pilot per node

Usage: npm start -- [options]

Options:
  --dir DIR            state directory (default .beam/local)
  --reset              wipe the state a previous start left in DIR
  --block-time-ms MS   devnet block time (default 1000)
  --sentries N         number of sentries (default 3)
  --port-base PORT     first devnet port on each 127.0.0.x (default 26656)
  --no-console         no terminal chat (Slack or Telegram only; stop with Ctrl-C)
  -h, --help           show this help

Chat: the terminal is a chat where you are an admin; type \`help\` for Beam's commands, a number to
press a button of the latest message (\`press <message> <button>\` for another one), and
\`chaos help\` for faults to inject.
Slack: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode), BEAM_SLACK_TEAM (workspace id),
  BEAM_SLACK_CHANNEL (channel id) and BEAM_SLACK_ADMINS (user ids, comma-separated).
Telegram: set TELEGRAM_BOT_TOKEN (long polling), BEAM_TELEGRAM_CHAT (chat id) and
  BEAM_TELEGRAM_ADMINS (user ids, comma-separated).

${CHAOS_HELP}
`;

const Ids = z
  .string()
  .regex(/^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$/, 'use user ids separated by commas, e.g. U0123ABCD,U0456EFGH')
  .transform((text) => text.split(','));
const ChatEnv = z.object({
  BEAM_SLACK_CHANNEL: z
    .string()
    .regex(/^[A-Z0-9]{6,}$/, 'use a Slack channel id such as C0123ABCD')
    .optional(),
  BEAM_SLACK_ADMINS: Ids.optional(),
  /** The workspace the Slack app answers in: Slack is refused from any other. */
  BEAM_SLACK_TEAM: z
    .string()
    .regex(/^T[A-Z0-9]+$/, 'use the Slack workspace id (T…), as auth.test answers it')
    .optional(),
  BEAM_TELEGRAM_CHAT: z
    .string()
    .regex(/^-?\d{1,20}$/, 'use a Telegram chat id such as -1001234567890')
    .optional(),
  BEAM_TELEGRAM_ADMINS: Ids.optional(),
});

/** Chat destinations and access: the console (its user an admin), plus Slack and Telegram from the env. */
function chatSettings(env: NodeJS.ProcessEnv, console: boolean) {
  const parsed = ChatEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  const chat: { platform: Platform; chat: string }[] = console
    ? [{ platform: 'console', chat: 'console' }]
    : [];
  const platform = (channel: string | undefined, admins: string[] | undefined) =>
    channel ? { chats: [channel], users: Object.fromEntries((admins ?? []).map((id) => [id, 'admin'])) } : {};
  if (e.BEAM_SLACK_CHANNEL) chat.push({ platform: 'slack', chat: e.BEAM_SLACK_CHANNEL });
  if (e.BEAM_TELEGRAM_CHAT) chat.push({ platform: 'telegram', chat: e.BEAM_TELEGRAM_CHAT });
  return {
    chat,
    access: {
      console: { users: { operator: 'admin' }, chats: ['console'] },
      slack: {
        ...platform(e.BEAM_SLACK_CHANNEL, e.BEAM_SLACK_ADMINS),
        ...(e.BEAM_SLACK_TEAM ? { teamId: e.BEAM_SLACK_TEAM } : {}),
      },
      telegram: platform(e.BEAM_TELEGRAM_CHAT, e.BEAM_TELEGRAM_ADMINS),
    },
  };
}

function describe(stack: Stack): string {
  const { info } = stack.devnet;
  const lines = [
    `chain ${info.chainId} (${info.denom}), block time ${info.blockTimeMs} ms`,
    `devnet control   ${info.hub.controlUrl}`,
    `EC2 emulation    ${stack.ec2.url}`,
    `commander        ${stack.commander.url}`,
    ...info.nodes.map(
      (n) =>
        `${n.name.padEnd(16)} ${n.role.padEnd(9)} rpc ${n.rpcUrl}  p2p ${n.p2pAddress}  pilot log ${path.relative(
          process.cwd(),
          path.join(stack.dir, 'logs', `pilot-${n.name}.log`),
        )}`,
    ),
    `state in ${path.relative(process.cwd(), stack.dir) || '.'}`,
  ];
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: '.beam/local' },
      reset: { type: 'boolean', default: false },
      'block-time-ms': { type: 'string', default: '1000' },
      sentries: { type: 'string', default: '3' },
      'port-base': { type: 'string' },
      'no-console': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // The commander logs to stderr: keep the terminal for the chat unless asked for more.
  process.env.BEAM_LOG_LEVEL ??= 'warn';
  const blockTimeMs = Number(values['block-time-ms']);
  const sentries = Number(values.sentries);
  if (!Number.isInteger(blockTimeMs) || blockTimeMs < 100)
    throw new Error('--block-time-ms: use a whole number of milliseconds, at least 100');
  if (!Number.isInteger(sentries) || sentries < 1 || sentries > 5)
    throw new Error('--sentries: use a number from 1 to 5');
  const portBase = values['port-base'] === undefined ? undefined : Number(values['port-base']);
  if (portBase !== undefined && (!Number.isInteger(portBase) || portBase < 1024 || portBase > 65_000))
    throw new Error('--port-base: use a port from 1024 to 65000');

  const chat = chatSettings(process.env, !values['no-console']);
  const consoleChat = values['no-console']
    ? null
    : startConsoleChat(
        { input: process.stdin, output: process.stdout, user: 'operator', prompt: '' },
        (input) => handler(input),
      );
  let handler: Parameters<typeof startConsoleChat>[1] = async () => [
    { message: { title: 'Beam is still starting', text: 'Type it again in a moment.' } },
  ];

  const stack = await startStack({
    dir: values.dir,
    reset: values.reset,
    blockTimeMs,
    sentries,
    ...(portBase === undefined ? {} : { portBase }),
    transports: consoleChat ? { console: consoleChat.transport } : {},
    chat: chat.chat,
    progress: (line) => process.stderr.write(`${line}...\n`),
    settings: { access: chat.access },
  });
  handler = withChaos(stack, stack.commander.chat);
  process.stdout.write(
    `${describe(stack)}\n\nType \`status\`, \`help\` or \`chaos help\`. Ctrl-C stops everything.\n`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('stopping the local stack...\n');
    await stack.stop();
    process.exit(0);
  };
  // `on`, not `once`: Ctrl-C reaches npm, tsx and this process alike, and tsx relays it once more; a
  // second SIGINT with no handler would kill the stack halfway through its stop, daemons left behind.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (consoleChat) {
    await consoleChat.done;
    await stop();
  }
  return 0;
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
