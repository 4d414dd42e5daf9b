import type { NodeRecord } from '../domain/registry.js';
import { queueAction } from '../domain/registry.js';
import type { SentryEffect } from './effects.js';

/** Node ids whose registry item the effects change (queued actions, desired config). */
export function nodesTouched(effects: readonly SentryEffect[]): string[] {
  const ids = effects.flatMap((e) => (e.type === 'action' || e.type === 'desired-config' ? [e.nodeId] : []));
  return [...new Set(ids)];
}

/**
 * Folds the effects addressed to one node into its registry record: actions queued (deduplicated
 * by id, so the core's config convergence and sentry defence never queue one twice) and the desired
 * config set. Pure; the caller writes the record with its version, in the same put as the report.
 */
export function applyNodeEffects(node: NodeRecord, effects: readonly SentryEffect[]): NodeRecord {
  let next = node;
  for (const effect of effects) {
    if (effect.type === 'action' && effect.nodeId === node.id) next = queueAction(next, effect.action);
    if (effect.type === 'desired-config' && effect.nodeId === node.id)
      next = { ...next, desiredConfig: effect.config };
  }
  return next;
}
