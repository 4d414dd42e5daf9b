#!/usr/bin/env node
import { parseArgs } from 'node:util';

const HELP = `beam-commander — the Beam commander, self-hosted

Usage:
  beam-commander serve [options]
  beam-commander chain add <chain.json> [--config FILE | --state-dir DIR | --dynamodb-endpoint URL | --aws] [--table NAME]
  beam-commander chain list [the same options]
  beam-commander slack manifest (--url https://COMMANDER | --socket-mode)
  beam-commander telegram setup [--url https://COMMANDER]

chain add     stores a chain registry chain.json (github.com/cosmos/chain-registry) for the commander:
              chain id, bech32 prefix, fee tokens and gas prices, staking denom (the bond denom),
              explorers, binaries. serve and the Lambda functions read it when they start. The table:
              the state dir's (through a running serve), an endpoint, or with --aws the deployed one
              (table from --table or BEAM_TABLE_NAME, the usual AWS credentials and region).
slack manifest prints the Slack app manifest (JSON): paste it at api.slack.com/apps → Create New App
              → From a manifest. --url: the commander's https URL (the stack's ApiUrl); --socket-mode:
              no public URL (self-hosted, with SLACK_APP_TOKEN).
telegram setup sets the bot's command menu and, with --url, its webhook <url>/telegram/webhook with
              TELEGRAM_WEBHOOK_SECRET as the secret token (TELEGRAM_BOT_TOKEN from the environment).
              serve does this at start (the webhook when it has publicUrl and the secret).

Options of serve:
  --config FILE               TOML or JSON config file (flags override it)
  --listen HOST:PORT          address to listen on (default 127.0.0.1:8080; port 0 picks one)
  --state-dir DIR             where the embedded DynamoDB keeps its data (default .beam/commander)
  --enrollment-token TOKEN    fleet enrollment token (or BEAM_ENROLLMENT_TOKEN, or the config file)
  --auto-approve ROLES        roles approved at enrollment, comma-separated (e.g. sentry)
  --dynamodb-endpoint URL     use this DynamoDB endpoint instead of the embedded one
  --table NAME                table name (default beam)
  --tick CRON                 tick schedule, node-cron syntax (default "*/15 * * * * *")
  --report-interval-ms MS     how often pilots report (default 5000)
  --chat PLATFORM:CHAT[:SEV]  a chat destination and its least severity (repeatable)
  --threshold NAME=VALUE      a health threshold, e.g. silentIntervals=3 (repeatable)
  --public-url URL            the https URL Slack and Telegram reach this commander at
  -h, --help                  show this help

Config file keys: listen, stateDir, tick, publicUrl, settings.{enrollmentToken, tableName, reportIntervalMs,
autoApprove.roles, identity.ec2.{accountId, certificate, maxAgeMs}, secrets.{kmsKeyId, keyFile}
(default <stateDir>/node-secrets.key), thresholds.*, alerts.{renotifyCriticalMs, renotifyWarningMs,
quietHours.{startHour, endHour}}, chat[].{platform, chat, minSeverity}, sentry.*,
access.{slack|telegram|console.{users, chats, defaultRole}, actionTtlMs, confirmTtlMs}},
ec2.{region, endpoint, accessKeyId, secretAccessKey, maxAttempts} (EC2 for sentry defence).
Chat (environment): SLACK_BOT_TOKEN, SLACK_BOT_ID, SLACK_BOT_USER_ID and SLACK_APP_TOKEN (Socket Mode)
or SLACK_SIGNING_SECRET (POST /slack/events); TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_USERNAME (long
polling), plus TELEGRAM_WEBHOOK_SECRET for POST /telegram/webhook instead.
On start it prints one JSON line {"listening": URL} to stdout. GET /metrics: Prometheus metrics.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      'state-dir': { type: 'string' },
      'enrollment-token': { type: 'string' },
      'auto-approve': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      table: { type: 'string' },
      tick: { type: 'string' },
      'report-interval-ms': { type: 'string' },
      chat: { type: 'string', multiple: true },
      threshold: { type: 'string', multiple: true },
      'public-url': { type: 'string' },
      url: { type: 'string' },
      'socket-mode': { type: 'boolean' },
      aws: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const [command, verb, arg] = positionals;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (command === 'chain') {
    return (await import('./cli-chain.js')).chainCommand(
      verb,
      arg,
      {
        config: values.config,
        stateDir: values['state-dir'],
        dynamodbEndpoint: values['dynamodb-endpoint'],
        table: values.table,
        aws: values.aws,
      },
      print,
    );
  }
  if (command === 'slack' && verb === 'manifest' && !arg)
    return (await import('./cli-chat.js')).slackManifestCommand(
      { url: values.url, socketMode: values['socket-mode'] },
      print,
    );
  if (command === 'telegram' && verb === 'setup' && !arg)
    return (await import('./cli-chat.js')).telegramSetupCommand({ url: values.url }, print);
  if (command !== 'serve' || positionals.length > 1) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${HELP}`);
    return 2;
  }
  // The server (DynamoDB, Slack, cron) loads only for serve: the other commands start in a blink.
  const { loadServeConfig, serve } = await import('./server/serve.js');
  const config = loadServeConfig({
    config: values.config,
    listen: values.listen,
    stateDir: values['state-dir'],
    enrollmentToken: values['enrollment-token'],
    autoApprove: values['auto-approve'],
    dynamodbEndpoint: values['dynamodb-endpoint'],
    table: values.table,
    tick: values.tick,
    reportIntervalMs: values['report-interval-ms'],
    chat: values.chat,
    threshold: values.threshold,
    publicUrl: values['public-url'],
  });
  const running = await serve(config);
  process.stdout.write(`${JSON.stringify({ listening: running.url })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await running.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`beam-commander: ${error.message}\n`);
    process.exitCode = 1;
  },
);
