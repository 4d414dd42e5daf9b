#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadServeConfig, serve } from './server/serve.js';

const HELP = `beam-commander — the Beam commander, self-hosted

Usage:
  beam-commander serve [options]

Options:
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
  -h, --help                  show this help

Config file keys: listen, stateDir, tick, settings.{enrollmentToken, tableName, reportIntervalMs,
autoApprove.{roles, requireInstanceId}, thresholds.*, alerts.{renotifyCriticalMs, renotifyWarningMs,
quietHours.{startHour, endHour}}, chat[].{platform, chat, minSeverity}, sentry.*,
access.{slack|telegram|console.{users, chats, defaultRole}, actionTtlMs, confirmTtlMs}},
ec2.{region, endpoint, accessKeyId, secretAccessKey, maxAttempts} (EC2 for sentry defence).
Chat (environment): SLACK_BOT_TOKEN, SLACK_BOT_ID, SLACK_BOT_USER_ID and SLACK_APP_TOKEN (Socket Mode)
or SLACK_SIGNING_SECRET (POST /slack/events); TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_USERNAME (long
polling), plus TELEGRAM_WEBHOOK_SECRET for POST /telegram/webhook instead.
On start it prints one JSON line {"listening": URL} to stdout.
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${HELP}`);
    return 2;
  }
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
