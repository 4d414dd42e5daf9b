import { describe, expect, it } from 'vitest';
import { type Hold, holdOf } from '../../../commander/alerting/holds.js';
import { NODE_KINDS, SIGNING_KINDS } from '../../../commander/alerting/kinds.js';
import { chainUpgradeFindings, chainUpgradeHolds } from '../../../commander/chain-upgrade/alerts.js';
import { roughSpan } from '../../../commander/chain-upgrade/messages.js';
import type { Finding } from '../../../commander/domain/health.js';
import {
  CHAIN,
  ETA,
  facts,
  H,
  HOUR,
  MIN,
  NODES,
  PLAN,
  staged,
  T0,
  Thread,
  titles,
  VALIDATOR,
} from './kit.js';

const SUBJECT = `chain-upgrade:${CHAIN}:v2`;
const REMINDERS = `${SUBJECT}:reminder`;
const noPlan = { upgrade: staged({ plan: null, staged: null }) };
const withoutPlan = (t: number) => facts(t, { 'val-a': noPlan, 'val-b': noPlan, 'sentry-a': noPlan });

/** A thread that watched the chain for ten minutes before the plan appeared at T0 (and announced it). */
function announced(): Thread {
  const thread = new Thread();
  thread.now = T0 - 10 * MIN;
  thread.tick(withoutPlan(thread.now));
  thread.run(T0 - MIN, MIN, withoutPlan);
  thread.tick(facts(T0), T0);
  return thread;
}

/** The chain halted at the upgrade: every node at H − 1, waiting for the new binary. */
const halted = { height: H - 1, upgrade: staged({ plan: null, staged: null, halted: PLAN }) };
/** On the new binary, waiting for the rest of the chain. */
const switched = { height: H - 1, version: 'v2.0.0', upgrade: staged({ plan: null, staged: null }) };
/** Past the height on the new binary; a validator signing again from H + 1. */
const through = (validator: boolean) => ({
  height: H + 3,
  version: 'v2.0.0',
  upgrade: staged({ plan: null, staged: null }),
  signedHeights: validator ? [H + 1, H + 2] : [],
});
const allThrough = { 'val-a': through(true), 'val-b': through(true), 'sentry-a': through(false) };

/** A health finding of every kind Beam raises about a node and its validator. */
function healthFindings(chainId: string): Finding[] {
  return NODES.flatMap((nodeId) =>
    [...NODE_KINDS, ...SIGNING_KINDS].map((kind) => ({
      key: `node:${nodeId}:${kind}`,
      kind,
      nodeId,
      chainId,
      ...(SIGNING_KINDS.includes(kind as never) ? { validator: VALIDATOR } : {}),
      severity: 'critical' as const,
      title: kind,
      detail: kind,
    })),
  );
}
const heldBy = (holds: readonly Hold[], findings: readonly Finding[]) =>
  findings.map((f) => holdOf(f, holds));

describe('a plan is announced once, with its estimated time', () => {
  it('estimates the time from the block time and posts one thread', () => {
    const thread = announced();
    expect(thread.effects.map((e) => [e.kind, e.subject])).toEqual([['post', SUBJECT]]);
    const [announcement] = thread.effects;
    expect(announcement!.message.title).toBe(
      `Chain upgrade v2 at height ${H} (about 2026-01-06 14:00 UTC, in 26 h)`,
    );
    expect(announcement!.message.text).toBe('Every node has the binary staged.');
    expect(announcement!.message.preformatted).toBe(
      [
        '✓ sentry-a  v1.0.0, binary staged',
        '✓ val-a     v1.0.0, binary staged',
        '✓ val-b     v1.0.0, binary staged',
      ].join('\n'),
    );
    expect(thread.upgrade.eta).toBe(ETA);
    // Nothing to warn of, nothing held before the halt.
    expect(chainUpgradeFindings(thread.state)).toEqual([]);
    expect(chainUpgradeHolds(thread.state)).toEqual([]);
  });

  it('says the time is not known before blocks were seen moving, and edits it in once they are', () => {
    const thread = new Thread();
    const seen = ETA - 23 * HOUR;
    thread.tick(facts(seen), seen);
    expect(titles(thread.effects)).toEqual([
      `Chain upgrade v2 at height ${H} (time not known yet: estimated once blocks are seen)`,
    ]);
    thread.tick(facts(seen + MIN), seen + MIN);
    expect(thread.effects.map((e) => [e.kind, e.subject])).toEqual([
      ['post', SUBJECT],
      ['update', SUBJECT],
    ]);
    expect(thread.effects[1]!.message.title).toBe(
      `Chain upgrade v2 at height ${H} (about 2026-01-06 14:00 UTC, in 23 h)`,
    );
    // The 24 h reminder, due already, is covered by the thread that first shows the time.
    expect(thread.upgrade.remindersSent).toEqual([24 * HOUR]);
  });

  it('reminds at each lead time once, and edits the thread only when what it says changes', () => {
    const thread = announced();
    thread.run(ETA - MIN, MIN, (t) => facts(t));
    const reminders = thread.effects.filter((e) => e.subject === REMINDERS);
    expect(reminders.map((e) => [e.kind, new Date(e.at).toISOString(), e.message.title])).toEqual([
      ['post', '2026-01-05T14:00:00.000Z', 'Reminder: chain upgrade v2 in about 24 h'],
      ['post', '2026-01-06T13:00:00.000Z', 'Reminder: chain upgrade v2 in about 60 min'],
      ['post', '2026-01-06T13:50:00.000Z', 'Reminder: chain upgrade v2 in about 10 min'],
    ]);
    expect(reminders[1]!.message.text).toBe(
      `The chain halts for it at height ${H} (about 2026-01-06 14:00 UTC, in 60 min).\nEvery node has the binary staged.`,
    );
    const thread1 = thread.effects.filter((e) => e.subject === SUBJECT);
    // One post, ever; each reminder edits the thread at the same moment.
    expect(thread1.filter((e) => e.kind === 'post')).toHaveLength(1);
    for (const r of reminders) expect(thread1.some((e) => e.kind === 'update' && e.at === r.at)).toBe(true);
    // 1 560 ticks, edited only as the coarse countdown moves (hours, then 5 minutes, then minutes).
    expect(thread1.length).toBeLessThan(70);
    expect(thread1.at(-1)!.message.title).toBe(
      `Chain upgrade v2 at height ${H} (about 2026-01-06 14:00 UTC, in 1 min)`,
    );
  });

  it('tells a node whose report does not name the plan yet from an older pilot, and claims no staging it was not told', () => {
    // The plan passed between two reports of val-a: the thread is announced from the others'.
    const thread = new Thread();
    thread.now = T0 - 2 * MIN;
    thread.tick(withoutPlan(thread.now));
    thread.tick(withoutPlan(T0 - MIN), T0 - MIN);
    thread.tick(facts(T0, { 'val-a': noPlan, 'sentry-a': { upgrade: null } }), T0);
    const [announcement] = thread.effects;
    expect(announcement!.message.preformatted).toBe(
      [
        '? sentry-a  v1.0.0, staging unknown (its pilot does not tell)',
        '… val-a     v1.0.0, staging not reported yet',
        '✓ val-b     v1.0.0, binary staged',
      ].join('\n'),
    );
    expect(announcement!.message.text).toBe('Staging not known yet: sentry-a, val-a.');
    expect(announcement!.message.severity).toBe('info');
    // Its next report names the plan: edited in.
    thread.tick(facts(T0 + MIN, { 'sentry-a': { upgrade: null } }), T0 + MIN);
    expect(thread.effects.at(-1)!.message.preformatted).toContain('✓ val-a     v1.0.0, binary staged');
    // A later report without the plan (a failed read) takes back nothing it told.
    thread.tick(facts(T0 + 2 * MIN, { 'val-a': noPlan, 'sentry-a': { upgrade: null } }), T0 + 2 * MIN);
    expect(thread.upgrade.nodes['val-a']!.ready).toBe('staged');
    expect(thread.effects).toHaveLength(2);
  });

  it('counts down coarsely', () => {
    expect(
      [2 * 86_400_000, 26 * HOUR, 2 * HOUR, 118 * MIN, 62 * MIN, 16 * MIN, 14.5 * MIN, 10_000].map(roughSpan),
    ).toEqual(['2 d', '26 h', '2 h', '2 h', '60 min', '15 min', '15 min', '1 min']);
  });
});

describe('nodes that will not take the upgrade by themselves', () => {
  const unready = {
    'sentry-a': { upgrade: staged({ staged: false }) },
    'val-b': { upgrade: staged({ cosmovisor: false, staged: null }) },
  };

  it('are warnings in the thread, in its reminders, and findings until they are ready', () => {
    const thread = announced();
    thread.tick(facts(T0 + MIN, unready), T0 + MIN);
    const edit = thread.effects.at(-1)!;
    expect(edit).toMatchObject({ kind: 'update', subject: SUBJECT, message: { severity: 'warning' } });
    expect(edit.message.text).toBe(
      [
        'Not staged: sentry-a (put the binary in cosmovisor/upgrades/v2/bin).',
        'Not under cosmovisor: val-b (someone installs the binary when the chain halts).',
      ].join('\n'),
    );
    expect(edit.message.preformatted).toContain('✗ sentry-a  v1.0.0, binary NOT staged for cosmovisor');
    expect(chainUpgradeFindings(thread.state)).toEqual([
      {
        key: 'node:sentry-a:upgrade-not-staged',
        kind: 'upgrade-not-staged',
        nodeId: 'sentry-a',
        chainId: CHAIN,
        severity: 'warning',
        title: 'sentry-a: binary for chain upgrade v2 not staged',
        detail: `the chain halts at height ${H} (about 2026-01-06 14:00 UTC): put the new binary in cosmovisor/upgrades/v2/bin`,
      },
      {
        key: 'node:val-b:upgrade-not-staged',
        kind: 'upgrade-not-staged',
        nodeId: 'val-b',
        chainId: CHAIN,
        severity: 'warning',
        title: 'val-b: not under cosmovisor for chain upgrade v2',
        detail: `the chain halts at height ${H} (about 2026-01-06 14:00 UTC): someone installs the new binary on it then`,
      },
    ]);
    thread.run(T0 + 2 * HOUR, MIN, (t) => facts(t, unready));
    const reminder = thread.effects.find((e) => e.subject === REMINDERS)!;
    expect(reminder.message.severity).toBe('warning');
    expect(reminder.message.text).toContain('Not staged: sentry-a');

    // Staged meanwhile: the warning goes, from the thread and from alerting.
    thread.tick(facts(T0 + 3 * HOUR, { 'val-b': unready['val-b'] }), T0 + 3 * HOUR);
    expect(thread.effects.at(-1)!.message.text).not.toContain('Not staged');
    expect(chainUpgradeFindings(thread.state).map((f) => f.key)).toEqual(['node:val-b:upgrade-not-staged']);
  });
});

describe('the halt', () => {
  it('turns the thread into one message edited in place, and holds every health alert of the chain', () => {
    const thread = announced();
    const before = thread.effects.length;
    thread.tick(facts(ETA, { 'val-a': halted, 'val-b': halted, 'sentry-a': halted }), ETA);
    expect(thread.upgrade.phase).toBe('upgrading');
    expect(thread.effects.slice(before).map((e) => [e.kind, e.subject, e.message.title])).toEqual([
      [
        'update',
        SUBJECT,
        `Chain upgrade v2: upgrade in progress — halted at ${H}, 0 of 3 nodes on the new binary`,
      ],
    ]);
    const holds = chainUpgradeHolds(thread.state);
    expect(holds).toEqual([{ by: `chain-upgrade:${CHAIN}:v2`, chainId: CHAIN }]);
    expect(new Set(heldBy(holds, healthFindings(CHAIN)))).toEqual(new Set([`chain-upgrade:${CHAIN}:v2`]));
    // Not another chain's, and never an operation's own problems.
    expect(new Set(heldBy(holds, healthFindings('other-1')))).toEqual(new Set([null]));
    const drift = { ...healthFindings(CHAIN)[0]!, kind: 'pilot-version' as const };
    expect(holdOf(drift, holds)).toBeNull();

    // Nodes switch binaries one by one: the same message follows.
    thread.tick(facts(ETA + MIN, { 'val-a': switched, 'val-b': halted, 'sentry-a': halted }), ETA + MIN);
    thread.tick(
      facts(ETA + 2 * MIN, { 'val-a': switched, 'val-b': halted, 'sentry-a': halted }),
      ETA + 2 * MIN,
    );
    thread.tick(
      facts(ETA + 3 * MIN, { 'val-a': switched, 'val-b': switched, 'sentry-a': halted }),
      ETA + 3 * MIN,
    );
    const during = thread.effects.slice(before);
    expect(during.every((e) => e.kind === 'update' && e.subject === SUBJECT)).toBe(true);
    expect(titles(during).map((t) => t.replace(/.*halted at \d+, /, ''))).toEqual([
      '0 of 3 nodes on the new binary',
      '1 of 3 nodes on the new binary',
      '2 of 3 nodes on the new binary',
    ]);
    expect(during.at(-1)!.message.preformatted).toBe(
      [
        '· sentry-a  v1.0.0, old binary',
        '… val-a     v1.0.0 → v2.0.0, waiting for the chain',
        '… val-b     v1.0.0 → v2.0.0, waiting for the chain',
      ].join('\n'),
    );
  });

  it('is done once every node is past the height on a new binary and the validator signs again', () => {
    const thread = announced();
    thread.tick(facts(ETA, { 'val-a': halted, 'val-b': halted, 'sentry-a': halted }), ETA);
    // Every node through, but no signature of ours above the height yet: still in progress.
    const unsigned = {
      'val-a': { ...through(true), signedHeights: [H - 2] },
      'val-b': { ...through(true), signedHeights: [H - 2] },
      'sentry-a': through(false),
    };
    thread.tick(facts(ETA + 5 * MIN, unsigned), ETA + 5 * MIN);
    expect(thread.upgrade.phase).toBe('upgrading');
    expect(chainUpgradeHolds(thread.state)).toHaveLength(1);
    thread.tick(facts(ETA + 6 * MIN, allThrough), ETA + 6 * MIN);
    expect(thread.upgrade).toMatchObject({ phase: 'done', signingSince: H + 1, endedAt: ETA + 6 * MIN });
    expect(thread.effects.at(-1)).toMatchObject({
      kind: 'update',
      subject: SUBJECT,
      message: {
        title: `Chain upgrade v2 done: every node runs v2.0.0, signing again since height ${H + 1}`,
        severity: 'ok',
      },
    });
    expect(chainUpgradeHolds(thread.state)).toEqual([]);
    expect(chainUpgradeFindings(thread.state)).toEqual([]);
    // Over: nothing more is said about it, whatever the nodes report.
    const after = thread.effects.length;
    thread.tick(facts(ETA + 7 * MIN, allThrough), ETA + 7 * MIN);
    expect(thread.effects).toHaveLength(after);
  });

  it('names what is not through after the settle time, lets alerts flow, and is done once it is', () => {
    const thread = announced();
    thread.tick(facts(ETA, { 'val-a': halted, 'val-b': halted, 'sentry-a': halted }), ETA);
    const lagging = { ...allThrough, 'sentry-a': halted };
    thread.tick(facts(ETA + 59 * MIN, lagging), ETA + 59 * MIN);
    expect(thread.upgrade.phase).toBe('upgrading');
    thread.tick(facts(ETA + HOUR, lagging), ETA + HOUR);
    expect(thread.upgrade.phase).toBe('incomplete');
    expect(thread.effects.at(-1)!.message).toMatchObject({
      title: `Chain upgrade v2: not through 60 min after the halt at ${H}`,
      severity: 'warning',
      text: 'sentry-a: still on v1.0.0\nAlerts about these nodes are told again.',
    });
    expect(chainUpgradeHolds(thread.state)).toEqual([]);
    expect(chainUpgradeFindings(thread.state)).toEqual([
      {
        key: 'node:sentry-a:upgrade-incomplete',
        kind: 'upgrade-incomplete',
        nodeId: 'sentry-a',
        chainId: CHAIN,
        severity: 'warning',
        title: 'sentry-a: not through chain upgrade v2',
        detail: `still on v1.0.0 (the chain halted for it at height ${H})`,
      },
    ]);
    thread.tick(facts(ETA + 2 * HOUR, allThrough), ETA + 2 * HOUR);
    expect(thread.upgrade.phase).toBe('done');
    expect(chainUpgradeFindings(thread.state)).toEqual([]);
  });

  it('names a validator that does not sign again', () => {
    const thread = announced();
    thread.tick(facts(ETA, { 'val-a': halted, 'val-b': halted, 'sentry-a': halted }), ETA);
    const quiet = {
      'val-a': { ...through(true), signedHeights: [] },
      'val-b': { ...through(true), signedHeights: [] },
      'sentry-a': through(false),
    };
    thread.tick(facts(ETA + HOUR, quiet), ETA + HOUR);
    expect(chainUpgradeFindings(thread.state)).toMatchObject([
      {
        key: `validator:${CHAIN}:${VALIDATOR}:upgrade-incomplete`,
        validator: VALIDATOR,
        title: 'validator AAAAAAAA not signing since chain upgrade v2',
        detail: `no signed commit above height ${H} yet (the chain halted for it at height ${H})`,
      },
    ]);
  });
});

describe('a plan that goes away before its height', () => {
  it('is cancelled once no fresh report lists it for the cancel time; one failed read cancels nothing', () => {
    const thread = announced();
    const at = T0 + HOUR;
    // val-a's read failed (no plan), the others still list it.
    thread.run(at, 10 * MIN, (t) => facts(t, { 'val-a': noPlan }));
    expect(thread.upgrade.phase).toBe('scheduled');
    thread.tick(withoutPlan(at + MIN), at + MIN);
    expect(thread.upgrade.phase).toBe('scheduled');
    thread.tick(withoutPlan(at + 3 * MIN), at + 3 * MIN);
    expect(thread.upgrade.phase).toBe('cancelled');
    expect(thread.effects.at(-1)).toMatchObject({
      kind: 'update',
      subject: SUBJECT,
      message: { title: `Chain upgrade v2 at height ${H}: cancelled` },
    });
    expect(chainUpgradeFindings(thread.state)).toEqual([]);
  });

  it('is not cancelled while no fresh report tells of plans at all', () => {
    const thread = announced();
    const silent = { fresh: false };
    thread.tick(facts(T0 + HOUR, { 'val-a': silent, 'val-b': silent, 'sentry-a': silent }), T0 + HOUR);
    thread.tick(
      facts(T0 + 2 * HOUR, { 'val-a': silent, 'val-b': silent, 'sentry-a': silent }),
      T0 + 2 * HOUR,
    );
    expect(thread.upgrade.phase).toBe('scheduled');
  });
});

describe('a commander restart', () => {
  it('announces nothing again: the plan is in the stored state', () => {
    const thread = announced();
    const restarted = new Thread();
    restarted.state = JSON.parse(JSON.stringify(thread.state));
    restarted.tick(facts(T0 + 30_000), T0 + 30_000);
    expect(restarted.effects).toEqual([]);
  });

  it('nor after the upgrade, when a lagging node still reports it', () => {
    const thread = announced();
    thread.tick(facts(ETA, { 'val-a': halted, 'val-b': halted, 'sentry-a': halted }), ETA);
    thread.tick(facts(ETA + MIN, allThrough), ETA + MIN);
    expect(thread.upgrade.phase).toBe('done');
    const restarted = new Thread();
    restarted.state = JSON.parse(JSON.stringify(thread.state));
    restarted.tick(facts(ETA + 2 * MIN, { ...allThrough, 'sentry-a': halted }), ETA + 2 * MIN);
    expect(restarted.effects).toEqual([]);
  });

  it('takes the halt seen only after it was down: the versions before are what it knew', () => {
    const thread = announced();
    // Down through the halt: the first tick back sees nodes on v2 already, past the height.
    thread.tick(facts(ETA + HOUR / 2, allThrough), ETA + HOUR / 2);
    expect(thread.upgrade.phase).toBe('done');
    expect(thread.effects.at(-1)!.message.title).toBe(
      `Chain upgrade v2 done: every node runs v2.0.0, signing again since height ${H + 1}`,
    );
  });
});
