/**
 * Finding: auto-approval trusted whatever an enrolling pilot said about itself. Now it needs the EC2
 * instance identity document, checked against the region's certificate, the fleet's account and
 * region, freshness (pendingTime), and EC2's own view of the instance (Beam's fleet tags, its
 * address, not bound to another name). Every forged, stale, foreign or replayed document is refused
 * with a 403 naming why; nothing is written but the audit entry, and no instance is tagged.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEc2Emulator } from '../../devnet/ec2/emulator.js';
import type { InstanceIdentity } from '../../protocol/index.js';
import { startDynalite } from '../commander/helpers.js';
import { type Ec2Fleet, ec2Fleet, identityOf, launchSentry, sentryEnrollment } from './ec2-kit.js';
import { attack } from './kit.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let fleet: Ec2Fleet;

beforeAll(async () => {
  db = await startDynalite();
  fleet = await ec2Fleet(db.endpoint);
});
afterAll(async () => {
  await fleet?.stop();
  await db?.close();
});

/** The table without its audit entries: a refused enrollment writes nothing else. */
async function registry(f: Ec2Fleet): Promise<string[]> {
  return (await f.c.store.scanAll())
    .filter((i) => i.pk !== 'AUDIT')
    .map((i) => JSON.stringify(i))
    .sort();
}

async function expectRefused(
  f: Ec2Fleet,
  name: string,
  identity: InstanceIdentity,
  ip: string,
  reason: RegExp,
) {
  const before = await registry(f);
  const reply = await f.enroll(sentryEnrollment(name, 7, ip, { instanceIdentity: identity }));
  expect(reply.status, JSON.stringify(reply.body)).toBe(403);
  expect(reply.body).toMatchObject({ error: 'identity not verified' });
  expect(reply.body.detail).toMatch(reason);
  expect(await registry(f)).toEqual(before);
  expect(await f.c.store.listAudit(100)).toContainEqual(
    expect.objectContaining({ action: 'enroll', target: name, outcome: 'denied' }),
  );
}

const withDocument = (identity: InstanceIdentity, edit: (doc: Record<string, unknown>) => void) => {
  const doc = JSON.parse(identity.document) as Record<string, unknown>;
  edit(doc);
  return { ...identity, document: JSON.stringify(doc, null, 2) };
};

describe('an identity document that proves nothing', () => {
  it('is refused when forged: edited, signed with another key, or not a signature at all', async () => {
    const { ec2 } = fleet;
    const victim = launchSentry(ec2, '10.0.7.1');
    const genuine = await identityOf(ec2, launchSentry(ec2, '10.0.7.2').instanceId);
    attack('a genuine document of the attacker’s own instance, edited to name the victim’s instance');
    const edited = withDocument(genuine, (d) => {
      d.instanceId = victim.instanceId;
      d.privateIp = victim.privateIp;
    });
    await expectRefused(
      fleet,
      'evil-1',
      edited,
      '10.0.7.1',
      /signature does not verify with the us-east-1 certificate/,
    );

    attack('a document naming the victim, signed with the attacker’s own RSA key');
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = withDocument(genuine, (d) => {
      d.instanceId = victim.instanceId;
    });
    forged.signature = sign('sha256', Buffer.from(forged.document), keys.privateKey).toString('base64');
    await expectRefused(fleet, 'evil-2', forged, '10.0.7.1', /signature does not verify/);

    attack('the victim’s instance id with a signature of garbage');
    await expectRefused(
      fleet,
      'evil-3',
      { ...genuine, signature: 'AAAA' },
      '10.0.7.2',
      /signature does not verify/,
    );
    expect(ec2.requests().filter((r) => r.action === 'CreateTags')).toEqual([]);
  });

  it('is refused when expired: the instance started longer ago than identity.ec2.maxAgeMs', async () => {
    const { ec2, c } = fleet;
    const instance = launchSentry(ec2, '10.0.7.4');
    const identity = await identityOf(ec2, instance.instanceId);
    attack('a genuine document replayed 31 minutes after its instance started (maxAgeMs is 30 min)');
    c.clock.advance(31 * 60_000);
    try {
      await expectRefused(
        fleet,
        'late-1',
        identity,
        '10.0.7.4',
        /started 31 min ago .* over identity\.ec2\.maxAgeMs \(30 min\)/,
      );
    } finally {
      c.clock.advance(-31 * 60_000);
    }
    attack('a document whose pendingTime lies in the future');
    c.clock.advance(-10 * 60_000);
    try {
      await expectRefused(fleet, 'early-1', identity, '10.0.7.4', /pendingTime .* is in the future/);
    } finally {
      c.clock.advance(10 * 60_000);
    }
  });

  it('is refused from another region, or from another account', async () => {
    const abroad = await startEc2Emulator({ region: 'eu-west-1' });
    try {
      const instance = abroad.addInstance({
        privateIp: '10.0.7.5',
        tags: { 'beam:managed': 'true', 'beam:fleet': 'mainnet', 'beam:role': 'sentry' },
      });
      const identity = await identityOf(abroad, instance.instanceId);
      attack('a genuine eu-west-1 document sent to a us-east-1 fleet');
      await expectRefused(
        fleet,
        'abroad-1',
        identity,
        '10.0.7.5',
        /signature does not verify with the us-east-1 certificate/,
      );

      // Even a commander given that region's certificate by mistake refuses the region itself.
      const misconfigured = await ec2Fleet(db.endpoint, {
        identity: { ec2: { accountId: abroad.accountId, certificate: abroad.identityCertificate } },
      });
      try {
        await expectRefused(
          misconfigured,
          'abroad-2',
          identity,
          '10.0.7.5',
          /runs in eu-west-1; this fleet's sentries run in us-east-1/,
        );
      } finally {
        await misconfigured.stop();
      }
    } finally {
      await abroad.stop();
    }

    const elsewhere = await ec2Fleet(db.endpoint);
    try {
      const identity = await identityOf(elsewhere.ec2, launchSentry(elsewhere.ec2, '10.0.7.6').instanceId);
      const otherAccount = await ec2Fleet(db.endpoint, {
        identity: { ec2: { accountId: '210987654321', certificate: elsewhere.ec2.identityCertificate } },
      });
      try {
        attack('a genuine document of an instance in another AWS account');
        await expectRefused(
          otherAccount,
          'foreign-1',
          identity,
          '10.0.7.6',
          /AWS account 123456789012, not the fleet's \(210987654321/,
        );
      } finally {
        await otherAccount.stop();
      }
    } finally {
      await elsewhere.stop();
    }
  });

  it('is refused for an instance EC2 does not show as the fleet’s, at another address, or bound to another name', async () => {
    const { ec2 } = fleet;
    const stray = ec2.addInstance({ privateIp: '10.0.7.8', tags: { 'beam:role': 'sentry' } });
    attack('a genuine document of an instance outside the fleet (no beam:managed / beam:fleet tags)');
    await expectRefused(
      fleet,
      'stray-1',
      await identityOf(ec2, stray.instanceId),
      '10.0.7.8',
      /is not tagged beam:managed=true, beam:fleet=mainnet and beam:role=sentry/,
    );

    const own = launchSentry(ec2, '10.0.7.9');
    const identity = await identityOf(ec2, own.instanceId);
    attack(
      'a genuine document with a p2p address that is not the instance’s (validators would dial the attacker)',
    );
    await expectRefused(
      fleet,
      'sentry-9',
      identity,
      '203.0.113.66',
      /p2pAddress 203\.0\.113\.66:26656 is not this instance's address \(10\.0\.7\.9/,
    );

    // The genuine enrollment: approved, its instance tagged, the name bound to it.
    const ok = await fleet.enroll(
      sentryEnrollment('sentry-9', 9, '10.0.7.9', { instanceIdentity: identity }),
    );
    expect(ok).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect(ec2.instance(own.instanceId).tags['beam:node']).toBe('sentry-9');

    attack('the same document, copied off sentry-9 within its freshness window, replayed under a new name');
    await expectRefused(
      fleet,
      'sentry-10',
      identity,
      '10.0.7.9',
      /is bound to sentry-9 .*enroll it under that name/,
    );
    expect(ec2.requests().filter((r) => r.action === 'CreateTags')).toHaveLength(1);
  });
});
