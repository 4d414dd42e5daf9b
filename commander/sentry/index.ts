/**
 * Sentry defence (design §5): flood → Elastic IP rotation, dead sentry → replacement, new sentry →
 * validators dial it. Pure decisions (`decideSentryDefence`) over one state item per fleet, plus an
 * executor for the cloud calls. How the commander calls it (commander/app/sentry-step.ts,
 * sentry-ops.ts):
 *
 * - Tick: `decideAndSettle(store, cloud, fleet, [...sentry report events, { type: 'tick' }], now,
 *   { nodes, settings })`: every approved sentry's last report (with the node's recent results) and
 *   the tick, decided in order under one conditional write; each cloud call's outcome is fed back and
 *   saved before its effects are used. Reports are counted once by seq, results once by id.
 * - Chat `rotate-ip <sentry>` / `replace <sentry>`: `decideAndSave(..., { type: 'request-rotation' |
 *   'request-replacement', node, actor: actorLabel(actor) }, now, { ..., issueCloudCalls: false })`;
 *   `out.answer` is the OperationResult; the cloud calls stay due for the next tick.
 * - A report handler may also call `decideAndSave(..., { type: 'report', report }, ..., {
 *   issueCloudCalls: false })` after `applyReport` and fold `applyNodeEffects(node, out.effects)` into
 *   the node's own put (`nodesTouched` lists the others); Beam decides in the tick instead.
 * - State sync of new nodes (`bootstrap.ts`, any role): `planStateSync(node, nodes, now, settings)` per
 *   node waiting for it, `bootstrapHolds` for the tick's alerts (commander/app/sentry-bootstrap.ts).
 * - Effects: `action` / `desired-config` → the node's record; `public-address` → the node's
 *   `publicAddress`; `remove-node` → node and secret items expire; `chat` → `chat.post`/`chat.update`
 *   (subject, message); `alert` → logged (the tick's alerts come from `sentryFindings(state, nodes)`);
 *   `audit` → `store.appendAudit(entry)`.
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
  sentryFindings,
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
export { bootstrapHolds, planStateSync, stateSyncFinding } from './bootstrap.js';
export type { StateSyncAction, StateSyncPlan } from './bootstrap.js';
export type { Settled } from './settle.js';
