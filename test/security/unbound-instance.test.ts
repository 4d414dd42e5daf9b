/**
 * Finding: sentry defence checked an instance's `beam:node` tag only when the instance had one, and
 * autoscaled sentries had none. A registry entry naming someone else's instance (an enrollment that
 * claimed it, approved by mistake) got that instance's Elastic IP rotated by fake flood reports, and
 * the instance terminated by silence. Now Beam rotates and terminates only an instance tagged
 * `beam:node=<the node's name>` (the tag it writes when it approves a proven enrollment); anything else
 * is refused, nothing changes in EC2, and an alert says why and what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSentryTick } from '../../commander/app/sentry-step.js';
import { loadSentryState, type SentryOp } from '../../commander/sentry/index.js';
import type { ActionResult } from '../../protocol/index.js';
import { enrollApproved, sendReport, startDynalite } from '../commander/helpers.js';
import { sentryReport } from '../commander/sentry/fixtures.js';
import { type Ec2Fleet, FLEET, ec2Fleet, launchSentry, sentryEnrollment } from './ec2-kit.js';
import { attack } from './kit.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let fleet: Ec2Fleet;
const secrets = new Map<string, string>();
const seqs = new Map<string, number>();

beforeAll(async () => {
  db = await startDynalite();
  fleet = await ec2Fleet(db.endpoint, {
    sentry: {
      fleet: FLEET,
      floodReportsToAct: 1,
      minHealthySentries: 0,
      maxConcurrentRotations: 2,
      maxConcurrentReplacements: 2,
      freshReportMs: 5_000,
      replaceAfterMs: 20_000,
    },
  });
});
afterAll(async () => {
  await fleet?.stop();
  await db?.close();
});

const mutating = () =>
  fleet.ec2
    .requests()
    .filter((r) =>
      ['AllocateAddress', 'AssociateAddress', 'ReleaseAddress', 'TerminateInstances', 'CreateTags'].includes(
        r.action,
      ),
    );

function report(name: string, opts: { flooded?: boolean; results?: ActionResult[] } = {}) {
  const seq = (seqs.get(name) ?? 0) + 1;
  seqs.set(name, seq);
  return sendReport(
    fleet.c,
    secrets.get(name)!,
    sentryReport(name, seq, { ...opts, sentAt: fleet.c.clock.now() }),
  );
}

async function opsOf(name: string): Promise<SentryOp[]> {
  return Object.values((await loadSentryState(fleet.c.store, FLEET)).state.ops).filter(
    (o) => o.node === name,
  );
}

/** Plays the node's pilot for one report: runs nothing, answers every queued action as done. */
async function answerQueued(name: string) {
  const queued = (await fleet.c.store.getNode(name))!.value.actions;
  const results = queued.map((a) => ({ id: a.id, type: a.type, ok: true, finishedAt: fleet.c.clock.now() }));
  return report(name, { results });
}

describe('an instance not bound to the node', () => {
  it('is never rotated: fake flood reports end in a refusal and an alert, EC2 untouched', async () => {
    const { ec2, c, deps } = fleet;
    const untagged = launchSentry(ec2, '10.0.5.1');
    const other = launchSentry(ec2, '10.0.5.2');
    ec2.tagResource(other.instanceId, { 'beam:node': 'sentry-real' });
    // Approved by a person on their word: each claims an instance it did not prove.
    for (const [name, n, instance] of [
      ['sentry-x', 1, untagged],
      ['sentry-y', 2, other],
    ] as const) {
      secrets.set(
        name,
        await enrollApproved(
          c,
          sentryEnrollment(name, n, instance.privateIp, { instanceId: instance.instanceId }),
        ),
      );
    }
    const publicIps = [untagged, other].map((i) => ec2.instance(i.instanceId).publicIp);

    attack('approved nodes claiming an untagged instance and another sentry’s instance send flooded reports');
    for (const name of ['sentry-x', 'sentry-y'])
      expect((await report(name, { flooded: true })).status).toBe(200);
    await runSentryTick(deps); // decides the rotations: each node is asked to stop its daemon first
    for (const name of ['sentry-x', 'sentry-y']) await answerQueued(name);
    await runSentryTick(deps); // the EC2 step

    const [x] = await opsOf('sentry-x');
    const [y] = await opsOf('sentry-y');
    expect(x).toMatchObject({ kind: 'rotation', phase: 'failed' });
    expect(x!.failure).toContain(
      `Refusing to rotate the address of ${untagged.instanceId}: it carries no beam:node tag, not beam:node=sentry-x`,
    );
    expect(y).toMatchObject({ kind: 'rotation', phase: 'failed' });
    expect(y!.failure).toContain('it is tagged beam:node=sentry-real, not beam:node=sentry-y');
    expect(mutating()).toEqual([]);
    expect([untagged, other].map((i) => ec2.instance(i.instanceId).publicIp)).toEqual(publicIps);

    const findings = (await runSentryTick(deps))?.findings ?? [];
    for (const name of ['sentry-x', 'sentry-y']) {
      expect(findings).toContainEqual(
        expect.objectContaining({
          key: `sentry:${name}:rotation-failed`,
          severity: 'critical',
          detail: expect.stringContaining(`re-enroll it with identity = "ec2"`),
        }),
      );
    }
  });

  it('is never terminated: a silent node’s replacement ends in a refusal and an alert, the instance runs', async () => {
    const { ec2, c, deps } = fleet;
    attack('the same nodes fall silent, so the commander replaces them');
    c.clock.advance(60_000);
    await runSentryTick(deps);
    c.clock.advance(30_000);
    await runSentryTick(deps);

    for (const name of ['sentry-x', 'sentry-y']) {
      const replacement = (await opsOf(name)).find((o) => o.kind === 'replacement');
      expect(replacement, name).toMatchObject({
        phase: 'failed',
        failure: expect.stringContaining('refused: Refusing to terminate'),
      });
    }
    expect(mutating()).toEqual([]);
    expect(ec2.instances().every((i) => i.state === 'running')).toBe(true);
    const findings = (await runSentryTick(deps))?.findings ?? [];
    expect(findings.map((f) => f.key)).toEqual(
      expect.arrayContaining(['sentry:sentry-x:replacement-failed', 'sentry:sentry-y:replacement-failed']),
    );
  });
});
