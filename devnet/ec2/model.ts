// The emulated account: instances and Elastic IP addresses, and the EC2 rules that govern them.
// Pure state; the server adds the clock-driven parts (termination, autoscaling replacement).
import { randomBytes } from 'node:crypto';
import { Ec2Fault } from './faults.js';
import type { Filter, TagInput } from './query.js';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';

export const STATE_CODES: Record<InstanceState, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
};

/** The tag by which EC2 Auto Scaling marks the instances of a group. */
export const GROUP_TAG = 'aws:autoscaling:groupName';

/** A snapshot of an instance, as the emulator's API returns it. */
export interface Instance {
  instanceId: string;
  name: string | undefined;
  group: string | undefined;
  tags: Record<string, string>;
  privateIp: string;
  publicIp: string | undefined;
  state: InstanceState;
  launchTime: Date;
}

export interface Address {
  allocationId: string;
  publicIp: string;
  domain: 'vpc';
  associationId: string | undefined;
  instanceId: string | undefined;
  privateIp: string | undefined;
  tags: Record<string, string>;
}

export interface InstanceSpec {
  name?: string;
  /** Autoscaling group name, stored as the `aws:autoscaling:groupName` tag. */
  group?: string;
  tags?: Record<string, string>;
  privateIp?: string;
  /** Give the instance an auto-assigned public IP while no Elastic IP is associated (default true). */
  autoPublicIp?: boolean;
  state?: 'pending' | 'running';
}

interface InstanceRecord {
  instanceId: string;
  reservationId: string;
  tags: Map<string, string>;
  /** The tags it launched with: what an autoscaling group gives a replacement (later CreateTags are not). */
  launchTags: ReadonlyMap<string, string>;
  privateIp: string;
  autoAssign: boolean;
  autoPublicIp: string | undefined;
  state: InstanceState;
  launchTime: Date;
}

interface AddressRecord {
  allocationId: string;
  publicIp: string;
  association: { associationId: string; instanceId: string } | undefined;
  tags: Map<string, string>;
}

/** Documentation ranges (RFC 5737): never routable, never dialed. */
const PUBLIC_POOL = ['198.51.100', '203.0.113'].flatMap((net) =>
  Array.from({ length: 254 }, (_, i) => `${net}.${i + 1}`),
);

const newId = (prefix: string): string => `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;

/** EC2 filter values accept `*` and `?` wildcards. */
function matchesValue(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(value);
}

function matchesFilter(filter: Filter, candidates: readonly (string | undefined)[]): boolean {
  return filter.values.some((pattern) =>
    candidates.some((value) => value !== undefined && matchesValue(pattern, value)),
  );
}

/** Matches the filters EC2 applies to both resources: `tag:<key>` and `tag-key`. */
function tagFilter(filter: Filter, tags: Map<string, string>): boolean | undefined {
  if (filter.name.startsWith('tag:')) return matchesFilter(filter, [tags.get(filter.name.slice(4))]);
  if (filter.name === 'tag-key') return matchesFilter(filter, [...tags.keys()]);
  return undefined;
}

/** EC2 rejects unknown filter names even when nothing would match. */
function checkFilters(filters: Filter[], known: readonly string[]): void {
  for (const { name } of filters) {
    if (!name.startsWith('tag:') && name !== 'tag-key' && !known.includes(name)) {
      throw new Ec2Fault('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
  }
}

const ADDRESS_FILTERS = ['allocation-id', 'public-ip', 'association-id', 'instance-id', 'domain'];

export class Ec2Account {
  private readonly instancesById = new Map<string, InstanceRecord>();
  private readonly addressesById = new Map<string, AddressRecord>();
  private poolCursor = 0;
  private privateCounter = 10;

  constructor(private readonly addressLimit: number) {}

  // ---- instances ----

  addInstance(spec: InstanceSpec): Instance {
    const tags = new Map(Object.entries(spec.tags ?? {}));
    if (spec.name !== undefined) tags.set('Name', spec.name);
    if (spec.group !== undefined) tags.set(GROUP_TAG, spec.group);
    const autoAssign = spec.autoPublicIp ?? true;
    const record: InstanceRecord = {
      instanceId: newId('i'),
      reservationId: newId('r'),
      tags,
      launchTags: new Map(tags),
      privateIp: spec.privateIp ?? this.nextPrivateIp(),
      autoAssign,
      autoPublicIp: autoAssign ? this.nextPublicIp() : undefined,
      state: spec.state ?? 'running',
      launchTime: new Date(),
    };
    this.instancesById.set(record.instanceId, record);
    return this.instanceSnapshot(record);
  }

  instances(): Instance[] {
    return [...this.instancesById.values()].map((record) => this.instanceSnapshot(record));
  }

  instance(instanceId: string): Instance {
    return this.instanceSnapshot(this.instanceRecord(instanceId));
  }

  describeInstances(instanceIds: string[], filters: Filter[]): Instance[] {
    checkFilters(filters, ['instance-state-name', 'instance-id']);
    for (const id of instanceIds) this.instanceRecord(id);
    const matches = (record: InstanceRecord) =>
      filters.every(
        (filter) =>
          tagFilter(filter, record.tags) ??
          matchesFilter(filter, [filter.name === 'instance-id' ? record.instanceId : record.state]),
      );
    return [...this.instancesById.values()]
      .filter((record) => instanceIds.length === 0 || instanceIds.includes(record.instanceId))
      .filter(matches)
      .map((record) => this.instanceSnapshot(record));
  }

  reservationOf(instanceId: string): string {
    return this.instanceRecord(instanceId).reservationId;
  }

  /** Starts terminating: returns the state change; Elastic IPs are disassociated at once, as on EC2. */
  terminate(instanceIds: string[]): { instance: Instance; previous: InstanceState }[] {
    const records = instanceIds.map((id) => this.instanceRecord(id));
    return records.map((record) => {
      const previous = record.state;
      if (previous !== 'terminated') {
        record.state = 'shutting-down';
        for (const address of this.addressesById.values()) {
          if (address.association?.instanceId === record.instanceId) address.association = undefined;
        }
        record.autoPublicIp = undefined;
      }
      return { instance: this.instanceSnapshot(record), previous };
    });
  }

  setState(instanceId: string, state: InstanceState): Instance {
    const record = this.instanceRecord(instanceId);
    record.state = state;
    return this.instanceSnapshot(record);
  }

  /**
   * A new instance for the same autoscaling group: the tags the old one launched with (as a group
   * propagates them; tags added later, such as `beam:node`, stay behind), `Name` suffixed with a
   * generation.
   */
  launchReplacement(old: Instance): Instance {
    const oldRecord = this.instanceRecord(old.instanceId);
    const tags = Object.fromEntries(oldRecord.launchTags);
    if (old.name !== undefined) {
      const match = /^(.*)-r(\d+)$/.exec(old.name);
      tags['Name'] = match ? `${match[1]}-r${Number(match[2]) + 1}` : `${old.name}-r1`;
    }
    return this.addInstance({ tags, autoPublicIp: oldRecord.autoAssign, state: 'pending' });
  }

  /** Gives an instance the private address its machine has (a launcher placing a replacement). */
  setPrivateIp(instanceId: string, privateIp: string): Instance {
    const record = this.instanceRecord(instanceId);
    record.privateIp = privateIp;
    return this.instanceSnapshot(record);
  }

  // ---- addresses ----

  addresses(): Address[] {
    return [...this.addressesById.values()].map((record) => this.addressSnapshot(record));
  }

  describeAddresses(allocationIds: string[], publicIps: string[], filters: Filter[]): Address[] {
    checkFilters(filters, ADDRESS_FILTERS);
    for (const id of allocationIds) this.addressRecord(id);
    for (const ip of publicIps) {
      if (![...this.addressesById.values()].some((a) => a.publicIp === ip)) {
        throw new Ec2Fault('InvalidAddress.NotFound', `Address '${ip}' not found.`);
      }
    }
    const matches = (record: AddressRecord) =>
      filters.every((filter) => {
        const byTag = tagFilter(filter, record.tags);
        if (byTag !== undefined) return byTag;
        const field: Record<string, string | undefined> = {
          'allocation-id': record.allocationId,
          'public-ip': record.publicIp,
          'association-id': record.association?.associationId,
          'instance-id': record.association?.instanceId,
          domain: 'vpc',
        };
        return matchesFilter(filter, [field[filter.name]]);
      });
    return [...this.addressesById.values()]
      .filter((record) => allocationIds.length === 0 || allocationIds.includes(record.allocationId))
      .filter((record) => publicIps.length === 0 || publicIps.includes(record.publicIp))
      .filter(matches)
      .map((record) => this.addressSnapshot(record));
  }

  allocateAddress(tags: TagInput[]): Address {
    if (this.addressesById.size >= this.addressLimit) {
      throw new Ec2Fault('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
    }
    const record: AddressRecord = {
      allocationId: newId('eipalloc'),
      publicIp: this.nextPublicIp(),
      association: undefined,
      tags: new Map(tags.map((tag) => [tag.key, tag.value ?? ''])),
    };
    this.addressesById.set(record.allocationId, record);
    return this.addressSnapshot(record);
  }

  associateAddress(allocationId: string, instanceId: string, allowReassociation: boolean): string {
    const address = this.addressRecord(allocationId);
    const instance = this.instanceRecord(instanceId);
    if (instance.state !== 'running' && instance.state !== 'pending') {
      throw new Ec2Fault(
        'IncorrectInstanceState',
        `The instance '${instanceId}' is not in a valid state for this operation.`,
      );
    }
    if (address.association && address.association.instanceId !== instanceId && !allowReassociation) {
      throw new Ec2Fault(
        'Resource.AlreadyAssociated',
        `resource ${allocationId} is already associated with associate-id ${address.association.associationId}`,
      );
    }
    // An instance has one public address: a new Elastic IP displaces the old one, which stays allocated.
    for (const other of this.addressesById.values()) {
      if (other.association?.instanceId === instanceId) other.association = undefined;
    }
    instance.autoPublicIp = undefined;
    address.association = { associationId: newId('eipassoc'), instanceId };
    return address.association.associationId;
  }

  disassociateAddress(associationId: string): void {
    const address = [...this.addressesById.values()].find(
      (record) => record.association?.associationId === associationId,
    );
    if (!address?.association) {
      throw new Ec2Fault(
        'InvalidAssociationID.NotFound',
        `The association ID '${associationId}' does not exist`,
      );
    }
    const instance = this.instanceRecord(address.association.instanceId);
    address.association = undefined;
    if (instance.autoAssign && instance.state !== 'shutting-down' && instance.state !== 'terminated') {
      instance.autoPublicIp = this.nextPublicIp();
    }
  }

  releaseAddress(allocationId: string): void {
    const address = this.addressRecord(allocationId);
    if (address.association) {
      throw new Ec2Fault('InvalidIPAddress.InUse', `Address ${address.publicIp} is in use.`);
    }
    this.addressesById.delete(allocationId);
  }

  // ---- tags ----

  createTags(resourceIds: string[], tags: TagInput[]): void {
    const reserved = tags.find((tag) => tag.key.startsWith('aws:'));
    if (reserved) {
      throw new Ec2Fault(
        'InvalidParameterValue',
        `Tag key '${reserved.key}': keys starting with 'aws:' are reserved for internal use`,
      );
    }
    const targets = resourceIds.map((id) => this.tagsOf(id));
    for (const target of targets) for (const tag of tags) target.set(tag.key, tag.value ?? '');
  }

  /** Deletes the given tags (only where the value matches, if one is given), or every tag if none given. */
  deleteTags(resourceIds: string[], tags: TagInput[]): void {
    const targets = resourceIds.map((id) => this.tagsOf(id));
    for (const target of targets) {
      if (tags.length === 0) {
        for (const key of [...target.keys()]) if (!key.startsWith('aws:')) target.delete(key);
      }
      for (const tag of tags) {
        if (tag.value === undefined || target.get(tag.key) === tag.value) target.delete(tag.key);
      }
    }
  }

  // ---- internals ----

  private tagsOf(resourceId: string): Map<string, string> {
    if (resourceId.startsWith('i-')) return this.instanceRecord(resourceId).tags;
    if (resourceId.startsWith('eipalloc-')) return this.addressRecord(resourceId).tags;
    throw new Ec2Fault('InvalidID', `The ID '${resourceId}' is not valid`);
  }

  private instanceRecord(instanceId: string): InstanceRecord {
    const record = this.instancesById.get(instanceId);
    if (!record)
      throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    return record;
  }

  private addressRecord(allocationId: string): AddressRecord {
    const record = this.addressesById.get(allocationId);
    if (!record) {
      throw new Ec2Fault(
        'InvalidAllocationID.NotFound',
        `The allocation ID '${allocationId}' does not exist`,
      );
    }
    return record;
  }

  private publicIpOf(record: InstanceRecord): string | undefined {
    const eip = [...this.addressesById.values()].find((a) => a.association?.instanceId === record.instanceId);
    return eip?.publicIp ?? record.autoPublicIp;
  }

  /** The next documentation-range address not in use, scanning on from the last one handed out. */
  private nextPublicIp(): string {
    const inUse = new Set<string>([
      ...[...this.addressesById.values()].map((a) => a.publicIp),
      ...[...this.instancesById.values()].flatMap((i) => (i.autoPublicIp ? [i.autoPublicIp] : [])),
    ]);
    for (let step = 0; step < PUBLIC_POOL.length; step++) {
      const candidate = PUBLIC_POOL[(this.poolCursor + step) % PUBLIC_POOL.length]!;
      if (!inUse.has(candidate)) {
        this.poolCursor = (this.poolCursor + step + 1) % PUBLIC_POOL.length;
        return candidate;
      }
    }
    throw new Ec2Fault('InsufficientAddressCapacity', 'No public addresses are left in the emulated pool.');
  }

  private nextPrivateIp(): string {
    const n = this.privateCounter++;
    return `10.0.${(n >> 8) & 255}.${n & 255}`;
  }

  private instanceSnapshot(record: InstanceRecord): Instance {
    const tags = Object.fromEntries(record.tags);
    return {
      instanceId: record.instanceId,
      name: tags['Name'],
      group: tags[GROUP_TAG],
      tags,
      privateIp: record.privateIp,
      publicIp: this.publicIpOf(record),
      state: record.state,
      launchTime: record.launchTime,
    };
  }

  private addressSnapshot(record: AddressRecord): Address {
    const instanceId = record.association?.instanceId;
    return {
      allocationId: record.allocationId,
      publicIp: record.publicIp,
      domain: 'vpc',
      associationId: record.association?.associationId,
      instanceId,
      privateIp: instanceId ? this.instancesById.get(instanceId)?.privateIp : undefined,
      tags: Object.fromEntries(record.tags),
    };
  }
}
