import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../commander/app/tick.js';
import { holdOf, maintenanceHolds } from '../../commander/alerting/holds.js';
import { type NodeRecord, maintenanceUntil } from '../../commander/domain/registry.js';
import { parseCommand } from '../../commander/chatops/commands.js';
import type { ActionResult } from '../../protocol/index.js';
import { TestFleet } from './fleet-kit.js';
import { startDynalite } from './helpers.js';

const HOUR = 3_600_000;
let db: Awaited<ReturnType<typeof startDynalite>>;
let f: TestFleet;

beforeAll(async () => {
  db = await startDynalite();
  f = await TestFleet.start(db.endpoint);
  await f.reportAll();
  // Every node reported healthy once: their alerts count from now on.
  await runTick(f.c.deps);
});
afterAll(async () => {
  await db?.close();
});

const down = { daemon: { running: false, rpcReachable: false, height: null, latestBlockTime: null } };
const alert = async (key: string) => (await f.c.store.getAlert(key))?.value;
const nodeOf = async (name: string) => (await f.c.store.getNode(name))!.value;
const answered = (id: string, ok: boolean, message: string): ActionResult => ({
  id,
  type: 'maintenance',
  ok,
  finishedAt: f.c.clock.now(),
  message,
});

describe('a maintenance window', () => {
  const T = 1_000_000;
  const node = (over: Partial<NodeRecord>) =>
    ({
      id: 'val-b',
      chainId: 'c-1',
      lastSeen: T,
      lastReport: null,
      maintenance: null,
      ...over,
    }) as NodeRecord;
  const reported = (until: number, sentAt: number) =>
    node({
      lastReport: { sentAt, maintenance: { until, by: 'node', reason: '' } } as NodeRecord['lastReport'],
    });

  it("lasts as long as the record's or the pilot's, the pilot's end read against its own clock", () => {
    const asked = { until: T + 60_000, reason: '', by: 'x', at: T, actionId: 'm-1', told: false };
    expect(maintenanceUntil(node({ maintenance: asked }), T)).toBe(T + 60_000);
    expect(maintenanceUntil(node({ maintenance: { ...asked, until: null } }), T)).toBeNull();
    // The pilot's clock runs 10 s behind: its window ends 10 s later here.
    expect(maintenanceUntil(reported(T + 50_000, T - 10_000), T)).toBe(T + 60_000);
    expect(maintenanceUntil(reported(T + 50_000, T - 10_000), T + 60_000)).toBeNull();
    expect(maintenanceUntil(node({ maintenance: asked }), T + 60_000)).toBeNull();
  });

  it("holds the node's own alerts, never the validator's signing ones", () => {
    const holds = maintenanceHolds([reported(T + 50_000, T), node({ id: 'val-a' })], T);
    const finding = (kind: 'daemon-down' | 'jailed' | 'missed-blocks', nodeId = 'val-b') => ({
      key: `k:${kind}`,
      kind,
      nodeId,
      chainId: 'c-1',
      severity: 'critical' as const,
      title: kind,
      detail: kind,
    });
    expect(holdOf(finding('daemon-down'), holds)).toBe('maintenance:val-b');
    expect(holdOf(finding('daemon-down', 'val-a'), holds)).toBeNull();
    expect(holdOf(finding('jailed'), holds)).toBeNull();
    expect(holdOf(finding('missed-blocks'), holds)).toBeNull();
  });
});

describe('the maintenance command', () => {
  it('parses a duration of at most 7 days, or off, with an optional reason', () => {
    expect(parseCommand('maintenance val-b 2h swapping the disk')).toEqual({
      ok: true,
      command: { name: 'maintenance', node: 'val-b', span: 2 * HOUR, reason: 'swapping the disk' },
    });
    expect(parseCommand('maintenance val-b OFF')).toEqual({
      ok: true,
      command: { name: 'maintenance', node: 'val-b', span: null },
    });
    expect(parseCommand('maintenance val-b 8d')).toMatchObject({
      ok: false,
      error: 'maintenance: span: use a duration between 1s and 7d (got "8d")',
      usage: 'maintenance <node> <duration|off> [reason…]',
    });
    expect(parseCommand('maintenance val-b soon')).toMatchObject({
      ok: false,
      error: 'maintenance: span: use a duration such as 30m, 2h or 1d, or `off` (got "soon")',
    });
    expect(parseCommand('maintenance val-b')).toMatchObject({
      ok: false,
      error: 'maintenance: missing duration (e.g. 2h) or off',
    });
  });

  it('is for operators: a viewer is refused and nothing is queued', async () => {
    const [reply] = await f.say('look', 'maintenance val-b 2h');
    expect(reply).toMatchObject({ private: true, message: { title: 'Not allowed' } });
    expect(reply!.message.text).toBe('`maintenance` needs the operator role; you are viewer');
    expect((await nodeOf('val-b')).actions.filter((a) => a.type === 'maintenance')).toEqual([]);
  });

  it('queues the window for the pilot once confirmed, holds the node alerts at once, and shows it in status', async () => {
    const start = f.c.clock.now();
    const [question] = await f.say('op', 'maintenance val-b 2h swapping the disk');
    expect(question!.message.title).toBe('Confirm: maintenance val-b 2h swapping the disk');
    expect((await nodeOf('val-b')).actions.filter((a) => a.type === 'maintenance')).toEqual([]);
    const { answer: reply } = await f.confirm('op', 'maintenance val-b 2h swapping the disk');
    expect(reply.message.title).toBe('Maintenance of val-b: accepted');
    expect(reply.message.text).toBe(
      'val-b is in maintenance until 2026-01-05T14:00:00Z (2 h): its pilot leaves the daemon as you put it, its alerts wait, and it is no failover target. It ends by itself; `maintenance val-b off` ends it sooner.',
    );
    const node = await nodeOf('val-b');
    const action = node.actions.find((a) => a.type === 'maintenance');
    expect(action).toMatchObject({ until: start + 2 * HOUR, reason: 'swapping the disk' });
    expect(node.maintenance).toMatchObject({ until: start + 2 * HOUR, by: 'console:op', told: false });

    // The operator stops the daemon before the pilot ran the action (it gets it with this reply).
    f.c.clock.advance(5_000);
    await f.report('val-a');
    await f.report('sentry-a');
    expect((await f.report('val-b', down)).actions).toContainEqual(action);
    await runTick(f.c.deps);
    expect(await alert('node:val-b:daemon-down')).toMatchObject({
      state: 'pending',
      heldBy: 'maintenance:val-b',
    });
    expect(f.told().some((m) => m.message.title.startsWith('val-b: daemon down'))).toBe(false);

    const [status] = await f.say('look', 'status');
    const row = status!.message.preformatted!.split('\n').find((r) => r.startsWith('val-b'));
    expect(row).toContain('maintenance until 2026-01-05 14:00 UTC');
    const [detail] = await f.say('look', 'node val-b');
    expect(detail!.message.fields).toContainEqual({
      label: 'Maintenance',
      value: 'until 2026-01-05 14:00 UTC',
    });
  });

  it("tells the pilot's answer once, in place of the request's answer", async () => {
    const window = (await nodeOf('val-b')).maintenance!;
    f.c.clock.advance(5_000);
    await f.report('val-b', {
      ...down,
      maintenance: { until: window.until!, by: 'commander', reason: 'swapping the disk' },
      results: [answered(window.actionId, true, 'maintenance until 2026-01-05T14:00:00Z')],
    });
    await runTick(f.c.deps);
    await runTick(f.c.deps);
    const edits = f.c.transport.updates.filter((u) => u.message.title.startsWith('Maintenance of val-b'));
    expect(edits.map((e) => e.message.title)).toEqual([
      'Maintenance of val-b: accepted',
      'Maintenance of val-b: confirmed by its pilot',
    ]);
    // The request's answer, shown in the ops chat in place of its question, is the message edited.
    expect(edits[1]!.ref).toEqual(edits[0]!.ref);
    expect((await nodeOf('val-b')).maintenance!.told).toBe(true);
  });

  it('ends with off: alerts wait until the pilot says the window is over, then flow', async () => {
    const [reply] = await f.say('op', 'maintenance val-b off');
    expect(reply!.message.title).toBe('End of maintenance of val-b: accepted');
    await f.show(reply!);
    const node = await nodeOf('val-b');
    expect(node.actions.filter((a) => a.type === 'maintenance')).toMatchObject([{ until: null }]);
    // The pilot still reports its window: still held.
    f.c.clock.advance(5_000);
    const window = node.lastReport!.maintenance!;
    await f.report('val-b', { ...down, maintenance: window });
    await runTick(f.c.deps);
    expect((await alert('node:val-b:daemon-down'))!.state).toBe('pending');
    // It ended it: the daemon being down is news now.
    f.c.clock.advance(5_000);
    await f.report('val-b', { ...down, results: [answered(node.maintenance!.actionId, true, 'ended')] });
    await runTick(f.c.deps);
    expect(await alert('node:val-b:daemon-down')).toMatchObject({ state: 'open', heldBy: null });
    expect(f.told().map((m) => m.message.title)).toContain('Maintenance of val-b: ended');
    const [again] = await f.say('op', 'maintenance val-b off');
    expect(again!.message.text).toBe('val-b is not in maintenance');
  });

  it('ends by itself: past its end the alerts flow, with nothing sent to the pilot', async () => {
    await f.confirm('op', 'maintenance sentry-a 30m');
    const window = (await nodeOf('sentry-a')).maintenance!;
    f.c.clock.advance(5_000);
    await f.report('sentry-a', {
      ...down,
      maintenance: { until: window.until!, by: 'commander', reason: '' },
      results: [answered(window.actionId, true, 'maintenance on')],
    });
    await runTick(f.c.deps);
    expect(await alert('node:sentry-a:daemon-down')).toMatchObject({ state: 'pending' });
    // The pilot's reports go on showing the window (its clock), until it is past.
    f.c.clock.advance(30 * 60_000);
    await f.report('sentry-a', {
      ...down,
      maintenance: { until: window.until!, by: 'commander', reason: '' },
    });
    await runTick(f.c.deps);
    expect(await alert('node:sentry-a:daemon-down')).toMatchObject({ state: 'open', heldBy: null });
    const queued = (await nodeOf('sentry-a')).actions.filter((a) => a.type === 'maintenance');
    expect(queued).toEqual([]);
    const [status] = await f.say('look', 'status');
    expect(status!.message.preformatted).not.toContain('maintenance');
  });

  it('tells a refusal by an older pilot, and says the daemon is not left alone', async () => {
    await f.confirm('op', 'maintenance val-a 1h');
    const window = (await nodeOf('val-a')).maintenance!;
    f.c.clock.advance(5_000);
    await f.report('val-a', {
      results: [{ ...answered(window.actionId, false, 'invalid action: type: unknown action maintenance') }],
    });
    await runTick(f.c.deps);
    const refused = f.c.transport.updates.find(
      (u) => u.message.title === 'Maintenance of val-a: its pilot refused',
    );
    const until = new Date(window.until!).toISOString().replace('.000Z', 'Z');
    expect(refused!.message.text).toBe(
      `invalid action: type: unknown action maintenance\nIts alerts still wait until ${until}, but its pilot restarts a daemon that stops: \`maintenance val-a off\` ends the window.`,
    );
  });
});
