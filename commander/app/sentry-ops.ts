// People's sentry operations (chat `rotate-ip <sentry>` / `replace <sentry>`, the CLI): decided and
// saved at once, pilot actions queued; the cloud calls follow on the next tick (chat stays fast).
import { NodeId } from '../../protocol/index.js';
import type { OperationResult } from '../chatops/ports.js';
import { type SentryEvent, decideAndSave } from '../sentry/index.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { applySentryEffects } from './sentry-step.js';

/** Rotates the sentry's Elastic IP: stop its daemon, new address, new `external_address`, start. */
export function requestRotation(
  deps: CommanderDeps,
  request: { sentry: string; actor: Actor },
): Promise<OperationResult> {
  return decideRequest(deps, request.sentry, (node) => ({
    type: 'request-rotation',
    node,
    actor: actorLabel(request.actor),
  }));
}

/** Terminates the sentry's instance; its autoscaling group starts a replacement that Beam wires in. */
export function requestReplacement(
  deps: CommanderDeps,
  request: { sentry: string; actor: Actor },
): Promise<OperationResult> {
  return decideRequest(deps, request.sentry, (node) => ({
    type: 'request-replacement',
    node,
    actor: actorLabel(request.actor),
  }));
}

async function decideRequest(
  deps: CommanderDeps,
  sentry: string,
  event: (node: string) => SentryEvent,
): Promise<OperationResult> {
  const name = NodeId.safeParse(sentry);
  if (!name.success) {
    return {
      accepted: false,
      summary: `"${sentry}" is not a node name: give the sentry's name as in \`nodes\``,
    };
  }
  if (!deps.cloud && !deps.ec2InTick) {
    return {
      accepted: false,
      summary:
        'Sentry defence has no cloud access: configure EC2 (the `ec2` section of the server config, or BEAM_EC2_REGION for Lambda)',
    };
  }
  const nodes = (await deps.store.listNodes()).map((n) => n.value);
  const settings = deps.settings.sentry;
  // The cloud calls stay due for the next tick: chat gets its answer fast.
  const decided = await decideAndSave(deps.store, settings.fleet, event(name.data), deps.now(), {
    nodes,
    settings,
    issueCloudCalls: false,
  });
  await applySentryEffects(deps, decided.effects);
  return decided.answer ?? { accepted: false, summary: `No decision about ${name.data}` };
}
