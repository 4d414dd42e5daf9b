// The EC2 Query API actions the emulation answers: form parameters in, XML response fields out.
import { Ec2Fault } from './faults.js';
import { type Address, type Ec2Account, type Instance, type InstanceState, STATE_CODES } from './model.js';
import { type Params, filters, flag, indexedList, required, tagList, tagSpecifications } from './query.js';
import type { XmlValue } from './xml.js';

/** The emulated AWS account: owner of every reservation, and named in identity documents. */
export const ACCOUNT_ID = '123456789012';

export interface ActionContext {
  account: Ec2Account;
  region: string;
  /** Called with instances that TerminateInstances moved to shutting-down. */
  shuttingDown(instances: Instance[]): void;
}

type Handler = (params: Params, ctx: ActionContext) => Record<string, XmlValue>;

const tagSet = (tags: Record<string, string>): XmlValue[] =>
  Object.entries(tags).map(([key, value]) => ({ key, value }));

const stateXml = (state: InstanceState) => ({ code: STATE_CODES[state], name: state });

function instanceXml(instance: Instance, region: string): XmlValue {
  return {
    instanceId: instance.instanceId,
    imageId: 'ami-0devnet0sentry000',
    instanceState: stateXml(instance.state),
    privateDnsName: `ip-${instance.privateIp.replace(/\./g, '-')}.ec2.internal`,
    dnsName: '',
    instanceType: 't3.medium',
    launchTime: instance.launchTime,
    placement: { availabilityZone: `${region}a` },
    privateIpAddress: instance.privateIp,
    ipAddress: instance.publicIp,
    tagSet: tagSet(instance.tags),
  };
}

function addressXml(address: Address, region: string): XmlValue {
  return {
    publicIp: address.publicIp,
    allocationId: address.allocationId,
    domain: address.domain,
    instanceId: address.instanceId,
    associationId: address.associationId,
    privateIpAddress: address.privateIp,
    tagSet: tagSet(address.tags),
    publicIpv4Pool: 'amazon',
    networkBorderGroup: region,
  };
}

const describeInstances: Handler = (params, { account, region }) => {
  const instances = account.describeInstances(indexedList(params, 'InstanceId'), filters(params));
  // One reservation per launch, as EC2 groups them.
  const byReservation = new Map<string, Instance[]>();
  for (const instance of instances) {
    const reservationId = account.reservationOf(instance.instanceId);
    byReservation.set(reservationId, [...(byReservation.get(reservationId) ?? []), instance]);
  }
  return {
    reservationSet: [...byReservation].map(([reservationId, members]) => ({
      reservationId,
      ownerId: ACCOUNT_ID,
      groupSet: [],
      instancesSet: members.map((member) => instanceXml(member, region)),
    })),
  };
};

const describeAddresses: Handler = (params, { account, region }) => ({
  addressesSet: account
    .describeAddresses(indexedList(params, 'AllocationId'), indexedList(params, 'PublicIp'), filters(params))
    .map((address) => addressXml(address, region)),
});

const allocateAddress: Handler = (params, { account, region }) => {
  const domain = params.get('Domain') ?? 'vpc';
  if (domain !== 'vpc') {
    throw new Ec2Fault(
      'InvalidParameterValue',
      `Value (${domain}) for parameter domain is invalid; use 'vpc'`,
    );
  }
  const address = account.allocateAddress(tagSpecifications(params, 'elastic-ip'));
  return {
    publicIp: address.publicIp,
    domain: address.domain,
    allocationId: address.allocationId,
    publicIpv4Pool: 'amazon',
    networkBorderGroup: region,
  };
};

const associateAddress: Handler = (params, { account }) => {
  if (params.has('NetworkInterfaceId')) {
    throw new Ec2Fault('InvalidParameterValue', 'The emulation associates addresses with instances only');
  }
  const associationId = account.associateAddress(
    required(params, 'AllocationId'),
    required(params, 'InstanceId'),
    flag(params, 'AllowReassociation'),
  );
  return { return: true, associationId };
};

const disassociateAddress: Handler = (params, { account }) => {
  account.disassociateAddress(required(params, 'AssociationId'));
  return { return: true };
};

const releaseAddress: Handler = (params, { account }) => {
  account.releaseAddress(required(params, 'AllocationId'));
  return { return: true };
};

function resourceIds(params: Params): string[] {
  const ids = indexedList(params, 'ResourceId');
  if (ids.length === 0)
    throw new Ec2Fault('MissingParameter', 'The request must contain the parameter ResourceId');
  return ids;
}

const createTags: Handler = (params, { account }) => {
  const tags = tagList(params, 'Tag');
  if (tags.length === 0) throw new Ec2Fault('MissingParameter', 'The request must contain the parameter Tag');
  account.createTags(resourceIds(params), tags);
  return { return: true };
};

const deleteTags: Handler = (params, { account }) => {
  account.deleteTags(resourceIds(params), tagList(params, 'Tag'));
  return { return: true };
};

const terminateInstances: Handler = (params, ctx) => {
  const ids = indexedList(params, 'InstanceId');
  if (ids.length === 0)
    throw new Ec2Fault('MissingParameter', 'The request must contain the parameter InstanceId');
  const changes = ctx.account.terminate(ids);
  ctx.shuttingDown(changes.filter((c) => c.previous !== 'terminated').map((c) => c.instance));
  return {
    instancesSet: changes.map(({ instance, previous }) => ({
      instanceId: instance.instanceId,
      currentState: stateXml(instance.state),
      previousState: stateXml(previous),
    })),
  };
};

export const ACTIONS: Readonly<Record<string, Handler>> = {
  DescribeInstances: describeInstances,
  DescribeAddresses: describeAddresses,
  AllocateAddress: allocateAddress,
  AssociateAddress: associateAddress,
  DisassociateAddress: disassociateAddress,
  ReleaseAddress: releaseAddress,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  TerminateInstances: terminateInstances,
};
