// Sentries that proved their instance where EC2 could not be asked. The AWS pilot API has no EC2
// client or rights (least privilege): it checks an enrollment's identity document, records the
// proven instance and approves nobody (app/enroll-identity.ts, handlers/pilot.ts). The tick, which
// has both, asks EC2 about those instances, approves the ones the auto-approval policy covers, and
// tags `beam:node` on proven sentries a person approved without an EC2 client (the chat functions).
import type { SentryInstance } from '../adapters/ec2/port.js';
import type { NodeRecord } from '../domain/registry.js';
import { CommanderApp } from './commander-app.js';
import type { Actor, CommanderDeps } from './context.js';
import { instanceProblem, tagProvenSentry } from './enroll-identity.js';

/** Who approves here, in the audit and the node's `decidedBy`. */
const AUTO_APPROVE: Actor = { kind: 'system', id: 'auto-approve policy' };

export interface ProvenSentries {
  approved: string[];
  bound: string[];
}

/** Why the tick does not approve this proven sentry, or null. */
function problemOf(
  node: NodeRecord & { identity: NonNullable<NodeRecord['identity']> },
  instance: SentryInstance | undefined,
  region: string,
  fleet: string,
): string | null {
  if (node.identity.region !== region) {
    return `its identity document names ${node.identity.region}; this fleet's sentries run in ${region}`;
  }
  if (!instance) {
    return `instance ${node.identity.instanceId} is no sentry of fleet ${fleet} (tags beam:managed, beam:fleet, beam:role) in ${region}`;
  }
  return instanceProblem(instance, { name: node.id, role: node.role, p2pAddress: node.p2pAddress }, fleet);
}

/**
 * One pass: pending proven sentries within `identity.ec2.maxAgeMs` of their proof are approved once
 * EC2 agrees (as `proveIdentity` would have at enrollment); approved proven sentries whose instance
 * carries no `beam:node` tag are bound. One DescribeInstances, only while there are proven
 * sentries; a sentry EC2 disagrees about is logged and left to an admin. Does nothing without an EC2
 * adapter or `identity.ec2`.
 */
export async function settleProvenSentries(deps: CommanderDeps): Promise<ProvenSentries> {
  const out: ProvenSentries = { approved: [], bound: [] };
  const { cloud } = deps;
  const trust = deps.settings.identity.ec2;
  if (!cloud || !trust) return out;
  const now = deps.now();
  const proven = (await deps.store.listNodes())
    .map((n) => n.value)
    .filter(
      (n): n is NodeRecord & { identity: NonNullable<NodeRecord['identity']> } =>
        n.role === 'sentry' && Boolean(n.identity),
    );
  const waiting = deps.settings.autoApprove.roles.includes('sentry')
    ? proven.filter((n) => n.status === 'pending' && now - n.identity.verifiedAt <= trust.maxAgeMs)
    : [];
  const approved = proven.filter((n) => n.status === 'approved');
  if (waiting.length === 0 && approved.length === 0) return out;

  const fleet = deps.settings.sentry.fleet;
  let instances: Map<string, SentryInstance>;
  try {
    instances = new Map((await cloud.describeSentries(fleet)).map((i) => [i.instanceId, i]));
  } catch (error) {
    // The rest of the tick goes on; the next one asks again.
    deps.log.warn({ err: (error as Error).message }, 'proven sentries not settled: EC2 could not be asked');
    return out;
  }
  for (const node of approved) {
    const instance = instances.get(node.identity.instanceId);
    // Gone or going (sentry defence replaces it), or tagged already: bound, or another's (kept).
    if (!instance || instance.node !== undefined) continue;
    if (instance.state !== 'running' && instance.state !== 'pending') continue;
    await tagProvenSentry(deps, node).then(
      () => out.bound.push(node.id),
      (error: Error) => deps.log.warn({ node: node.id, err: error.message }, 'proven sentry not bound'),
    );
  }
  const app = new CommanderApp(deps);
  for (const node of waiting) {
    const problem = problemOf(node, instances.get(node.identity.instanceId), cloud.region, fleet);
    if (problem) {
      deps.log.warn({ node: node.id, problem }, 'proven sentry not auto-approved: it waits for an admin');
      continue;
    }
    // Approval tags the instance first (tagProvenSentry), then writes the secret, audits and edits
    // the enrollment message; a conflict means someone decided in the meantime.
    await app.approveNode(AUTO_APPROVE, node.id).then(
      () => out.approved.push(node.id),
      (error: Error) => deps.log.warn({ node: node.id, err: error.message }, 'proven sentry not approved'),
    );
  }
  return out;
}
