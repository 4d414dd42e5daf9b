import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from 'pino';

/** Bolt's and the Web API's logger, backed by Beam's redacting pino logger. */
export function slackLogger(logger: Logger): BoltLogger {
  const emit =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) =>
      logger[level](
        msg
          .map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m)))
          .join(' '),
      );
  const levels = Object.values(LogLevel) as string[];
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    // The pino logger's owner sets its level; Bolt must not change it.
    setLevel: () => {},
    getLevel: () => (levels.includes(logger.level) ? (logger.level as LogLevel) : LogLevel.INFO),
    setName: () => {},
  };
}
