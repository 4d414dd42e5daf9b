// The fleet enrollment token: the configured one (settings.enrollmentToken) until an admin rotates it
// from chat; from then on the stored rotation, whose hash alone is kept, and no other. A token is
// worth nothing but a pending enrollment (auto-approval needs an instance identity), yet it sits on
// every sentry: rotating it after one is lost keeps the lost copy from enrolling anything.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { withRetry } from '../adapters/store/store.js';
import { type Actor, actorLabel, type CommanderDeps } from './context.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Whether `given` is the fleet's current enrollment token; constant time in content and length. */
export async function enrollmentTokenAccepted(deps: CommanderDeps, given: string): Promise<boolean> {
  const rotated = await deps.store.getEnrollmentToken();
  const expected = rotated ? Buffer.from(rotated.value.sha256, 'hex') : sha256(deps.settings.enrollmentToken);
  return expected.length === 32 && timingSafeEqual(sha256(given), expected);
}

/**
 * A new random token replaces the current one at once (the old one is refused from then on). Returns
 * the token for its one showing; only its hash is stored, and the audit entry names who rotated it.
 */
export async function rotateEnrollmentToken(deps: CommanderDeps, actor: Actor): Promise<string> {
  const token = randomBytes(32).toString('hex');
  const at = deps.now();
  await withRetry(async () => {
    const current = await deps.store.getEnrollmentToken();
    await deps.store.putEnrollmentToken(
      { sha256: sha256(token).toString('hex'), rotatedAt: at, rotatedBy: actorLabel(actor) },
      current?.version ?? null,
    );
  });
  await deps.store.appendAudit({
    at,
    actor: actorLabel(actor),
    action: 'token-rotate',
    target: null,
    outcome: 'ok',
    detail: 'fleet enrollment token rotated; the previous one is refused from now on',
  });
  deps.log.warn({ by: actorLabel(actor) }, 'fleet enrollment token rotated');
  return token;
}
