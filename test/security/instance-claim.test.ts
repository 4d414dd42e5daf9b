/**
 * Finding: the fleet enrollment token sits on every internet-facing sentry. With it alone, an
 * attacker enrolled a name claiming a real sentry's instance id; auto-approval took the claim, the
 * name never reported, and ten minutes later the commander terminated the real instance
 * (autoscaled sentries carried no `beam:node` tag, so the tag check was skipped). Now a claim proves
 * nothing: a node is approved without a person only on a verified instance identity document, and
 * only that binds a name to an instance (`beam:node`, and the registry's binding, for good).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSentryTick } from '../../commander/app/sentry-step.js';
import { KEYS } from '../../commander/adapters/store/store.js';
import { loadSentryState } from '../../commander/sentry/index.js';
import { OPERATOR, sendReport, startDynalite } from '../commander/helpers.js';
import { sentryReport } from '../commander/sentry/fixtures.js';
import { type Ec2Fleet, FLEET, ec2Fleet, identityOf, launchSentry, sentryEnrollment } from './ec2-kit.js';
import { attack } from './kit.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let fleet: Ec2Fleet;
/** The real sentry's node secret: it reports, healthy, throughout. */
let realSecret: string;
let seq = 0;
const realReports = () =>
  sendReport(fleet.c, realSecret, sentryReport('sentry-1', ++seq, { sentAt: fleet.c.clock.now() }));

beforeAll(async () => {
  db = await startDynalite();
  fleet = await ec2Fleet(db.endpoint, {
    sentry: { fleet: FLEET, minHealthySentries: 0, freshReportMs: 5_000, replaceAfterMs: 20_000 },
  });
});
afterAll(async () => {
  await fleet?.stop();
  await db?.close();
});

describe('an enrollment that claims a real sentry’s instance id', () => {
  it('is not approved, gets no secret and binds nothing; the real sentry proves its instance and is', async () => {
    const { ec2, c } = fleet;
    const real = launchSentry(ec2, '10.0.9.1');
    attack(
      `the fleet token enrolls sentry-evil claiming instance ${real.instanceId} (a real sentry's), without an identity document`,
    );
    const claimed = await fleet.enroll(
      sentryEnrollment('sentry-evil', 9, '10.0.9.1', { instanceId: real.instanceId }),
    );
    expect(claimed).toMatchObject({ status: 202, body: { status: 'pending', nodeId: 'sentry-evil' } });
    expect(claimed.body.secret).toBeUndefined();
    expect((await c.store.getNode('sentry-evil'))?.value).toMatchObject({
      status: 'pending',
      identity: null,
    });
    expect(await c.store.get(KEYS.secret('sentry-evil'))).toBeNull();
    expect(ec2.instance(real.instanceId).tags['beam:node']).toBeUndefined();
    expect(ec2.requests().filter((r) => r.action === 'CreateTags')).toEqual([]);
    // The chat message says the instance is only claimed.
    const asked = c.transport.posts.find((p) => p.message.title === 'Node sentry-evil asks to join');
    expect(JSON.stringify(asked?.message.fields)).toContain('claimed, not proved');

    // The real sentry's pilot sends its instance's identity document: approved, and its instance bound.
    const proven = await fleet.enroll(
      sentryEnrollment('sentry-1', 1, '10.0.9.1', {
        instanceIdentity: await identityOf(ec2, real.instanceId),
      }),
    );
    expect(proven).toMatchObject({ status: 200, body: { status: 'approved', nodeId: 'sentry-1' } });
    realSecret = proven.body.secret as string;
    expect(ec2.instance(real.instanceId).tags['beam:node']).toBe('sentry-1');
    expect((await c.store.getNode('sentry-1'))?.value).toMatchObject({
      status: 'approved',
      decidedBy: 'auto-approve policy',
      instanceId: real.instanceId,
      identity: { kind: 'ec2', instanceId: real.instanceId, accountId: ec2.accountId, region: 'us-east-1' },
    });
  });

  it('never gets the real instance terminated, even approved by mistake and silent for good', async () => {
    const { ec2, c, deps } = fleet;
    const real = ec2.instances().find((i) => i.tags['beam:node'] === 'sentry-1')!;
    attack('an admin approves sentry-evil by mistake; it never reports, so the commander replaces it');
    await c.app.approveNode(OPERATOR, 'sentry-evil');
    expect((await realReports()).status).toBe(200);
    await runSentryTick(deps);
    c.clock.advance(30_000);
    await realReports();
    await runSentryTick(deps);

    const [op] = Object.values((await loadSentryState(c.store, FLEET)).state.ops).filter(
      (o) => o.node === 'sentry-evil' && o.kind === 'replacement',
    );
    expect(op).toMatchObject({ phase: 'failed', failure: expect.stringContaining('refused') });
    expect(op!.failure).toContain(`it is tagged beam:node=sentry-1, not beam:node=sentry-evil`);
    expect(ec2.requests().filter((r) => r.action === 'TerminateInstances')).toEqual([]);
    expect(ec2.instance(real.instanceId).state).toBe('running');
    // The refusal is an alert that says why, not a silent skip.
    const findings = (await runSentryTick(deps))?.findings ?? [];
    expect(findings).toContainEqual(
      expect.objectContaining({
        key: 'sentry:sentry-evil:replacement-failed',
        detail: expect.stringContaining(
          'Beam tags an instance when it approves an enrollment proven by its identity document',
        ),
      }),
    );
  });
});
