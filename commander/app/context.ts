import type { CloudPort } from '../adapters/ec2/port.js';
import type { Store } from '../adapters/store/store.js';
import type { ChatPort } from '../notify/notifier.js';
import type { Pager } from '../notify/pager.js';
import type { CommanderSettings } from '../settings.js';

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Everything handlers and the application need; built once per process (Lambda cold start or serve). */
export interface CommanderDeps {
  store: Store;
  settings: CommanderSettings;
  chat: ChatPort;
  now: () => number;
  log: Logger;
  /** Cloud operations (EC2); absent where Beam manages no cloud instances. The sentry work wires it. */
  cloud?: CloudPort;
  /**
   * Sentry defence's EC2 calls run in another process (the tick Lambda, which has `cloud`): this one
   * (a chat Lambda) decides and saves sentry operations, with no EC2 client or rights of its own.
   */
  ec2InTick?: boolean;
  /** PagerDuty and the paging webhook (`settings.paging`); absent when none is configured. */
  pager?: Pager;
}

/** Who asked: a chat user, the CLI, or the commander itself. Written to every audit entry. */
export interface Actor {
  kind: 'slack' | 'telegram' | 'console' | 'cli' | 'system' | 'pilot';
  id: string;
  name?: string;
}

export function actorLabel(actor: Actor): string {
  return `${actor.kind}:${actor.id}${actor.name ? ` (${actor.name})` : ''}`;
}

export const SYSTEM: Actor = { kind: 'system', id: 'commander' };
