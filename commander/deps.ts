import type { ChatTransport, Platform } from '../bots/model.js';
import pino from 'pino';
import type { CloudPort } from './adapters/ec2/port.js';
import { CountingSender, createDocClient, createDynamoClient } from './adapters/store/client.js';
import { Store } from './adapters/store/store.js';
import type { CommanderDeps, Logger } from './app/context.js';
import { Notifier } from './notify/notifier.js';
import type { CommanderSettings } from './settings.js';

export interface BuildOptions {
  transports?: Partial<Record<Platform, ChatTransport>>;
  now?: () => number;
  log?: Logger;
  /** The EC2 adapter (sentry defence); see commander/adapters/ec2/config.ts `createCloud`. */
  cloud?: CloudPort;
}

/** Wires settings to a store (with a call counter), a notifier and a clock. */
export function buildDeps(
  settings: CommanderSettings,
  options: BuildOptions = {},
): CommanderDeps & { calls: CountingSender } {
  const now = options.now ?? Date.now;
  const log = options.log ?? pino({ level: process.env.BEAM_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const calls = new CountingSender(
    createDocClient(
      createDynamoClient(settings.dynamodbEndpoint ? { endpoint: settings.dynamodbEndpoint } : {}),
    ),
  );
  const store = new Store(calls, { tableName: settings.tableName, now });
  const chat = new Notifier(store, options.transports ?? {}, settings.chat, log, {
    now,
    actionTtlMs: settings.access.actionTtlMs,
  });
  return { store, settings, chat, now, log, calls, ...(options.cloud ? { cloud: options.cloud } : {}) };
}
