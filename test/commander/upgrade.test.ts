import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommanderFleetOps } from '../../commander/app/fleet-ops.js';
import { runTick } from '../../commander/app/tick.js';
import { loadUpgrade } from '../../commander/app/upgrade-ops.js';
import { formatCommand, parseCommand } from '../../commander/chatops/commands.js';
import type { NodeRecord } from '../../commander/domain/registry.js';
import { renderUpgrade } from '../../commander/upgrade/messages.js';
import {
  advanceUpgrade,
  type NodeFacts,
  type PilotUpgrade,
  planUpgrade,
  rollbackActionId,
  upgradeActionId,
} from '../../commander/upgrade/rollout.js';
import { compareVersions, versionDrift } from '../../commander/upgrade/versions.js';
import type { ActionResult, Report } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import {
  type TestCommander,
  enrollApproved,
  enrollRequest,
  makeCommander,
  sendReport,
  startDynalite,
} from './helpers.js';

const SHA = 'ab'.repeat(32);

describe('pilot versions', () => {
  it('orders versions as semver does', () => {
    const sorted = ['0.10.0', '0.2.0', '0.2.0-rc.10', '0.2.0-rc.2', '1.0.0', 'dev'].sort(compareVersions);
    expect(sorted).toEqual(['dev', '0.2.0-rc.2', '0.2.0-rc.10', '0.2.0', '0.10.0', '1.0.0']);
  });

  it('finds every pilot behind the newest version in play', () => {
    const node = (id: string, pilotVersion: string, status: NodeRecord['status'] = 'approved') =>
      ({ id, chainId: 'c', status, pilotVersion }) as NodeRecord;
    const fleet = [node('a', '0.2.0'), node('b', '0.1.0'), node('c', '0.1.0', 'pending')];
    expect(versionDrift(fleet, undefined).map((f) => [f.key, f.title])).toEqual([
      ['node:b:pilot-version', 'b: pilot 0.1.0, behind 0.2.0'],
    ]);
    expect(versionDrift([node('a', '0.2.0')], undefined)).toEqual([]);
    const behind = versionDrift([node('a', '0.2.0')], '0.3.0');
    expect(behind[0]).toMatchObject({ kind: 'pilot-version', severity: 'warning' });
    expect(behind[0]?.detail).toBe(
      'pilot.targetVersion is 0.3.0: run `upgrade pilots 0.3.0` (admin) to bring every pilot to it',
    );
  });
});

describe('the roll-out', () => {
  const T = 1_000_000;
  const base = {
    id: 'up-1',
    release: '0.2.0',
    source: '/srv/beam-pilot-0.2.0.tar.gz',
    sha256: SHA,
    requestedBy: 'slack:U1',
    startedAt: T,
  };
  const plan = () =>
    planUpgrade(base, [
      { node: 'val-a', chainId: 'c', role: 'validator', pilotVersion: '0.1.0', signer: true },
      { node: 'val-b', chainId: 'c', role: 'validator', pilotVersion: '0.1.0', signer: false },
      { node: 'sentry-2', chainId: 'c', role: 'sentry', pilotVersion: '0.1.0', signer: false },
      { node: 'sentry-1', chainId: 'c', role: 'sentry', pilotVersion: '0.2.0', signer: false },
    ]);
  const facts = (over: Record<string, Partial<NodeFacts>> = {}) =>
    new Map(
      ['val-a', 'val-b', 'sentry-1', 'sentry-2'].map((n) => [
        n,
        { pilotVersion: n === 'sentry-1' ? '0.2.0' : '0.1.0', lastSeen: T, results: [], ...over[n] },
      ]),
    );
  const result = (id: string, ok: boolean, message = ''): ActionResult => ({
    id,
    type: 'x',
    ok,
    finishedAt: T,
    message,
  });
  const ctx = (now: number, paused: string | null = null) => ({ now, timeoutMs: 60_000, paused });

  it('goes sentries first, standbys next, the signer last, one node at a time', () => {
    let u: PilotUpgrade = plan();
    expect(u.steps.map((s) => s.node)).toEqual(['sentry-1', 'sentry-2', 'val-b', 'val-a']);
    let out = advanceUpgrade(u, facts(), ctx(T));
    // sentry-1 runs it already; sentry-2 starts.
    expect(out.upgrade.steps.map((s) => s.phase)).toEqual(['done', 'upgrading', 'waiting', 'waiting']);
    expect(out.due.map((s) => s.node)).toEqual(['sentry-2']);
    u = out.upgrade;
    // Still waiting: the action is due again only while unanswered (the glue skips a queued one).
    expect(advanceUpgrade(u, facts(), ctx(T + 1000)).due.map((s) => s.node)).toEqual(['sentry-2']);
    const upgraded = (n: string) => ({
      [n]: { pilotVersion: '0.2.0', lastSeen: T + 5000, results: [result(upgradeActionId(u, n), true)] },
    });
    out = advanceUpgrade(u, facts(upgraded('sentry-2')), ctx(T + 5000));
    expect(out.upgrade.steps.map((s) => s.phase)).toEqual(['done', 'done', 'upgrading', 'waiting']);
    u = out.upgrade;
    // A failover moving the lease holds the next node back.
    const done = { ...upgraded('sentry-2'), ...upgraded('val-b') };
    out = advanceUpgrade(u, facts(done), ctx(T + 9000, 'failover fo-1 in progress'));
    expect(out.upgrade.steps.map((s) => s.phase)).toEqual(['done', 'done', 'done', 'waiting']);
    expect(out.due).toEqual([]);
    out = advanceUpgrade(out.upgrade, facts(done), ctx(T + 10_000));
    expect(out.due.map((s) => s.node)).toEqual(['val-a']);
    out = advanceUpgrade(out.upgrade, facts({ ...done, ...upgraded('val-a') }), ctx(T + 12_000));
    expect(out.upgrade).toMatchObject({ status: 'done', finishedAt: T + 12_000 });
    expect(renderUpgrade(out.upgrade, T + 12_000)).toMatchObject({
      title: 'Pilot upgrade to 0.2.0: done, 4 nodes',
      severity: 'ok',
    });
    expect(renderUpgrade(out.upgrade, T + 12_000).preformatted).toMatch(/^✓ val-a \*\s+0\.1\.0 → 0\.2\.0$/m);
  });

  it('rolls a node back when its upgrade fails, and stops there', () => {
    const started = advanceUpgrade(plan(), facts(), ctx(T)).upgrade;
    const failed = {
      'sentry-2': {
        results: [
          result(
            upgradeActionId(started, 'sentry-2'),
            false,
            'refused: pilot upgrades are disabled by limits.allow_upgrade',
          ),
        ],
      },
    };
    let out = advanceUpgrade(started, facts(failed), ctx(T + 2000));
    expect(out.upgrade.steps[1]).toMatchObject({ phase: 'rolling-back', from: '0.1.0' });
    expect(out.due.map((s) => s.node)).toEqual(['sentry-2']);
    const back = {
      'sentry-2': {
        lastSeen: T + 4000,
        results: [...failed['sentry-2'].results, result(rollbackActionId(started, 'sentry-2'), true)],
      },
    };
    out = advanceUpgrade(out.upgrade, facts(back), ctx(T + 4000));
    expect(out.upgrade.status).toBe('halted');
    expect(out.upgrade.steps.map((s) => s.phase)).toEqual(['done', 'rolled-back', 'waiting', 'waiting']);
    expect(out.upgrade.steps[1]?.note).toBe(
      'upgrade failed: refused: pilot upgrades are disabled by limits.allow_upgrade; back on 0.1.0',
    );
    const message = renderUpgrade(out.upgrade, T + 4000);
    expect(message).toMatchObject({
      title: 'Pilot upgrade to 0.2.0: stopped at sentry-2',
      severity: 'warning',
    });
    expect(message.preformatted).toMatch(/^· val-b\s+not started$/m);
  });

  it('rolls back a node that came back on the old version, and fails one that never came back', () => {
    const started = advanceUpgrade(plan(), facts(), ctx(T)).upgrade;
    // The result came with a report from the old version: the restart did not run the new bundle.
    const old = {
      'sentry-2': { lastSeen: T + 3000, results: [result(upgradeActionId(started, 'sentry-2'), true)] },
    };
    expect(advanceUpgrade(started, facts(old), ctx(T + 3000)).upgrade.steps[1]?.note).toMatch(
      /^restarted on 0\.1\.0, not 0\.2\.0/,
    );
    // Reported since, but on the old version when the time is up.
    const stale = advanceUpgrade(started, facts({ 'sentry-2': { lastSeen: T + 30_000 } }), ctx(T + 61_000));
    expect(stale.upgrade.steps[1]).toMatchObject({
      phase: 'rolling-back',
      note: 'still on 0.1.0 60 s after the upgrade',
    });
    // Silent since: failed, and the roll-out stops.
    const silent = advanceUpgrade(started, facts(), ctx(T + 61_000)).upgrade;
    expect(silent.status).toBe('halted');
    expect(silent.steps[1]).toMatchObject({ phase: 'failed' });
    expect(renderUpgrade(silent, T + 61_000).severity).toBe('critical');
    // A rollback that does not bring the node back by the timeout fails it too.
    const rolling = stale.upgrade;
    const gone = advanceUpgrade(
      rolling,
      facts({ 'sentry-2': { lastSeen: T + 30_000 } }),
      ctx(T + 122_000),
    ).upgrade;
    expect(gone.steps[1]).toMatchObject({ phase: 'failed' });
    expect(gone.steps[1]?.note).toMatch(/not back on 0\.1\.0 60 s after the rollback$/);
  });
});

describe('upgrade pilots, from chat to the pilots and back', () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  let c: TestCommander;
  let fleet: CommanderFleetOps;
  const secrets = new Map<string, string>();
  const seqs = new Map<string, number>();
  const admin = { platform: 'console' as const, userId: 'root' };
  const nodes = ['sentry-a', 'sentry-b', 'sentry-c'];

  const report = (node: string, pilotVersion: string, results: ActionResult[] = []): Promise<unknown> => {
    const seq = (seqs.get(node) ?? 0) + 1;
    seqs.set(node, seq);
    const r: Report = sampleReport({
      nodeId: node,
      seq,
      sentAt: c.clock.now(),
      role: 'sentry',
      pilotVersion,
      results,
    });
    r.daemon = { ...r.daemon, consensusAddress: null, votingPower: null, latestBlockTime: c.clock.now() };
    return sendReport(c, secrets.get(node)!, r);
  };
  const queued = async (node: string) =>
    (await c.store.getNode(node))!.value.actions.filter((a) => a.type.endsWith('-pilot'));
  const done = (id: string, ok: boolean, message: string): ActionResult => ({
    id,
    type: 'upgrade-pilot',
    ok,
    finishedAt: c.clock.now(),
    message,
  });

  beforeAll(async () => {
    db = await startDynalite();
    c = await makeCommander(db.endpoint, {
      pilot: {
        releases: {
          '0.2.0': { source: 'https://releases.example.com/beam-pilot-0.2.0.tar.gz', sha256: SHA },
        },
        upgradeTimeoutMs: 60_000,
      },
      alerts: { pendingMs: { 'pilot-version': 0 } },
    });
    fleet = new CommanderFleetOps(c.deps);
    for (const [i, name] of nodes.entries()) {
      secrets.set(
        name,
        await enrollApproved(
          c,
          enrollRequest({ name, role: 'sentry', cometNodeId: String(i + 1).repeat(40) }),
        ),
      );
      await report(name, '0.1.0');
    }
  });

  afterAll(async () => {
    await db?.close();
  });

  it('parses the command', () => {
    const parsed = parseCommand('upgrade pilots 0.2.0');
    expect(parsed).toMatchObject({ ok: true, command: { name: 'upgrade', version: '0.2.0' } });
    if (parsed.ok) expect(formatCommand(parsed.command)).toBe('upgrade pilots 0.2.0');
    expect(parseCommand('upgrade pilot 0.2.0')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/upgrade pilots <version>/),
    });
    expect(parseCommand('upgrade pilots latest')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/version: use a version such as 0\.2\.0/),
    });
  });

  it('refuses a release it does not know, and starts the first node of one it does', async () => {
    expect(await fleet.upgradePilots({ version: '0.9.0', by: admin })).toMatchObject({
      accepted: false,
      summary: expect.stringMatching(
        /No release 0\.9\.0 in the commander's pilot\.releases \(it lists 0\.2\.0\)/,
      ),
    });
    const started = await fleet.upgradePilots({ version: '0.2.0', by: admin });
    expect(started).toMatchObject({ accepted: true, operationId: expect.stringMatching(/^up-/) });
    expect(await queued('sentry-a')).toMatchObject([
      {
        type: 'upgrade-pilot',
        version: '0.2.0',
        source: 'https://releases.example.com/beam-pilot-0.2.0.tar.gz',
        sha256: SHA,
      },
    ]);
    expect(await queued('sentry-b')).toEqual([]);
    expect(await fleet.upgradePilots({ version: '0.2.0', by: admin })).toMatchObject({
      accepted: false,
      summary: expect.stringMatching(/is still running/),
    });
  });

  it('moves on when a node reports the new version, rolls back the one that fails, and stops', async () => {
    const u = (await loadUpgrade(c.deps))!.value;
    c.clock.advance(2000);
    await report('sentry-a', '0.2.0', [done(upgradeActionId(u, 'sentry-a'), true, 'installed 0.2.0')]);
    await runTick(c.deps);
    expect(await queued('sentry-b')).toMatchObject([{ id: upgradeActionId(u, 'sentry-b') }]);

    c.clock.advance(2000);
    await report('sentry-b', '0.1.0', [
      done(upgradeActionId(u, 'sentry-b'), false, 'cannot fetch it: HTTP 404'),
    ]);
    await runTick(c.deps);
    expect(await queued('sentry-b')).toMatchObject([{ type: 'rollback-pilot', version: '0.1.0' }]);

    c.clock.advance(2000);
    await report('sentry-b', '0.1.0', [done(rollbackActionId(u, 'sentry-b'), true, 'running 0.1.0')]);
    await runTick(c.deps);
    const after = (await loadUpgrade(c.deps))!.value;
    expect(after.status).toBe('halted');
    expect(after.steps.map((s) => [s.node, s.phase])).toEqual([
      ['sentry-a', 'done'],
      ['sentry-b', 'rolled-back'],
      ['sentry-c', 'waiting'],
    ]);
    expect(await queued('sentry-c')).toEqual([]);

    // One message for the roll-out, edited in place.
    const posts = c.transport.posts.filter((p) => p.message.title.startsWith('Pilot upgrade'));
    expect(posts).toHaveLength(1);
    const edits = c.transport.updates.filter((p) => p.ref.messageId === posts[0]!.ref.messageId);
    expect(edits.at(-1)?.message.title).toBe('Pilot upgrade to 0.2.0: stopped at sentry-b');

    // Over, the fleet is mixed: the two pilots behind raise the drift alert.
    await runTick(c.deps);
    const alerts = (await c.store.listAlerts())
      .map((a) => a.value.key)
      .filter((k) => k.endsWith(':pilot-version'));
    expect(alerts.sort()).toEqual(['node:sentry-b:pilot-version', 'node:sentry-c:pilot-version']);
  });
});
