import { type DestinationStream, type Logger, pino } from 'pino';

/** Key names whose values are secrets wherever they appear in a log object. */
const SECRET_KEYS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'secretToken',
  'secret',
  'authorization',
  'password',
  'mnemonic',
  'privateKey',
];

const REDACTED = '[redacted]';

export interface BotLoggerOptions {
  /** Secret values (tokens, signing secrets) that must never reach a log line, whatever field holds them. */
  secrets: string[];
  level?: string;
  /** Where lines go; stdout by default. Tests pass a capturing stream. */
  destination?: DestinationStream;
  name?: string;
}

/**
 * A pino logger that redacts secret key names (at any of the first two levels) and, as a last line of
 * defence, every occurrence of a known secret value in the serialized line (error messages and URLs
 * can embed a token, e.g. the Bot API's `/bot<token>/` path).
 */
export function createBotLogger(options: BotLoggerOptions): Logger {
  const secrets = options.secrets.filter((s) => s.length >= 6);
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`]);
  return pino(
    {
      name: options.name ?? 'beam-bots',
      level: options.level ?? 'info',
      redact: { paths, censor: REDACTED },
      hooks: {
        streamWrite: (line) => secrets.reduce((out, secret) => out.split(secret).join(REDACTED), line),
      },
    },
    options.destination ?? pino.destination(1),
  );
}
