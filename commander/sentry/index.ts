/**
 * Sentry defence (design §5): flood → Elastic IP rotation, dead sentry → replacement, new sentry →
 * validators dial it. Pure decisions (`decideSentryDefence`) over one state item per fleet, plus an
 * executor for the cloud calls. How the core calls it:
 *
 * - Report handler, after `applyReport` (so `nodes` holds this report's facts):
 *   `out = await decideAndSave(store, fleet, { type: 'report', report }, now, { nodes, settings,
 *   issueCloudCalls: false })`; fold `applyNodeEffects(node, out.effects)` into the node's own put,
 *   write the other `nodesTouched` nodes the same way, then run the common effects below.
 * - Tick handler: `decideAndSave(..., { type: 'tick' }, ...)`, then for every `cloud` effect
 *   `performCloud(cloud, fleet, request)` and feed each returned event to `decideAndSave` again
 *   (repeat until no cloud effect is left), applying effects after each write.
 * - Chat `rotate-ip <sentry>` / `replace <sentry>`: `{ type: 'request-rotation' | 'request-replacement',
 *   node, actor: actorLabel(actor) }`; `out.answer` is the OperationResult.
 * - Common effects: `public-address` → the node's public address in the registry; `remove-node` →
 *   delete the node and its secret; `chat` → `chat.post`/`chat.update(subject, message)`; `alert` →
 *   raise/resolve by key; `audit` → `store.appendAudit(entry)`.
 */
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
export { decideAndSettle } from './settle.js';
export type { Settled } from './settle.js';
