import { AllocateAddressCommand, AssociateAddressCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ec2Cloud, type Ec2CloudOptions } from '../../../commander/adapters/ec2/ec2-cloud.js';
import { CloudError, type RotationResult } from '../../../commander/adapters/ec2/port.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../../../devnet/ec2/emulator.js';

const FLEET = 'mainnet';
const CREDENTIALS = { accessKeyId: 'AKIDEVNET', secretAccessKey: 'devnet-secret' };

let emulator: Ec2Emulator;
const clouds: Ec2Cloud[] = [];

function cloud(options: Ec2CloudOptions = {}): Ec2Cloud {
  const created = new Ec2Cloud({
    region: 'us-east-1',
    endpoint: emulator.url,
    credentials: CREDENTIALS,
    maxAttempts: 1,
    ...options,
  });
  clouds.push(created);
  return created;
}

function sentry(node: string, extra: Record<string, string> = {}): Instance {
  return emulator.addInstance({
    name: node,
    group: 'sentries',
    tags: { 'beam:role': 'sentry', 'beam:managed': 'true', 'beam:fleet': FLEET, 'beam:node': node, ...extra },
  });
}

/** Addresses carrying Beam's tags, split by whether they are associated. */
function beamAddresses() {
  const beam = emulator.addresses().filter((a) => a.tags['beam:managed'] === 'true');
  return { associated: beam.filter((a) => a.instanceId), leaked: beam.filter((a) => !a.instanceId) };
}

async function cloudError(promise: Promise<unknown>): Promise<CloudError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CloudError);
  return error as CloudError;
}

/** A rotation's end state: one Beam address on the instance, nothing leaked, the old one gone. */
function expectRotated(instanceId: string, result: RotationResult, oldAllocationId: string) {
  const { associated, leaked } = beamAddresses();
  expect(leaked).toEqual([]);
  expect(associated.filter((a) => a.instanceId === instanceId).map((a) => a.allocationId)).toEqual([
    result.allocationId,
  ]);
  expect(emulator.addresses().some((a) => a.allocationId === oldAllocationId)).toBe(false);
  expect(emulator.instance(instanceId).publicIp).toBe(result.publicIp);
}

beforeEach(async () => {
  emulator = await startEc2Emulator();
});

afterEach(async () => {
  for (const c of clouds.splice(0)) c.close();
  await emulator.stop();
});

describe('describeSentries and listAddresses', () => {
  it('lists only Beam-managed sentries and addresses of the fleet', async () => {
    const a = sentry('sentry-a');
    sentry('other', { 'beam:fleet': 'testnet' });
    emulator.addInstance({ name: 'validator', tags: { 'beam:managed': 'true', 'beam:fleet': FLEET } });
    emulator.addInstance({ name: 'unmanaged', tags: { 'beam:role': 'sentry', 'beam:fleet': FLEET } });
    const sentries = await cloud().describeSentries(FLEET);
    expect(sentries).toEqual([
      expect.objectContaining({
        instanceId: a.instanceId,
        node: 'sentry-a',
        name: 'sentry-a',
        state: 'running',
        privateIp: a.privateIp,
        publicIp: a.publicIp,
        group: 'sentries',
      }),
    ]);
    expect(emulator.requests().at(-1)?.params).toEqual({
      'Filter.1.Name': 'tag:beam:managed',
      'Filter.1.Value.1': 'true',
      'Filter.2.Name': 'tag:beam:fleet',
      'Filter.2.Value.1': FLEET,
      'Filter.3.Name': 'tag:beam:role',
      'Filter.3.Value.1': 'sentry',
    });
    expect(await cloud().listAddresses(FLEET)).toEqual([]);
  });
});

describe('rotateAddress', () => {
  it('allocates a tagged address, associates it, releases the old one, and is a no-op when repeated', async () => {
    const a = sentry('sentry-a');
    const ec2 = cloud();
    const first = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-1',
    });
    expect(first.previousPublicIp).toBe(a.publicIp);
    expect(first.released).toEqual([]);
    emulator.clearRequests();

    const second = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-2',
    });
    expect(second.publicIp).not.toBe(first.publicIp);
    expect(second.previousPublicIp).toBe(first.publicIp);
    expect(second.released).toEqual([first.allocationId]);
    expect(second.foreignAllocationId).toBeUndefined();
    expectRotated(a.instanceId, second, first.allocationId);
    expect(emulator.addresses()[0]?.tags).toEqual({
      'beam:managed': 'true',
      'beam:fleet': FLEET,
      'beam:node': 'sentry-a',
      'beam:op': 'op-2',
    });

    const requests = emulator.requests();
    expect(requests.map((r) => r.action)).toEqual([
      'DescribeInstances',
      'DescribeAddresses',
      'DescribeAddresses',
      'AllocateAddress',
      'AssociateAddress',
      'DescribeAddresses',
      'ReleaseAddress',
    ]);
    expect(requests[0]?.params).toEqual({ 'InstanceId.1': a.instanceId });
    expect(requests[1]?.params).toEqual({ 'Filter.1.Name': 'instance-id', 'Filter.1.Value.1': a.instanceId });
    expect(requests[3]?.params).toEqual({
      Domain: 'vpc',
      'TagSpecification.1.ResourceType': 'elastic-ip',
      'TagSpecification.1.Tag.1.Key': 'beam:managed',
      'TagSpecification.1.Tag.1.Value': 'true',
      'TagSpecification.1.Tag.2.Key': 'beam:fleet',
      'TagSpecification.1.Tag.2.Value': FLEET,
      'TagSpecification.1.Tag.3.Key': 'beam:node',
      'TagSpecification.1.Tag.3.Value': 'sentry-a',
      'TagSpecification.1.Tag.4.Key': 'beam:op',
      'TagSpecification.1.Tag.4.Value': 'op-2',
    });
    expect(requests[4]?.params).toEqual({
      AllocationId: second.allocationId,
      InstanceId: a.instanceId,
      AllowReassociation: 'false',
    });
    expect(requests[6]?.params).toEqual({ AllocationId: first.allocationId });

    emulator.clearRequests();
    const again = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-2',
    });
    expect(again).toMatchObject({
      allocationId: second.allocationId,
      publicIp: second.publicIp,
      released: [],
    });
    expect(emulator.requests().map((r) => r.action)).not.toContain('AllocateAddress');
    expect(emulator.requests().map((r) => r.action)).not.toContain('AssociateAddress');
    expectRotated(a.instanceId, again, first.allocationId);
  });

  it('resumes after AssociateAddress fails mid-rotation and the process restarts', async () => {
    const a = sentry('sentry-a');
    const old = await cloud().rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-1',
    });
    emulator.failNext('AssociateAddress', 'InternalError');
    const failed = await cloudError(
      cloud().rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: a.instanceId, opKey: 'op-2' }),
    );
    expect(failed.kind).toBe('transient');
    expect(failed.retryable).toBe(true);
    expect(failed.code).toBe('InternalError');
    // Crashed between allocate and associate: the new address exists, unassociated, tagged with the op.
    expect(beamAddresses().leaked.map((x) => x.tags['beam:op'])).toEqual(['op-2']);

    const resumed = await cloud().rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-2',
    });
    expect(emulator.requests().filter((r) => r.action === 'AllocateAddress')).toHaveLength(2); // op-1, op-2 once
    expect(resumed.released).toEqual([old.allocationId]);
    expectRotated(a.instanceId, resumed, old.allocationId);
  });

  it('resumes after ReleaseAddress fails once the new address is associated', async () => {
    const a = sentry('sentry-a');
    const ec2 = cloud();
    const old = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-1',
    });
    emulator.failNext('ReleaseAddress', 'ServiceUnavailable');
    expect(
      (
        await cloudError(
          ec2.rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: a.instanceId, opKey: 'op-2' }),
        )
      ).kind,
    ).toBe('transient');
    const resumed = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-2',
    });
    expect(resumed.released).toEqual([old.allocationId]);
    expectRotated(a.instanceId, resumed, old.allocationId);
  });

  it('cleans up the duplicate when the SDK retries an AllocateAddress whose answer was lost', async () => {
    const a = sentry('sentry-a');
    const ec2 = cloud({ maxAttempts: 3 });
    const old = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-1',
    });
    emulator.failNext('AllocateAddress', 'InternalError', 1, { afterApply: true });
    const result = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'op-2',
    });
    const allocations = emulator.requests().filter((r) => r.action === 'AllocateAddress');
    expect(allocations.map((r) => r.errorCode)).toEqual([undefined, 'InternalError', undefined]);
    expect(result.released).toHaveLength(2); // the old address and the duplicate of the lost answer
    expect(result.released).toContain(old.allocationId);
    expectRotated(a.instanceId, result, old.allocationId);
  });

  it('keeps an Elastic IP Beam does not own when the rotation displaces it', async () => {
    const a = sentry('sentry-a');
    const raw = new EC2Client({ endpoint: emulator.url, region: 'us-east-1', credentials: CREDENTIALS });
    try {
      const foreign = await raw.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      await raw.send(
        new AssociateAddressCommand({ AllocationId: foreign.AllocationId, InstanceId: a.instanceId }),
      );
      const result = await cloud().rotateAddress({
        fleet: FLEET,
        node: 'sentry-a',
        instanceId: a.instanceId,
        opKey: 'op-1',
      });
      expect(result.foreignAllocationId).toBe(foreign.AllocationId);
      expect(result.released).toEqual([]);
      expect(
        emulator.addresses().find((x) => x.allocationId === foreign.AllocationId)?.instanceId,
      ).toBeUndefined();
      expect(emulator.requests().filter((r) => r.action === 'ReleaseAddress')).toEqual([]);
    } finally {
      raw.destroy();
    }
  });

  it('refuses to rotate an instance Beam does not manage', async () => {
    const plain = emulator.addInstance({ name: 'web', tags: { 'beam:role': 'sentry', 'beam:fleet': FLEET } });
    const error = await cloudError(
      cloud().rotateAddress({ fleet: FLEET, node: 'web', instanceId: plain.instanceId, opKey: 'op-1' }),
    );
    expect(error.kind).toBe('refused');
    expect(error.message).toContain('beam:managed=true');
    const b = sentry('sentry-b');
    const mismatch = await cloudError(
      cloud().rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: b.instanceId, opKey: 'op-1' }),
    );
    expect(mismatch.kind).toBe('refused');
    expect(mismatch.message).toContain('is tagged beam:node=sentry-b, not beam:node=sentry-a');
    // An instance no approval bound to a node (no beam:node tag) is never rotated.
    const unbound = emulator.addInstance({
      name: 'fresh',
      tags: { 'beam:role': 'sentry', 'beam:managed': 'true', 'beam:fleet': FLEET },
    });
    const refused = await cloudError(
      cloud().rotateAddress({ fleet: FLEET, node: 'fresh', instanceId: unbound.instanceId, opKey: 'op-1' }),
    );
    expect(refused).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('carries no beam:node tag, not beam:node=fresh'),
    });
    expect(emulator.addresses()).toEqual([]);
  });

  it('explains AddressLimitExceeded and UnauthorizedOperation', async () => {
    await emulator.stop();
    emulator = await startEc2Emulator({ addressLimit: 1 });
    const a = sentry('sentry-a');
    const ec2 = cloud();
    await ec2.rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: a.instanceId, opKey: 'op-1' });
    const limit = await cloudError(
      ec2.rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: a.instanceId, opKey: 'op-2' }),
    );
    expect(limit.kind).toBe('limit');
    expect(limit.code).toBe('AddressLimitExceeded');
    expect(limit.message).toBe(
      'Elastic IP limit reached in us-east-1: release unused addresses or request a limit increase',
    );
    expect(limit.retryable).toBe(false);

    emulator.setPermissionDenied('DescribeAddresses');
    const denied = await cloudError(ec2.listAddresses(FLEET));
    expect(denied.kind).toBe('unauthorized');
    expect(denied.message).toBe(
      'The commander is not allowed to call ec2:DescribeAddresses in us-east-1: add ec2:DescribeAddresses to its IAM policy',
    );
  });
});

describe('releaseAddress', () => {
  it('releases only unassociated addresses tagged for the fleet', async () => {
    const a = sentry('sentry-a');
    const ec2 = cloud();
    const raw = new EC2Client({ endpoint: emulator.url, region: 'us-east-1', credentials: CREDENTIALS });
    try {
      const untagged = await raw.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      const otherFleet = await raw.send(
        new AllocateAddressCommand({
          Domain: 'vpc',
          TagSpecifications: [
            {
              ResourceType: 'elastic-ip',
              Tags: [
                { Key: 'beam:managed', Value: 'true' },
                { Key: 'beam:fleet', Value: 'testnet' },
              ],
            },
          ],
        }),
      );
      for (const id of [untagged.AllocationId!, otherFleet.AllocationId!]) {
        const refused = await cloudError(ec2.releaseAddress(FLEET, id));
        expect(refused.kind).toBe('refused');
        expect(refused.message).toContain('Beam releases only addresses it allocated');
      }
      const inUse = await ec2.rotateAddress({
        fleet: FLEET,
        node: 'sentry-a',
        instanceId: a.instanceId,
        opKey: 'o',
      });
      const associated = await cloudError(ec2.releaseAddress(FLEET, inUse.allocationId));
      expect(associated.kind).toBe('refused');
      expect(associated.message).toContain(`associated with ${a.instanceId}`);
      expect(emulator.requests().filter((r) => r.action === 'ReleaseAddress')).toEqual([]);
      expect(emulator.addresses()).toHaveLength(3);

      const missing = await cloudError(ec2.releaseAddress(FLEET, 'eipalloc-00000000000000000'));
      expect(missing.kind).toBe('not-found');
      expect(missing.code).toBe('InvalidAllocationID.NotFound');

      emulator.failNext('AssociateAddress', 'InternalError');
      await cloudError(
        ec2.rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: a.instanceId, opKey: 'p' }),
      );
      const [stray] = beamAddresses().leaked.filter((x) => x.tags['beam:fleet'] === FLEET);
      await ec2.releaseAddress(FLEET, stray!.allocationId);
      expect(emulator.addresses().map((x) => x.allocationId)).toEqual(
        expect.not.arrayContaining([stray!.allocationId]),
      );
      expect(emulator.addresses()).toHaveLength(3);
    } finally {
      raw.destroy();
    }
  });
});

describe('terminateSentry', () => {
  it('terminates a managed sentry once and refuses anything else', async () => {
    const replaced: string[] = [];
    await emulator.stop();
    emulator = await startEc2Emulator({
      onReplacementLaunched: (_fresh, old) => void replaced.push(old.instanceId),
    });
    const a = sentry('sentry-a');
    const validator = emulator.addInstance({
      name: 'validator',
      tags: { 'beam:managed': 'true', 'beam:fleet': FLEET, 'beam:role': 'validator' },
    });
    const untagged = emulator.addInstance({ name: 'web' });
    const ec2 = cloud();
    for (const id of [validator.instanceId, untagged.instanceId]) {
      const refused = await cloudError(ec2.terminateSentry(FLEET, id, 'sentry-a'));
      expect(refused.kind).toBe('refused');
      expect(refused.message).toContain(`Refusing to terminate ${id}`);
    }
    // The registry names sentry-b for sentry-a's instance: refused, nothing terminated.
    const wrong = await cloudError(ec2.terminateSentry(FLEET, a.instanceId, 'sentry-b'));
    expect(wrong).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('is tagged beam:node=sentry-a, not beam:node=sentry-b'),
    });
    expect(emulator.requests().filter((r) => r.action === 'TerminateInstances')).toEqual([]);

    const held = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'o',
    });
    expect(await ec2.terminateSentry(FLEET, a.instanceId, 'sentry-a')).toEqual({
      instanceId: a.instanceId,
      previousState: 'running',
      currentState: 'shutting-down',
      released: [held.allocationId],
    });
    expect(emulator.addresses()).toEqual([]);
    await emulator.idle();
    expect(replaced).toEqual([a.instanceId]);
    expect((await ec2.terminateSentry(FLEET, a.instanceId, 'sentry-a')).currentState).toBe('terminated');
    expect(emulator.requests().filter((r) => r.action === 'TerminateInstances')).toHaveLength(1);

    const missing = await cloudError(ec2.terminateSentry(FLEET, 'i-0000000000000dead', 'sentry-a'));
    expect(missing.kind).toBe('not-found');
  });
});

describe('describeInstance and bindSentry', () => {
  it('tags a managed sentry beam:node once, with that one tag key, and never rebinds it', async () => {
    const fresh = emulator.addInstance({
      name: 'asg-member',
      group: 'sentries',
      tags: { 'beam:role': 'sentry', 'beam:managed': 'true', 'beam:fleet': FLEET },
    });
    const ec2 = cloud();
    expect(await ec2.describeInstance(fresh.instanceId)).toMatchObject({
      instanceId: fresh.instanceId,
      node: undefined,
      privateIp: fresh.privateIp,
      state: 'running',
    });
    expect(await ec2.describeInstance('i-0000000000000dead')).toBeUndefined();

    await ec2.bindSentry(FLEET, fresh.instanceId, 'sentry-7');
    await ec2.bindSentry(FLEET, fresh.instanceId, 'sentry-7'); // idempotent: no second CreateTags
    const tagging = emulator.requests().filter((r) => r.action === 'CreateTags');
    expect(tagging.map((r) => r.params)).toEqual([
      { 'ResourceId.1': fresh.instanceId, 'Tag.1.Key': 'beam:node', 'Tag.1.Value': 'sentry-7' },
    ]);
    expect(emulator.instance(fresh.instanceId).tags['beam:node']).toBe('sentry-7');

    const rebind = await cloudError(ec2.bindSentry(FLEET, fresh.instanceId, 'evil'));
    expect(rebind).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('bound to that sentry'),
    });
    const validator = emulator.addInstance({
      name: 'val',
      tags: { 'beam:managed': 'true', 'beam:fleet': FLEET },
    });
    expect((await cloudError(ec2.bindSentry(FLEET, validator.instanceId, 'val'))).kind).toBe('refused');
    expect(emulator.requests().filter((r) => r.action === 'CreateTags')).toHaveLength(1);
  });
});

describe('configuration and transport', () => {
  it('lets the SDK retry a 5xx answer within maxAttempts', async () => {
    sentry('sentry-a');
    emulator.failNext('DescribeInstances', 'InternalError');
    expect(await cloud({ maxAttempts: 2 }).describeSentries(FLEET)).toHaveLength(1);
    expect(emulator.requests().map((r) => r.errorCode)).toEqual(['InternalError', undefined]);
  });

  it('reports an unreachable endpoint as transient', async () => {
    const url = emulator.url;
    await emulator.stop();
    emulator = await startEc2Emulator();
    const error = await cloudError(cloud({ endpoint: url }).describeSentries(FLEET));
    expect(error.kind).toBe('transient');
  });

  it('takes the region from the environment and says how to fix a missing one', () => {
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', 'eu-west-1');
    try {
      expect(cloud({ region: undefined }).region).toBe('eu-west-1');
      vi.stubEnv('AWS_DEFAULT_REGION', '');
      expect(() => cloud({ region: undefined })).toThrow(/set AWS_REGION/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('terminateSentry after a failure', () => {
  it('releases the terminated sentry’s address on the retry when the first release failed', async () => {
    const a = sentry('sentry-a');
    const ec2 = cloud();
    const held = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'o',
    });
    emulator.failNext('ReleaseAddress', 'InternalError');
    expect((await cloudError(ec2.terminateSentry(FLEET, a.instanceId, 'sentry-a'))).kind).toBe('transient');
    expect(beamAddresses().leaked.map((x) => x.allocationId)).toEqual([held.allocationId]);

    const retried = await ec2.terminateSentry(FLEET, a.instanceId, 'sentry-a');
    expect(retried.released).toEqual([held.allocationId]);
    expect(emulator.addresses()).toEqual([]);
    expect(emulator.requests().filter((r) => r.action === 'TerminateInstances')).toHaveLength(1);
  });
});

describe('error kinds', () => {
  it('reports a rotation whose address was moved elsewhere as a conflict, and bad input as invalid', async () => {
    const a = sentry('sentry-a');
    const b = sentry('sentry-b');
    const ec2 = cloud();
    const rotated = await ec2.rotateAddress({
      fleet: FLEET,
      node: 'sentry-a',
      instanceId: a.instanceId,
      opKey: 'o',
    });
    const raw = new EC2Client({ endpoint: emulator.url, region: 'us-east-1', credentials: CREDENTIALS });
    try {
      await raw.send(
        new AssociateAddressCommand({
          AllocationId: rotated.allocationId,
          InstanceId: b.instanceId,
          AllowReassociation: true,
        }),
      );
    } finally {
      raw.destroy();
    }
    const conflict = await cloudError(
      ec2.rotateAddress({ fleet: FLEET, node: 'sentry-a', instanceId: a.instanceId, opKey: 'o' }),
    );
    expect(conflict.kind).toBe('conflict');
    expect(conflict.message).toContain(`now associated with ${b.instanceId}`);
    expect(emulator.addresses().find((x) => x.allocationId === rotated.allocationId)?.instanceId).toBe(
      b.instanceId,
    );

    emulator.failNext('DescribeInstances', 'InvalidParameterValue', 1, { message: 'Invalid id: "x"' });
    const invalid = await cloudError(ec2.describeSentries(FLEET));
    expect(invalid.kind).toBe('invalid');
    expect(invalid.message).toBe(
      'EC2 rejected DescribeInstances in us-east-1 (InvalidParameterValue): Invalid id: "x"',
    );

    emulator.failNext('DescribeInstances', 'AuthFailure');
    const auth = await cloudError(ec2.describeSentries(FLEET));
    expect(auth.kind).toBe('unauthorized');
    expect(auth.message).toContain("AWS rejected the commander's credentials");
  });
});
