import type { ChatTransport, Platform } from '../bots/model.js';
import pino from 'pino';
import type { CloudPort } from './adapters/ec2/port.js';
import { SecretBox } from './adapters/secrets/box.js';
import { FileKeys } from './adapters/secrets/file-keys.js';
import { dataKeysFor } from './adapters/secrets/settings.js';
import { CountingSender, createDocClient, createDynamoClient } from './adapters/store/client.js';
import { Store } from './adapters/store/store.js';
import type { CommanderDeps, Logger } from './app/context.js';
import { Notifier } from './notify/notifier.js';
import { type Pager, pagerFrom } from './notify/pager.js';
import type { CommanderSettings } from './settings.js';

export interface BuildOptions {
  transports?: Partial<Record<Platform, ChatTransport>>;
  now?: () => number;
  log?: Logger;
  /** The EC2 adapter (sentry defence); see commander/adapters/ec2/config.ts `createCloud`. */
  cloud?: CloudPort;
  /** See CommanderDeps.ec2InTick. */
  ec2InTick?: boolean;
  /** Pagers instead of those `settings.paging` configures (tests). */
  pager?: Pager;
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
  // serve() and the Lambda environment always name the key (they refuse to start without one); deps
  // built by hand (tests, the bench) seal with a key that lives as long as this process.
  if (!settings.secrets) {
    log.warn({}, 'no secrets key configured: node secrets are sealed with a key of this process only');
  }
  const secrets = new SecretBox(settings.secrets ? dataKeysFor(settings.secrets) : FileKeys.ephemeral());
  const store = new Store(calls, { tableName: settings.tableName, now, secrets });
  const chat = new Notifier(store, options.transports ?? {}, settings.chat, log, {
    now,
    actionTtlMs: settings.access.actionTtlMs,
  });
  const pager = options.pager ?? pagerFrom(settings.paging);
  return {
    store,
    settings,
    chat,
    now,
    log,
    calls,
    ...(options.cloud ? { cloud: options.cloud } : {}),
    ...(options.ec2InTick ? { ec2InTick: true } : {}),
    ...(pager ? { pager } : {}),
  };
}
