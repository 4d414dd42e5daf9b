import { ChatOps } from '../chatops/chatops.js';
import { StoreChatAudit, StoreInteractions, StoreSubjectRefs } from '../adapters/store/chatops.js';
import type { CommanderDeps } from './context.js';
import { CommanderFleetOps, DEFAULT_MODULES, type OperationModules } from './fleet-ops.js';

export interface ChatOpsFactoryOptions {
  /** The operation modules FleetOps calls; the build's own by default (tests pass doubles). */
  modules?: OperationModules;
  /** Interaction ids; random by default. */
  newId?: () => string;
}

/**
 * The one place ChatOps is built from the commander's deps (Lambda, self-hosted server, console):
 * FleetOps over the application API, interactions / message refs / chat audit in the table, access
 * and button lifetimes from `settings.access`, the deps' clock and log.
 */
export function createChatOps(deps: CommanderDeps, options: ChatOpsFactoryOptions = {}): ChatOps {
  const { access } = deps.settings;
  return new ChatOps({
    fleet: new CommanderFleetOps(deps, options.modules ?? DEFAULT_MODULES),
    interactions: new StoreInteractions(deps.store),
    audit: new StoreChatAudit(deps.store),
    subjects: new StoreSubjectRefs(deps.store),
    access,
    confirmTtlMs: access.confirmTtlMs,
    now: deps.now,
    log: deps.log,
    ...(options.newId ? { newId: options.newId } : {}),
  });
}
