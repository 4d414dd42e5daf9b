/** A chain upgrade through the commander: reports in, the tick's thread and holds out, on dynalite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChainUpgrade } from '../../../commander/app/chain-upgrade-ops.js';
import { runTick } from '../../../commander/app/tick.js';
import { buildDeps } from '../../../commander/deps.js';
import type { UpgradeFacts } from '../../../protocol/index.js';
import { type NodeName, NODES, type ReportOver, TestFleet } from '../fleet-kit.js';
import { RecordingTransport, startDynalite } from '../helpers.js';

const MIN = 60_000;
const CHAIN = 'beam-devnet-1';
const SUBJECT_TITLE = /^Chain upgrade v2/;
let db: Awaited<ReturnType<typeof startDynalite>>;
let f: TestFleet;
/** The upgrade height: two hours of 5-second blocks after the plan is first seen. */
let H = 0;
/** The chain's first block in the test, and when it was made: a block every 5 s from there. */
let start = { height: 0, at: 0 };

beforeAll(async () => {
  db = await startDynalite();
  f = await TestFleet.start(db.endpoint);
  await f.reportAll(
    everyone({ daemon: { version: 'v1.0.0' }, upgrade: upgrade({ plan: null, staged: null }) }),
  );
  await runTick(f.c.deps);
  start = { height: f.height, at: f.c.clock.now() };
  H = f.height + 12 + 2 * 720;
});
afterAll(async () => {
  await db?.close();
});

const upgrade = (over: Partial<UpgradeFacts> = {}): UpgradeFacts => ({
  cosmovisor: true,
  plan: { name: 'v2', height: H, info: '' },
  staged: true,
  halted: null,
  ...over,
});
const everyone = (over: ReportOver) =>
  Object.fromEntries(NODES.map((n) => [n, over])) as Record<NodeName, ReportOver>;

/** A minute later, every node reporting the chain's height (it stops at the block before H), then a tick. */
async function minute(over: Partial<Record<NodeName, ReportOver>>) {
  f.c.clock.advance(MIN);
  f.height = Math.min(start.height + Math.floor((f.c.clock.now() - start.at) / 5_000), H - 1);
  await f.reportAll(over);
  await runTick(f.c.deps);
}

const scheduled = (): Partial<Record<NodeName, ReportOver>> => ({
  ...everyone({ daemon: { version: 'v1.0.0' }, upgrade: upgrade() }),
  'sentry-a': { daemon: { version: 'v1.0.0' }, upgrade: upgrade({ staged: false }) },
});
const threadMessages = () => f.told().filter((m) => SUBJECT_TITLE.test(m.message.title));
const alert = async (key: string) => (await f.c.store.getAlert(key))?.value;

describe('a chain upgrade through the tick', () => {
  it('is announced once, with its estimated time and the node that has no binary staged', async () => {
    await minute(scheduled());
    const posts = f.c.transport.posts.filter((p) => SUBJECT_TITLE.test(p.message.title));
    expect(posts.map((p) => p.message.title)).toEqual([
      `Chain upgrade v2 at height ${H} (about 2026-01-05 14:00 UTC, in 2 h)`,
    ]);
    expect(posts[0]!.message.text).toBe(
      'Not staged: sentry-a (put the binary in cosmovisor/upgrades/v2/bin).',
    );
    expect((await loadChainUpgrade(f.c.store, CHAIN)).state.upgrades.v2?.phase).toBe('scheduled');
  });

  it('is not announced again by a commander that restarts', async () => {
    const transport = new RecordingTransport('console');
    const restarted = buildDeps(f.c.deps.settings, {
      transports: { console: transport },
      now: f.c.clock.now,
      log: { info() {}, warn() {}, error() {} },
    });
    await runTick(restarted);
    await runTick(restarted);
    expect(transport.posts.filter((p) => SUBJECT_TITLE.test(p.message.title))).toEqual([]);
  });

  it('warns of the unstaged node once that lasts an hour', async () => {
    for (let i = 0; i < 60; i += 10) await minute(scheduled()).then(() => f.c.clock.advance(9 * MIN));
    await minute(scheduled());
    expect(await alert('node:sentry-a:upgrade-not-staged')).toMatchObject({
      state: 'open',
      severity: 'warning',
      title: 'sentry-a: binary for chain upgrade v2 not staged',
    });
  });

  it('holds every alert of the chain through the halt; the thread is the one message', async () => {
    // The chain reaches the block before the upgrade; the nodes halt, val-a's daemon exits.
    f.c.clock.advance(60 * MIN);
    const lastBlockAt = f.c.clock.now();
    const halted = {
      daemon: { version: 'v1.0.0', latestBlockTime: lastBlockAt },
      upgrade: upgrade({ plan: null, staged: null, halted: { name: 'v2', height: H, info: '' } }),
    };
    const exited = { ...halted, daemon: { ...halted.daemon, running: false, rpcReachable: false } };
    await minute({ ...everyone(halted), 'val-a': exited });
    expect(f.height).toBe(H - 1);
    const before = f.told().length;
    for (let i = 0; i < 3; i++) await minute({ ...everyone(halted), 'val-a': exited });
    const down = await alert('node:val-a:daemon-down');
    expect(down).toMatchObject({ state: 'pending', heldBy: `chain-upgrade:${CHAIN}:v2` });
    expect(await alert(`chain:${CHAIN}:chain-halted`)).toMatchObject({
      state: 'pending',
      heldBy: `chain-upgrade:${CHAIN}:v2`,
    });
    const since = f.told().slice(before);
    expect(since.every((m) => SUBJECT_TITLE.test(m.message.title))).toBe(true);
    const thread = threadMessages().at(-1)!;
    expect(thread.message.title).toBe(
      `Chain upgrade v2: upgrade in progress — halted at ${H}, 0 of 3 nodes on the new binary`,
    );
    // Every edit of the thread is of the one message posted.
    const posted = f.c.transport.posts.find((p) => SUBJECT_TITLE.test(p.message.title))!;
    const edits = f.c.transport.updates.filter((u) => SUBJECT_TITLE.test(u.message.title));
    expect(new Set(edits.map((u) => u.ref.messageId))).toEqual(new Set([posted.ref.messageId]));
    // The warning went with the halt: the thread tells the rest.
    expect((await alert('node:sentry-a:upgrade-not-staged'))!.state).toBe('resolved');
  });

  it('is done once every node runs the new binary past the height and the validator signs again', async () => {
    f.height = H + 3;
    const through = { daemon: { version: 'v2.0.0' }, upgrade: upgrade({ plan: null, staged: null }) };
    f.c.clock.advance(MIN);
    await f.reportAll(everyone(through));
    await runTick(f.c.deps);
    expect(threadMessages().at(-1)!.message.title).toBe(
      `Chain upgrade v2 done: every node runs v2.0.0, signing again since height ${H + 1}`,
    );
    // Nothing held back fired: the conditions were gone before their hold ended.
    expect((await alert('node:val-a:daemon-down'))!.openedAt).toBeNull();
    expect(f.told().some((m) => /daemon down|no new block/.test(m.message.title))).toBe(false);
  });
});
