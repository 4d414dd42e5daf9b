import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeAddressesCommand,
  type DescribeAddressesCommandInput,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  DisassociateAddressCommand,
  EC2Client,
  EC2ServiceException,
  ReleaseAddressCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { X509Certificate, verify } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../../../devnet/ec2/emulator.js';

let emulator: Ec2Emulator;
let ec2: EC2Client;

function clientFor(url: string): EC2Client {
  return new EC2Client({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEVNET', secretAccessKey: 'devnet-secret' },
    maxAttempts: 1,
  });
}

/** The EC2 error code the SDK parsed from the emulator's error XML. */
async function errorOf(promise: Promise<unknown>): Promise<EC2ServiceException> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EC2ServiceException);
  return error as EC2ServiceException;
}

beforeEach(async () => {
  emulator = await startEc2Emulator({ addressLimit: 3 });
  ec2 = clientFor(emulator.url);
});

afterEach(async () => {
  ec2.destroy();
  await emulator.stop();
});

describe('DescribeInstances', () => {
  it('lists instances with state, addresses, launch time and tags', async () => {
    const a = emulator.addInstance({ name: 'sentry-a', tags: { 'beam:role': 'sentry' }, group: 'sentries' });
    const out = await ec2.send(new DescribeInstancesCommand({}));
    const [reservation] = out.Reservations ?? [];
    const [instance] = reservation?.Instances ?? [];
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(instance?.InstanceId).toBe(a.instanceId);
    expect(instance?.State).toEqual({ Code: 16, Name: 'running' });
    expect(instance?.PrivateIpAddress).toBe(a.privateIp);
    expect(instance?.PublicIpAddress).toMatch(/^(198\.51\.100|203\.0\.113)\.\d+$/);
    expect(instance?.LaunchTime).toBeInstanceOf(Date);
    expect(instance?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'Name', Value: 'sentry-a' },
        { Key: 'beam:role', Value: 'sentry' },
        { Key: 'aws:autoscaling:groupName', Value: 'sentries' },
      ]),
    );
  });

  it('filters by tag, tag-key, state and id, and by InstanceIds', async () => {
    const a = emulator.addInstance({ name: 'a', tags: { 'beam:fleet': 'f1' } });
    const b = emulator.addInstance({ name: 'b', tags: { 'beam:fleet': 'f2' }, state: 'pending' });
    const c = emulator.addInstance({ name: 'c' });
    const ids = async (input: DescribeInstancesCommandInput) => {
      const out = await ec2.send(new DescribeInstancesCommand(input));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    };
    expect(await ids({ Filters: [{ Name: 'tag:beam:fleet', Values: ['f1'] }] })).toEqual([a.instanceId]);
    expect(await ids({ Filters: [{ Name: 'tag:beam:fleet', Values: ['f*'] }] })).toEqual([
      a.instanceId,
      b.instanceId,
    ]);
    expect(await ids({ Filters: [{ Name: 'tag-key', Values: ['beam:fleet'] }] })).toHaveLength(2);
    expect(await ids({ Filters: [{ Name: 'instance-state-name', Values: ['pending'] }] })).toEqual([
      b.instanceId,
    ]);
    expect(await ids({ Filters: [{ Name: 'instance-id', Values: [c.instanceId] }] })).toEqual([c.instanceId]);
    expect(await ids({ InstanceIds: [a.instanceId, c.instanceId] })).toEqual([a.instanceId, c.instanceId]);
    expect(await ids({ Filters: [{ Name: 'tag:beam:fleet', Values: ['none'] }] })).toEqual([]);
  });

  it('answers unknown ids and filters with EC2 error codes', async () => {
    const missing = await errorOf(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000dead'] })),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    expect(missing.message).toContain('i-0000000000000dead');
    expect(missing.$metadata.httpStatusCode).toBe(400);
    expect(missing.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const filter = await errorOf(
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'bogus', Values: ['x'] }] })),
    );
    expect(filter.name).toBe('InvalidParameterValue');
  });
});

describe('Elastic IP addresses', () => {
  it('allocates with tags, associates, disassociates and releases', async () => {
    const instance = emulator.addInstance({ name: 'sentry' });
    const allocated = await ec2.send(
      new AllocateAddressCommand({
        Domain: 'vpc',
        TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'beam:managed', Value: 'true' }] }],
      }),
    );
    expect(allocated.AllocationId).toMatch(/^eipalloc-[0-9a-f]{17}$/);
    expect(allocated.PublicIp).toMatch(/^(198\.51\.100|203\.0\.113)\.\d+$/);
    expect(allocated.Domain).toBe('vpc');

    const associated = await ec2.send(
      new AssociateAddressCommand({ AllocationId: allocated.AllocationId, InstanceId: instance.instanceId }),
    );
    expect(associated.AssociationId).toMatch(/^eipassoc-[0-9a-f]{17}$/);
    expect(emulator.instance(instance.instanceId).publicIp).toBe(allocated.PublicIp);

    const described = await ec2.send(
      new DescribeAddressesCommand({ AllocationIds: [allocated.AllocationId!] }),
    );
    expect(described.Addresses).toEqual([
      expect.objectContaining({
        AllocationId: allocated.AllocationId,
        PublicIp: allocated.PublicIp,
        AssociationId: associated.AssociationId,
        InstanceId: instance.instanceId,
        PrivateIpAddress: instance.privateIp,
        Domain: 'vpc',
        Tags: [{ Key: 'beam:managed', Value: 'true' }],
      }),
    ]);

    const inUse = await errorOf(
      ec2.send(new ReleaseAddressCommand({ AllocationId: allocated.AllocationId })),
    );
    expect(inUse.name).toBe('InvalidIPAddress.InUse');

    await ec2.send(new DisassociateAddressCommand({ AssociationId: associated.AssociationId }));
    const after = emulator.instance(instance.instanceId).publicIp;
    expect(after).toBeDefined();
    expect(after).not.toBe(allocated.PublicIp);
    await ec2.send(new ReleaseAddressCommand({ AllocationId: allocated.AllocationId }));
    expect(emulator.addresses()).toEqual([]);
  });

  it('filters addresses by tag, allocation-id, public-ip and instance-id, and by PublicIps', async () => {
    const instance = emulator.addInstance();
    const tagged = await ec2.send(
      new AllocateAddressCommand({
        Domain: 'vpc',
        TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'beam:op', Value: 'op-1' }] }],
      }),
    );
    const plain = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(
      new AssociateAddressCommand({ AllocationId: plain.AllocationId, InstanceId: instance.instanceId }),
    );
    const ids = async (input: DescribeAddressesCommandInput) =>
      ((await ec2.send(new DescribeAddressesCommand(input))).Addresses ?? []).map((a) => a.AllocationId);
    expect(await ids({ Filters: [{ Name: 'tag:beam:op', Values: ['op-1'] }] })).toEqual([
      tagged.AllocationId,
    ]);
    expect(await ids({ Filters: [{ Name: 'tag-key', Values: ['beam:op'] }] })).toEqual([tagged.AllocationId]);
    expect(await ids({ Filters: [{ Name: 'allocation-id', Values: [plain.AllocationId!] }] })).toEqual([
      plain.AllocationId,
    ]);
    expect(await ids({ Filters: [{ Name: 'public-ip', Values: [tagged.PublicIp!] }] })).toEqual([
      tagged.AllocationId,
    ]);
    expect(await ids({ Filters: [{ Name: 'instance-id', Values: [instance.instanceId] }] })).toEqual([
      plain.AllocationId,
    ]);
    expect(await ids({ PublicIps: [plain.PublicIp!] })).toEqual([plain.AllocationId]);
    expect(await ids({})).toHaveLength(2);
    expect(await ids({ Filters: [{ Name: 'tag:beam:op', Values: ['other'] }] })).toEqual([]);
  });

  it('answers address errors with EC2 codes and statuses', async () => {
    const instance = emulator.addInstance();
    const other = emulator.addInstance();
    const codeOf = async (promise: Promise<unknown>) => (await errorOf(promise)).name;
    expect(
      await codeOf(ec2.send(new ReleaseAddressCommand({ AllocationId: 'eipalloc-00000000000000000' }))),
    ).toBe('InvalidAllocationID.NotFound');
    expect(
      await codeOf(ec2.send(new DisassociateAddressCommand({ AssociationId: 'eipassoc-00000000000000000' }))),
    ).toBe('InvalidAssociationID.NotFound');
    expect(await codeOf(ec2.send(new DescribeAddressesCommand({ PublicIps: ['192.0.2.1'] })))).toBe(
      'InvalidAddress.NotFound',
    );
    const first = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    expect(
      await codeOf(
        ec2.send(new AssociateAddressCommand({ AllocationId: first.AllocationId, InstanceId: 'i-0dead' })),
      ),
    ).toBe('InvalidInstanceID.NotFound');
    await ec2.send(
      new AssociateAddressCommand({ AllocationId: first.AllocationId, InstanceId: instance.instanceId }),
    );
    expect(
      await codeOf(
        ec2.send(
          new AssociateAddressCommand({ AllocationId: first.AllocationId, InstanceId: other.instanceId }),
        ),
      ),
    ).toBe('Resource.AlreadyAssociated');
    await ec2.send(
      new AssociateAddressCommand({
        AllocationId: first.AllocationId,
        InstanceId: other.instanceId,
        AllowReassociation: true,
      }),
    );
    expect(emulator.addresses()[0]?.instanceId).toBe(other.instanceId);

    await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const limit = await errorOf(ec2.send(new AllocateAddressCommand({ Domain: 'vpc' })));
    expect(limit.name).toBe('AddressLimitExceeded');
    expect(limit.$metadata.httpStatusCode).toBe(400);
    expect(await codeOf(ec2.send(new AllocateAddressCommand({ Domain: 'standard' })))).toBe(
      'InvalidParameterValue',
    );
  });

  it('displaces an instance’s old Elastic IP when a new one is associated', async () => {
    const instance = emulator.addInstance();
    const old = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const fresh = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(
      new AssociateAddressCommand({ AllocationId: old.AllocationId, InstanceId: instance.instanceId }),
    );
    await ec2.send(
      new AssociateAddressCommand({ AllocationId: fresh.AllocationId, InstanceId: instance.instanceId }),
    );
    const byId = new Map(emulator.addresses().map((a) => [a.allocationId, a]));
    expect(byId.get(old.AllocationId!)?.instanceId).toBeUndefined();
    expect(byId.get(fresh.AllocationId!)?.instanceId).toBe(instance.instanceId);
    expect(emulator.instance(instance.instanceId).publicIp).toBe(fresh.PublicIp);
  });
});

describe('tags', () => {
  it('creates and deletes tags on instances and addresses', async () => {
    const instance = emulator.addInstance({ name: 'n' });
    const address = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const resources = [instance.instanceId, address.AllocationId!];
    await ec2.send(
      new CreateTagsCommand({
        Resources: resources,
        Tags: [
          { Key: 'beam:managed', Value: 'true' },
          { Key: 'beam:node', Value: 'sentry-1' },
        ],
      }),
    );
    expect(emulator.instance(instance.instanceId).tags).toMatchObject({ 'beam:managed': 'true', Name: 'n' });
    expect(emulator.addresses()[0]?.tags).toEqual({ 'beam:managed': 'true', 'beam:node': 'sentry-1' });

    await ec2.send(
      new DeleteTagsCommand({
        Resources: resources,
        Tags: [{ Key: 'beam:managed', Value: 'false' }, { Key: 'beam:node' }],
      }),
    );
    expect(emulator.addresses()[0]?.tags).toEqual({ 'beam:managed': 'true' });

    emulator.tagResource(instance.instanceId, { 'beam:node': 'sentry-2' });
    expect(emulator.instance(instance.instanceId).tags['beam:node']).toBe('sentry-2');

    const reserved = await errorOf(
      ec2.send(new CreateTagsCommand({ Resources: resources, Tags: [{ Key: 'aws:x', Value: '1' }] })),
    );
    expect(reserved.name).toBe('InvalidParameterValue');
    const missing = await errorOf(
      ec2.send(
        new CreateTagsCommand({ Resources: ['i-0000000000000beef'], Tags: [{ Key: 'k', Value: 'v' }] }),
      ),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
  });
});

describe('TerminateInstances', () => {
  it('terminates, disassociates the Elastic IP and replaces autoscaling group members', async () => {
    const terminated: string[] = [];
    const replaced: [Instance, Instance][] = [];
    await emulator.stop();
    emulator = await startEc2Emulator({
      replacementDelayMs: 20,
      onTerminate: (instance) => {
        terminated.push(instance.instanceId);
      },
      onReplacementLaunched: async (fresh, old) => {
        expect(fresh.state).toBe('pending');
        replaced.push([fresh, old]);
      },
    });
    ec2.destroy();
    ec2 = clientFor(emulator.url);
    const member = emulator.addInstance({
      name: 'sentry-a',
      group: 'sentries',
      tags: { 'beam:role': 'sentry' },
    });
    // Tagged after launch (as the commander binds a sentry): the group does not pass it on.
    emulator.tagResource(member.instanceId, { 'beam:node': 'sentry-a' });
    const loner = emulator.addInstance({ name: 'standalone' });
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(
      new AssociateAddressCommand({ AllocationId: eip.AllocationId, InstanceId: member.instanceId }),
    );

    const out = await ec2.send(
      new TerminateInstancesCommand({ InstanceIds: [member.instanceId, loner.instanceId] }),
    );
    expect(out.TerminatingInstances).toEqual([
      {
        InstanceId: member.instanceId,
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
      {
        InstanceId: loner.instanceId,
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
    ]);
    expect(emulator.addresses()[0]?.instanceId).toBeUndefined();

    await emulator.idle();
    expect(terminated.sort()).toEqual([member.instanceId, loner.instanceId].sort());
    expect(emulator.instance(member.instanceId).state).toBe('terminated');
    expect(replaced).toHaveLength(1);
    const [fresh, old] = replaced[0]!;
    expect(old.instanceId).toBe(member.instanceId);
    expect(fresh.instanceId).not.toBe(member.instanceId);
    const now = emulator.instance(fresh.instanceId);
    expect(now.state).toBe('running');
    expect(now.name).toBe('sentry-a-r1');
    expect(now.group).toBe('sentries');
    expect(now.tags['beam:role']).toBe('sentry');
    expect(now.tags['beam:node']).toBeUndefined();
    expect(emulator.instances().filter((i) => i.group === 'sentries' && i.state === 'running')).toHaveLength(
      1,
    );

    const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [member.instanceId] }));
    expect(again.TerminatingInstances?.[0]?.CurrentState?.Name).toBe('terminated');
    const missing = await errorOf(
      ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0000000000000dead'] })),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
  });
});

describe('instance metadata (IMDSv2)', () => {
  const imds = (url: string, init: RequestInit = {}) => fetch(url, init);
  const token = async (instanceId: string) => {
    const res = await imds(`${emulator.imdsUrl(instanceId)}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    });
    expect(res.status).toBe(200);
    return res.text();
  };

  it('serves each instance its identity document, signed with the emulation’s certificate', async () => {
    const instance = emulator.addInstance({ name: 'sentry-a', privateIp: '127.0.0.7' });
    const auth = { 'x-aws-ec2-metadata-token': await token(instance.instanceId) };
    const base = `${emulator.imdsUrl(instance.instanceId)}/latest/dynamic/instance-identity`;
    const document = await (await imds(`${base}/document`, { headers: auth })).text();
    const signature = await (await imds(`${base}/signature`, { headers: auth })).text();
    expect(JSON.parse(document)).toMatchObject({
      accountId: emulator.accountId,
      instanceId: instance.instanceId,
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      privateIp: '127.0.0.7',
      pendingTime: `${instance.launchTime.toISOString().slice(0, 19)}Z`,
    });
    // As AWS documents it: RSA PKCS#1 v1.5 over SHA-256 of the document's bytes, base64.
    const certificate = new X509Certificate(emulator.identityCertificate);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    const bytes = Buffer.from(signature.replace(/\s+/g, ''), 'base64');
    expect(verify('sha256', Buffer.from(document), certificate.publicKey, bytes)).toBe(true);
    expect(
      verify('sha256', Buffer.from(document.replace('127.0.0.7', '127.0.0.8')), certificate.publicKey, bytes),
    ).toBe(false);
  });

  it('answers only with a session token of that instance, and nothing for a terminated one', async () => {
    const a = emulator.addInstance({ name: 'a' });
    const b = emulator.addInstance({ name: 'b' });
    const doc = (id: string, headers: Record<string, string> = {}) =>
      imds(`${emulator.imdsUrl(id)}/latest/dynamic/instance-identity/document`, { headers });
    expect((await doc(a.instanceId)).status).toBe(401); // IMDSv1: refused
    expect((await doc(a.instanceId, { 'x-aws-ec2-metadata-token': 'forged' })).status).toBe(401);
    const ofB = await token(b.instanceId);
    expect((await doc(a.instanceId, { 'x-aws-ec2-metadata-token': ofB })).status).toBe(401);
    const noTtl = await imds(`${emulator.imdsUrl(a.instanceId)}/latest/api/token`, { method: 'PUT' });
    expect(noTtl.status).toBe(400);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [b.instanceId] }));
    await emulator.idle();
    expect((await doc(b.instanceId, { 'x-aws-ec2-metadata-token': ofB })).status).toBe(404);
    expect((await doc('i-0000000000000dead')).status).toBe(404);
  });

  it('plays the region it is given, with a certificate of its own', async () => {
    const other = await startEc2Emulator({ region: 'eu-west-1' });
    try {
      expect(other.identityCertificate).not.toBe(emulator.identityCertificate);
      const instance = other.addInstance({});
      const res = await fetch(`${other.imdsUrl(instance.instanceId)}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      });
      const document = await fetch(
        `${other.imdsUrl(instance.instanceId)}/latest/dynamic/instance-identity/document`,
        {
          headers: { 'x-aws-ec2-metadata-token': await res.text() },
        },
      );
      expect(JSON.parse(await document.text())).toMatchObject({
        region: 'eu-west-1',
        availabilityZone: 'eu-west-1a',
      });
      expect(other.setPrivateIp(instance.instanceId, '127.0.0.9').privateIp).toBe('127.0.0.9');
    } finally {
      await other.stop();
    }
  });
});

describe('faults and control surface', () => {
  it('injects errors for the next calls, before or after applying the action', async () => {
    emulator.failNext('AllocateAddress', 'InternalError');
    const internal = await errorOf(ec2.send(new AllocateAddressCommand({ Domain: 'vpc' })));
    expect(internal.name).toBe('InternalError');
    expect(internal.$metadata.httpStatusCode).toBe(500);
    expect(emulator.addresses()).toHaveLength(0);

    emulator.failNext('AllocateAddress', 'InternalError', 1, { afterApply: true });
    await errorOf(ec2.send(new AllocateAddressCommand({ Domain: 'vpc' })));
    expect(emulator.addresses()).toHaveLength(1);
    await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    expect(emulator.addresses()).toHaveLength(2);
  });

  it('denies permissions with UnauthorizedOperation', async () => {
    emulator.setPermissionDenied('DescribeAddresses');
    const denied = await errorOf(ec2.send(new DescribeAddressesCommand({})));
    expect(denied.name).toBe('UnauthorizedOperation');
    expect(denied.$metadata.httpStatusCode).toBe(403);
    emulator.setPermissionDenied('DescribeAddresses', false);
    await ec2.send(new DescribeAddressesCommand({}));
  });

  it('rejects unknown actions and unsigned requests', async () => {
    const post = (body: string, headers: Record<string, string>) =>
      fetch(emulator.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const signed = {
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEVNET/20260101/us-east-1/ec2/aws4_request',
    };
    const unknown = await post('Action=RunInstances&Version=2016-11-15', signed);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>.*<\/Message><\/Error><\/Errors><RequestID>/,
    );
    const unsigned = await post('Action=DescribeInstances&Version=2016-11-15', {});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toContain('<Code>AuthFailure</Code>');
  });

  it('exposes state, faults, denials and instances over HTTP for other processes', async () => {
    const control = (path: string, body?: unknown) =>
      fetch(
        `${emulator.url}/_emulator/${path}`,
        body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
      );
    const created = (await (await control('instances', { name: 'remote', group: 'g' })).json()) as Instance;
    expect(created.instanceId).toMatch(/^i-/);
    expect(
      (await control('fail', { action: 'DescribeInstances', code: 'RequestLimitExceeded' })).status,
    ).toBe(200);
    const throttled = await errorOf(ec2.send(new DescribeInstancesCommand({})));
    expect(throttled.name).toBe('RequestLimitExceeded');
    expect((await control('deny', { action: 'TerminateInstances' })).status).toBe(200);
    expect(
      (await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [created.instanceId] })))).name,
    ).toBe('UnauthorizedOperation');
    const bad = await control('fail', { action: 'X' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('code');

    const state = (await (await control('state')).json()) as {
      instances: Instance[];
      requests: { action: string; errorCode?: string }[];
    };
    expect(state.instances.map((i) => i.name)).toEqual(['remote']);
    expect(state.requests.map((r) => [r.action, r.errorCode])).toEqual([
      ['DescribeInstances', 'RequestLimitExceeded'],
      ['TerminateInstances', 'UnauthorizedOperation'],
    ]);
  });
});
