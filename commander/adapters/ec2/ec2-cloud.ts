// CloudPort on @aws-sdk/client-ec2. The SDK retries throttling and 5xx answers (`maxAttempts`);
// on top of that every operation is idempotent: rotation finds its own address again by the
// `beam:op` tag, and nothing is released or terminated unless Beam's tags say Beam owns it.
import type * as Ec2 from '@aws-sdk/client-ec2';
import type { Address, Filter, Instance, Tag } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { requireSdk } from '../require-sdk.js';
import { toCloudError } from './errors.js';
import {
  BEAM_TAGS,
  CloudError,
  type CloudPort,
  type ManagedAddress,
  type RotateAddressRequest,
  type RotationResult,
  type SentryInstance,
  type SentryState,
  type TerminateResult,
} from './port.js';

const GROUP_TAG = 'aws:autoscaling:groupName';

/**
 * The EC2 SDK, loaded with `require` when the first adapter is built (adapters/require-sdk.ts says
 * why): as an ES import it dominated the tick Lambda's cold init, and a commander without sentry
 * defence never loads it at all.
 */
let sdk: typeof Ec2 | undefined;
const ec2Sdk = (): typeof Ec2 => {
  sdk ??= requireSdk('@aws-sdk/client-ec2') as typeof Ec2;
  return sdk;
};

export interface Ec2CloudOptions {
  /** AWS region; defaults to AWS_REGION, then AWS_DEFAULT_REGION. */
  region?: string;
  /** Endpoint override, e.g. the devnet EC2 emulation's URL. */
  endpoint?: string;
  /** Static credentials; by default the SDK's chain (environment, profile, instance or Lambda role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call, including SDK retries of throttling and 5xx answers (default 3). */
  maxAttempts?: number;
}

const optionsSchema = z.object({
  region: z.string().min(1, 'set AWS_REGION (or pass region) to the region of the sentry fleet'),
  endpoint: z.url('endpoint must be a URL such as http://127.0.0.1:4566').optional(),
  maxAttempts: z.number().int().min(1, 'maxAttempts must be at least 1').optional(),
});

type Tags = Record<string, string>;

const tagsOf = (tags: Tag[] | undefined): Tags =>
  Object.fromEntries(
    (tags ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
  );

const tagFilter = (key: string, value: string): Filter => ({ Name: `tag:${key}`, Values: [value] });

const fleetFilters = (fleet: string): Filter[] => [
  tagFilter(BEAM_TAGS.managed, 'true'),
  tagFilter(BEAM_TAGS.fleet, fleet),
];

const isManagedBy = (tags: Tags, fleet: string): boolean =>
  tags[BEAM_TAGS.managed] === 'true' && tags[BEAM_TAGS.fleet] === fleet;

function toSentry(instance: Instance): SentryInstance {
  const tags = tagsOf(instance.Tags);
  return {
    instanceId: instance.InstanceId ?? '',
    node: tags[BEAM_TAGS.node],
    name: tags['Name'],
    state: (instance.State?.Name ?? 'pending') as SentryState,
    privateIp: instance.PrivateIpAddress,
    publicIp: instance.PublicIpAddress,
    group: tags[GROUP_TAG],
    launchTime: instance.LaunchTime,
    tags,
  };
}

function toManaged(address: Address): ManagedAddress {
  const tags = tagsOf(address.Tags);
  return {
    allocationId: address.AllocationId ?? '',
    publicIp: address.PublicIp ?? '',
    associationId: address.AssociationId,
    instanceId: address.InstanceId,
    node: tags[BEAM_TAGS.node],
    op: tags[BEAM_TAGS.op],
    tags,
  };
}

/**
 * Beam rotates and terminates only the instance tagged `beam:node=<node>`: the commander writes that
 * tag when it approves an enrollment proven by the instance's identity document, so a name that only
 * claimed an instance id (anyone holding the fleet token can claim one) never reaches it.
 */
function boundTo(instance: SentryInstance, node: string, verb: string): void {
  if (instance.node === node) return;
  const found =
    instance.node === undefined
      ? `carries no ${BEAM_TAGS.node} tag`
      : `is tagged ${BEAM_TAGS.node}=${instance.node}`;
  throw new CloudError(
    'refused',
    `Refusing to ${verb} ${instance.instanceId}: it ${found}, not ${BEAM_TAGS.node}=${node}. Beam tags an ` +
      `instance when it approves an enrollment proven by its identity document; if ${node} really runs ` +
      `there, re-enroll it with identity = "ec2" (or tag the instance ${BEAM_TAGS.node}=${node} by hand)`,
  );
}

export class Ec2Cloud implements CloudPort {
  readonly region: string;
  private readonly sdk = ec2Sdk();
  private readonly client: Ec2.EC2Client;

  constructor(options: Ec2CloudOptions = {}) {
    const parsed = optionsSchema.safeParse({
      // An empty variable counts as unset.
      region: options.region || process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] || '',
      endpoint: options.endpoint,
      maxAttempts: options.maxAttempts,
    });
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
        .join('; ');
      throw new CloudError('invalid', `EC2 adapter options: ${issues}`);
    }
    this.region = parsed.data.region;
    this.client = new this.sdk.EC2Client({
      region: this.region,
      maxAttempts: parsed.data.maxAttempts ?? 3,
      ...(parsed.data.endpoint ? { endpoint: parsed.data.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  close(): void {
    this.client.destroy();
  }

  async describeInstance(instanceId: string): Promise<SentryInstance | undefined> {
    try {
      const [instance] = await this.describeInstances({ InstanceIds: [instanceId] });
      return instance;
    } catch (error) {
      if (error instanceof CloudError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  async bindSentry(fleet: string, instanceId: string, node: string): Promise<void> {
    const instance = await this.ownedSentry(fleet, instanceId, 'bind');
    if (instance.node === node) return;
    if (instance.node !== undefined) {
      throw new CloudError(
        'refused',
        `Instance ${instanceId} is tagged ${BEAM_TAGS.node}=${instance.node}: it is bound to that sentry, not ${node}`,
      );
    }
    await this.call('CreateTags', (ec2) =>
      ec2.send(
        new this.sdk.CreateTagsCommand({
          Resources: [instanceId],
          Tags: [{ Key: BEAM_TAGS.node, Value: node }],
        }),
      ),
    );
  }

  async describeSentries(fleet: string): Promise<SentryInstance[]> {
    return this.describeInstances({ Filters: [...fleetFilters(fleet), tagFilter(BEAM_TAGS.role, 'sentry')] });
  }

  async listAddresses(fleet: string): Promise<ManagedAddress[]> {
    return this.describeAddresses(fleetFilters(fleet));
  }

  async rotateAddress({ fleet, node, instanceId, opKey }: RotateAddressRequest): Promise<RotationResult> {
    const instance = await this.ownedSentry(fleet, instanceId, 'rotate the address of');
    boundTo(instance, node, 'rotate the address of');
    if (instance.state !== 'running' && instance.state !== 'pending') {
      throw new CloudError(
        'conflict',
        `Sentry ${instanceId} is ${instance.state}: its address cannot be rotated`,
      );
    }
    const [onInstance] = await this.describeAddresses([{ Name: 'instance-id', Values: [instanceId] }]);
    const target = await this.addressForOp(fleet, node, instanceId, opKey);
    const associationId =
      target.instanceId === instanceId && target.associationId
        ? target.associationId
        : await this.associate(target.allocationId, instanceId);

    const displaced = onInstance && onInstance.allocationId !== target.allocationId ? onInstance : undefined;
    const released = await this.releaseLeftovers(
      fleet,
      node,
      target.allocationId,
      displaced ? [displaced.allocationId] : [],
    );
    return {
      instanceId,
      allocationId: target.allocationId,
      publicIp: target.publicIp,
      associationId,
      previousPublicIp: instance.publicIp === target.publicIp ? undefined : instance.publicIp,
      released,
      foreignAllocationId:
        displaced && !isManagedBy(displaced.tags, fleet) ? displaced.allocationId : undefined,
    };
  }

  async releaseAddress(fleet: string, allocationId: string): Promise<void> {
    const [address] = await this.describeAddresses(undefined, [allocationId]);
    if (!address)
      throw new CloudError('not-found', `Elastic IP ${allocationId} does not exist in ${this.region}`);
    if (!isManagedBy(address.tags, fleet)) {
      throw new CloudError(
        'refused',
        `Elastic IP ${address.publicIp} (${allocationId}) is not tagged ${BEAM_TAGS.managed}=true and ` +
          `${BEAM_TAGS.fleet}=${fleet}: Beam releases only addresses it allocated; release it by hand if it is unused`,
      );
    }
    if (address.instanceId) {
      throw new CloudError(
        'refused',
        `Elastic IP ${address.publicIp} (${allocationId}) is associated with ${address.instanceId}: ` +
          `rotate that sentry's address instead of releasing this one`,
      );
    }
    await this.release(allocationId);
  }

  async terminateSentry(fleet: string, instanceId: string, node: string): Promise<TerminateResult> {
    const instance = await this.ownedSentry(fleet, instanceId, 'terminate');
    boundTo(instance, node, 'terminate');
    const attached = (await this.listAddresses(fleet)).filter((a) => a.instanceId === instanceId);
    let previousState = instance.state;
    let currentState = instance.state;
    if (instance.state !== 'shutting-down' && instance.state !== 'terminated') {
      const out = await this.call('TerminateInstances', (ec2) =>
        ec2.send(new this.sdk.TerminateInstancesCommand({ InstanceIds: [instanceId] })),
      );
      const change = out.TerminatingInstances?.find((c) => c.InstanceId === instanceId);
      previousState = (change?.PreviousState?.Name ?? instance.state) as SentryState;
      currentState = (change?.CurrentState?.Name ?? 'shutting-down') as SentryState;
    }
    const released = await this.releaseLeftovers(
      fleet,
      instance.node,
      undefined,
      attached.map((a) => a.allocationId),
    );
    return { instanceId, previousState, currentState, released };
  }

  // ---- rotation steps ----

  /**
   * The address this rotation uses: the one it already allocated (found by its `beam:op` tag), or a
   * new one tagged at allocation so a retry after a lost answer or a crash finds it again.
   */
  private async addressForOp(
    fleet: string,
    node: string,
    instanceId: string,
    opKey: string,
  ): Promise<ManagedAddress> {
    const mine = await this.describeAddresses([...fleetFilters(fleet), tagFilter(BEAM_TAGS.op, opKey)]);
    const ordered = [...mine].sort((a, b) => a.allocationId.localeCompare(b.allocationId));
    const usable = ordered.find((a) => a.instanceId === instanceId) ?? ordered.find((a) => !a.instanceId);
    if (usable) return usable;
    if (ordered.length > 0) {
      throw new CloudError(
        'conflict',
        `The address of rotation ${opKey} is now associated with ${ordered[0]!.instanceId}, not ${instanceId}: ` +
          'start a new rotation',
      );
    }
    const out = await this.call('AllocateAddress', (ec2) =>
      ec2.send(
        new this.sdk.AllocateAddressCommand({
          Domain: 'vpc',
          TagSpecifications: [
            {
              ResourceType: 'elastic-ip',
              Tags: [
                { Key: BEAM_TAGS.managed, Value: 'true' },
                { Key: BEAM_TAGS.fleet, Value: fleet },
                { Key: BEAM_TAGS.node, Value: node },
                { Key: BEAM_TAGS.op, Value: opKey },
              ],
            },
          ],
        }),
      ),
    );
    if (!out.AllocationId || !out.PublicIp) {
      throw new CloudError(
        'transient',
        `ec2:AllocateAddress in ${this.region} answered without an allocation id`,
      );
    }
    return {
      allocationId: out.AllocationId,
      publicIp: out.PublicIp,
      associationId: undefined,
      instanceId: undefined,
      node,
      op: opKey,
      tags: {},
    };
  }

  /** Never steals: AllowReassociation stays off, so an address in use elsewhere fails as a conflict. */
  private async associate(allocationId: string, instanceId: string): Promise<string> {
    const out = await this.call('AssociateAddress', (ec2) =>
      ec2.send(
        new this.sdk.AssociateAddressCommand({
          AllocationId: allocationId,
          InstanceId: instanceId,
          AllowReassociation: false,
        }),
      ),
    );
    if (!out.AssociationId) {
      throw new CloudError(
        'transient',
        `ec2:AssociateAddress in ${this.region} answered without an association id`,
      );
    }
    return out.AssociationId;
  }

  /**
   * Releases the node's unassociated Beam addresses other than `keep`, plus the `displaced` ones if
   * Beam's: what a rotation replaced or a terminated sentry held, and any a crashed or SDK-retried
   * attempt allocated. Associated or foreign addresses are never touched.
   */
  private async releaseLeftovers(
    fleet: string,
    node: string | undefined,
    keep: string | undefined,
    displaced: readonly string[],
  ): Promise<string[]> {
    const ownedByNode = (a: ManagedAddress) => node !== undefined && a.node === node;
    const leftovers = (await this.listAddresses(fleet)).filter(
      (a) =>
        a.allocationId !== keep && !a.instanceId && (ownedByNode(a) || displaced.includes(a.allocationId)),
    );
    const released: string[] = [];
    for (const address of leftovers) {
      try {
        await this.release(address.allocationId);
        released.push(address.allocationId);
      } catch (error) {
        // Released meanwhile by a concurrent retry of the same operation: the goal is reached.
        if (!(error instanceof CloudError && error.kind === 'not-found')) throw error;
      }
    }
    return released;
  }

  // ---- EC2 calls ----

  private async ownedSentry(fleet: string, instanceId: string, verb: string): Promise<SentryInstance> {
    const [instance] = await this.describeInstances({ InstanceIds: [instanceId] });
    if (!instance)
      throw new CloudError('not-found', `Instance ${instanceId} does not exist in ${this.region}`);
    if (!isManagedBy(instance.tags, fleet) || instance.tags[BEAM_TAGS.role] !== 'sentry') {
      throw new CloudError(
        'refused',
        `Refusing to ${verb} ${instanceId}: it is not tagged ${BEAM_TAGS.role}=sentry, ${BEAM_TAGS.managed}=true ` +
          `and ${BEAM_TAGS.fleet}=${fleet}; Beam acts only on sentries it manages`,
      );
    }
    return instance;
  }

  private async describeInstances(input: {
    InstanceIds?: string[];
    Filters?: Filter[];
  }): Promise<SentryInstance[]> {
    const found: SentryInstance[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.call('DescribeInstances', (ec2) =>
        ec2.send(new this.sdk.DescribeInstancesCommand({ ...input, NextToken })),
      );
      for (const reservation of out.Reservations ?? [])
        found.push(...(reservation.Instances ?? []).map(toSentry));
      NextToken = out.NextToken;
    } while (NextToken);
    return found;
  }

  private async describeAddresses(filters?: Filter[], allocationIds?: string[]): Promise<ManagedAddress[]> {
    const out = await this.call('DescribeAddresses', (ec2) =>
      ec2.send(new this.sdk.DescribeAddressesCommand({ Filters: filters, AllocationIds: allocationIds })),
    );
    return (out.Addresses ?? []).map(toManaged);
  }

  private async release(allocationId: string): Promise<void> {
    await this.call('ReleaseAddress', (ec2) =>
      ec2.send(new this.sdk.ReleaseAddressCommand({ AllocationId: allocationId })),
    );
  }

  private async call<Output>(action: string, send: (ec2: Ec2.EC2Client) => Promise<Output>): Promise<Output> {
    try {
      return await send(this.client);
    } catch (error) {
      throw toCloudError(error, action, this.region);
    }
  }
}
