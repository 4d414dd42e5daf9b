export { COMMANDER, decideSentryDefence } from './machine.js';
export type { SentryAnswer, SentryEvent, SentryInput, SentryOutput } from './machine.js';
export { opMessage } from './effects.js';
export type { CloudOutcome, CloudRequest, SentryEffect } from './effects.js';
export { performCloud, performCloudEffects } from './executor.js';
export {
  floodVerdict,
  isHealthy,
  peerOf,
  replacementRefusal,
  rotationRefusal,
  sentryDesiredConfig,
} from './facts.js';
export { FloodThresholds, SentrySettings, parseSentrySettings } from './settings.js';
export type { SentrySettingsInput } from './settings.js';
export {
  REPLACEMENT_PHASES,
  ROTATION_PHASES,
  activeOpFor,
  activeOps,
  initialSentryDefenceState,
  isActiveOp,
  opSubject,
} from './state.js';
export type {
  ReplacementOp,
  ReplacementPhase,
  RotationOp,
  RotationPhase,
  SentryDefenceState,
  SentryOp,
  SentryTrack,
} from './state.js';
export { decideAndSave, loadSentryState, saveSentryState, sentryStateKey } from './persistence.js';
export type { StoredSentryState } from './persistence.js';
export { applyNodeEffects, nodesTouched } from './registry-effects.js';
