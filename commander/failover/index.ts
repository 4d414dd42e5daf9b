export { decideFailover, replyFor } from './machine.js';
export type { FailoverEvent, FailoverOutput, FailoverReply } from './machine.js';
export type { ButtonRequest, FailoverEffect } from './effects.js';
export { COMMANDER } from './effects.js';
export { FailoverSettings, parseFailoverSettings } from './settings.js';
export type { FailoverSettingsInput } from './settings.js';
export { PHASES, failoverSubject, initialFailoverState, isActive } from './state.js';
export type {
  ChainPause,
  CommitView,
  FailoverOp,
  FailoverState,
  LeaseState,
  NodeFacts,
  OpKind,
  OpPhase,
  OutboxEntry,
  UpgradeRef,
  ValidatorKey,
} from './state.js';
