// What an enrollment proves about its machine. The fleet token proves nothing (it sits on every
// internet-facing sentry); an EC2 instance identity document, signed by AWS and fetched from the
// instance's own metadata service, proves which instance the pilot runs on. Only such a proof,
// checked here against EC2 itself, lets a node be approved without a person and bound to an instance.
import { BEAM_TAGS, CloudError, type SentryInstance } from '../adapters/ec2/port.js';
import type { EnrollRequest } from '../../protocol/index.js';
import { verifyIdentityDocument } from '../identity/document.js';
import type { NodeIdentity } from '../domain/registry.js';
import type { CommanderDeps } from './context.js';

export type IdentityProof =
  | { kind: 'none' }
  | { kind: 'verified'; identity: NodeIdentity }
  /** 403: the proof is false; 503: EC2 could not be asked now (the pilot retries). */
  | { kind: 'refused'; status: 403 | 503; reason: string };

/** The host part of a validated `host:port` p2p address, without IPv6 brackets. */
function hostOf(p2pAddress: string): string {
  const host = p2pAddress.slice(0, p2pAddress.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** Why this instance may not be the enrolling node, or null; the tick asks it of proven sentries too. */
export function instanceProblem(
  instance: SentryInstance,
  enroll: Pick<EnrollRequest, 'name' | 'role' | 'p2pAddress'>,
  fleet: string,
): string | null {
  const tags = instance.tags;
  if (
    tags[BEAM_TAGS.managed] !== 'true' ||
    tags[BEAM_TAGS.fleet] !== fleet ||
    tags[BEAM_TAGS.role] !== enroll.role
  ) {
    return `instance ${instance.instanceId} is not tagged ${BEAM_TAGS.managed}=true, ${BEAM_TAGS.fleet}=${fleet} and ${BEAM_TAGS.role}=${enroll.role}: launch it from the fleet's template (its autoscaling group tags it)`;
  }
  if (instance.state !== 'running' && instance.state !== 'pending') {
    return `instance ${instance.instanceId} is ${instance.state}`;
  }
  if (instance.node !== undefined && instance.node !== enroll.name) {
    return `instance ${instance.instanceId} is bound to ${instance.node} (${BEAM_TAGS.node}): enroll it under that name`;
  }
  if (enroll.p2pAddress !== null) {
    const host = hostOf(enroll.p2pAddress);
    if (host !== instance.privateIp && host !== instance.publicIp) {
      const own = [instance.privateIp, instance.publicIp].filter(Boolean).join(' or ');
      return `p2pAddress ${enroll.p2pAddress} is not this instance's address (${own || 'none'}): set the pilot's daemon.p2p_host to the instance's own IP`;
    }
  }
  return null;
}

/**
 * Checks an enrollment's identity document: signature, account, region and freshness
 * (commander/identity/document.ts), then EC2's own view of that instance: Beam's fleet tags for the
 * role, running, not bound to another name, and the p2p address its own. Without a document, or on
 * a commander that checks none (no `identity.ec2`, or no EC2 adapter here or in the tick), nothing is
 * proven. Where EC2 is the tick's (`deps.ec2InTick`: the AWS pilot API, which approves nobody), only
 * the document is checked here; the tick checks the region and EC2's view before it approves or
 * binds anything (app/proven-sentries.ts).
 */
export async function proveIdentity(deps: CommanderDeps, enroll: EnrollRequest): Promise<IdentityProof> {
  const presented = enroll.instanceIdentity;
  if (!presented) return { kind: 'none' };
  const trust = deps.settings.identity.ec2;
  if (!trust || !(deps.cloud || deps.ec2InTick)) {
    deps.log.warn(
      { node: enroll.name },
      'identity document not checked: this commander needs identity.ec2 and its ec2 section (BEAM_FLEET in Lambda); the node waits for an admin',
    );
    return { kind: 'none' };
  }
  const refused = (reason: string, status: 403 | 503 = 403): IdentityProof => ({
    kind: 'refused',
    status,
    reason,
  });
  const now = deps.now();
  const check = verifyIdentityDocument(presented, { ...trust, region: deps.cloud?.region }, now);
  if (!check.ok) return refused(check.reason);
  const { document } = check;
  if (enroll.instanceId !== null && enroll.instanceId !== document.instanceId) {
    return refused(
      `instanceId ${enroll.instanceId} differs from the identity document's ${document.instanceId}: send the document's, or none`,
    );
  }
  const identity: NodeIdentity = {
    kind: 'ec2',
    instanceId: document.instanceId,
    accountId: document.accountId,
    region: document.region,
    pendingTime: document.pendingTime,
    verifiedAt: now,
  };
  if (!deps.cloud) return { kind: 'verified', identity };
  let instance: SentryInstance | undefined;
  try {
    instance = await deps.cloud.describeInstance(document.instanceId);
  } catch (error) {
    const message = error instanceof CloudError ? error.message : String(error);
    return refused(`EC2 could not be asked about ${document.instanceId} (${message}); try again`, 503);
  }
  if (!instance) return refused(`EC2 does not know instance ${document.instanceId} in ${deps.cloud.region}`);
  const problem = instanceProblem(instance, enroll, deps.settings.sentry.fleet);
  if (problem) return refused(problem);
  return { kind: 'verified', identity };
}

/**
 * Tags an approved, proven sentry's instance `beam:node=<name>`: the binding sentry defence requires
 * before it rotates or terminates anything. Validators are never Beam-managed instances. Where this
 * process has no EC2 adapter (a chat function without EC2 rights), the sentry is approved unbound:
 * Beam then refuses to rotate or replace it, and its alert says how to bind it.
 */
export async function tagProvenSentry(
  deps: CommanderDeps,
  node: { id: string; role: string; identity?: NodeIdentity | null },
): Promise<void> {
  if (node.role !== 'sentry' || !node.identity) return;
  if (!deps.cloud) {
    deps.log.warn(
      { node: node.id, instance: node.identity.instanceId },
      'approved without its beam:node tag: this process has no EC2 adapter; tag the instance by hand for sentry defence',
    );
    return;
  }
  await deps.cloud.bindSentry(deps.settings.sentry.fleet, node.identity.instanceId, node.id);
}
