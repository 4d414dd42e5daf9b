/**
 * A commander with EC2 identity checks, on dynalite and the EC2 emulation: its enrollments go through
 * the real HTTP handler with the EC2 adapter wired, and identity documents come from the emulated
 * instances' metadata service, read by the pilot's own code.
 */
import { Ec2Cloud } from '../../commander/adapters/ec2/ec2-cloud.js';
import type { CommanderDeps } from '../../commander/app/context.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import type { CommanderSettingsInput } from '../../commander/settings.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../../devnet/ec2/emulator.js';
import { fetchInstanceIdentity } from '../../pilot/identity.js';
import type { EnrollRequest, InstanceIdentity } from '../../protocol/index.js';
import {
  enrollRequest,
  httpEvent,
  makeCommander,
  parseResult,
  type TestCommander,
} from '../commander/helpers.js';

export const FLEET = 'mainnet';

export interface Ec2Fleet {
  c: TestCommander;
  /** The commander's deps with the EC2 adapter: what the Lambda and serve() run with. */
  deps: CommanderDeps;
  ec2: Ec2Emulator;
  enroll(request: EnrollRequest): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/** Sentries auto-approved on a proven instance; the commander's clock is the real one (documents carry real times). */
export async function ec2Fleet(
  endpoint: string,
  overrides: Partial<CommanderSettingsInput> = {},
): Promise<Ec2Fleet> {
  const ec2 = await startEc2Emulator();
  const cloud = new Ec2Cloud({
    endpoint: ec2.url,
    region: ec2.region,
    credentials: { accessKeyId: 'devnet', secretAccessKey: 'devnet' },
    maxAttempts: 1,
  });
  const c = await makeCommander(endpoint, {
    autoApprove: { roles: ['sentry'] },
    identity: { ec2: { accountId: ec2.accountId, certificate: ec2.identityCertificate } },
    sentry: { fleet: FLEET },
    ...overrides,
  });
  c.clock.t = Date.now();
  const deps: CommanderDeps = { ...c.deps, cloud };
  const http = createHttpHandler(deps);
  return {
    c,
    deps,
    ec2,
    enroll: async (request) =>
      parseResult(await http(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(request)))),
    async stop() {
      cloud.close();
      await ec2.stop();
    },
  };
}

/** An autoscaled sentry as the fleet's group launches it: Beam's fleet tags, no `beam:node`. */
export function launchSentry(ec2: Ec2Emulator, privateIp: string): Instance {
  return ec2.addInstance({
    group: 'sentries',
    privateIp,
    tags: { 'beam:managed': 'true', 'beam:fleet': FLEET, 'beam:role': 'sentry' },
  });
}

/** What the instance's pilot sends: its identity document and signature, read through IMDSv2. */
export async function identityOf(ec2: Ec2Emulator, instanceId: string): Promise<InstanceIdentity> {
  const { document, signature } = await fetchInstanceIdentity(ec2.imdsUrl(instanceId), 2000);
  return { document, signature };
}

/** A sentry's enrollment: its own claim and comet id per `n`, its p2p address on `ip`. */
export function sentryEnrollment(name: string, n: number, ip: string, extra: Partial<EnrollRequest> = {}) {
  return enrollRequest({
    name,
    role: 'sentry',
    claim: n.toString(16).padStart(64, '0'),
    cometNodeId: n.toString(16).padStart(40, '0'),
    p2pAddress: `${ip}:26656`,
    ...extra,
  });
}
