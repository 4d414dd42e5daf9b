import { CloudError, type CloudPort } from '../adapters/ec2/port.js';
import type { CloudOutcome, CloudRequest, SentryEffect } from './effects.js';
import type { SentryEvent } from './machine.js';

/**
 * Performs one cloud call and turns its outcome into the event that feeds it back to the decision.
 * Never throws: an error that is not a CloudError (a bug, a dropped connection) counts as retryable,
 * which is safe because every call is idempotent per operation id.
 */
export async function performCloud(
  cloud: CloudPort,
  fleet: string,
  request: CloudRequest,
): Promise<SentryEvent> {
  const { opId, attempt } = request;
  const outcome = async (): Promise<CloudOutcome> => {
    try {
      if (request.kind === 'rotate') {
        const r = await cloud.rotateAddress({
          fleet,
          node: request.node,
          instanceId: request.instanceId,
          opKey: opId,
        });
        return {
          kind: 'rotate',
          opId,
          attempt,
          ok: true,
          publicIp: r.publicIp,
          allocationId: r.allocationId,
          previousPublicIp: r.previousPublicIp ?? null,
          released: r.released,
          foreignAllocationId: r.foreignAllocationId ?? null,
        };
      }
      const t = await cloud.terminateSentry(fleet, request.instanceId, request.node);
      return { kind: 'terminate', opId, attempt, ok: true, released: t.released };
    } catch (error) {
      const cloudError =
        error instanceof CloudError
          ? error
          : new CloudError('transient', `unexpected error: ${(error as Error)?.message ?? String(error)}`);
      return {
        kind: request.kind,
        opId,
        attempt,
        ok: false,
        error: { kind: cloudError.kind, message: cloudError.message, retryable: cloudError.retryable },
      };
    }
  };
  return { type: 'cloud-result', outcome: await outcome() };
}

/** Performs the cloud effects of a decision, one after another; returns the events to decide next. */
export async function performCloudEffects(
  cloud: CloudPort,
  fleet: string,
  effects: readonly SentryEffect[],
): Promise<SentryEvent[]> {
  const events: SentryEvent[] = [];
  for (const effect of effects) {
    if (effect.type === 'cloud') events.push(await performCloud(cloud, fleet, effect.request));
  }
  return events;
}
