/**
 * Finding: the pilot's memory of executed action ids kept the last 5,000 and forgot the rest, so an
 * action re-sent after 5,000 others ran a second time. Ids are now ordered by `issuedAt`: the
 * pilot keeps the recent ones and a watermark below them, and refuses anything at or below the
 * watermark that it cannot prove never ran.
 */
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECENT_IDS } from '../../pilot/ledger.js';
import type { Action } from '../../protocol/index.js';
import { waitFor } from '../helpers/wait.js';
import { FakeCommander } from '../pilot/harness.js';
import { attack, type PilotWorld, pilotWorld } from './kit.js';

const commander = new FakeCommander();
let world: PilotWorld;

beforeAll(async () => {
  await commander.start();
  // Thousands of state writes, each fsynced: on a tmpfs when there is one.
  const shm = await fs.stat('/dev/shm').then(
    (st) => st.isDirectory(),
    () => false,
  );
  world = await pilotWorld('sentry-1', commander.url, shm ? { root: '/dev/shm' } : {});
  await waitFor(() => commander.last('sentry-1'), 'sentry-1 reporting');
});
afterAll(async () => {
  await world?.stop();
  await commander.stop();
});

/** Sends the actions in the next replies and waits for the result of each. */
async function sendAndWait(actions: Action[]) {
  commander.script('sentry-1').actions = actions;
  return Promise.all(
    actions.map((a) =>
      waitFor(() => commander.resultsOf('sentry-1', a.id)[0], `the result of ${a.id}`, { timeoutMs: 15_000 }),
    ),
  );
}

describe('an action id replayed after 5,000 others', () => {
  it('is refused, never run again, however many actions ran in between', async () => {
    const t0 = Date.now() - 60_000;
    const stop: Action = { id: 'op-stop-1', issuedAt: t0, type: 'stop-daemon' };
    const start: Action = { id: 'op-start-1', issuedAt: t0 + 1, type: 'start-daemon' };
    expect((await sendAndWait([stop]))[0]).toMatchObject({ ok: true });
    expect(world.pilot.supervisor.desired).toBe('stopped');
    expect((await sendAndWait([start]))[0]).toMatchObject({ ok: true });
    expect(world.pilot.supervisor.desired).toBe('running');

    // 5,000 more actions, each recorded by the ledger (a sentry refuses votes: no hot key).
    for (let i = 0; i < 5_000; i++) {
      const vote: Action = {
        id: `filler-${i}`,
        issuedAt: t0 + 2 + i,
        type: 'vote',
        proposalId: '1',
        option: 'yes',
      };
      expect(await world.pilot.runAction(vote, Date.now())).toMatchObject({ ok: false });
    }
    const ids = world.pilot.store.get().executed;
    expect(ids.recent).toHaveLength(RECENT_IDS);
    expect(ids.watermark).toBeGreaterThanOrEqual(stop.issuedAt);

    attack('the 5,001st action is a replay of the first: the stop-daemon, same id, same issue time');
    commander.results.set('sentry-1', []); // a commander that forgot it had the result re-sends it
    const [replayed] = await sendAndWait([stop]);
    expect(replayed).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^refused: issued at .*, at or before this pilot's action watermark/),
    });
    expect(world.pilot.supervisor.desired).toBe('running');
    expect(await world.pilot.supervisor.isRunning()).toBe(true);

    attack('an old id the pilot never saw, issued below the watermark, is slipped in');
    const [unknown] = await sendAndWait([{ id: 'op-restart-old', issuedAt: t0 + 3, type: 'restart-daemon' }]);
    expect(unknown).toMatchObject({ ok: false, message: expect.stringMatching(/watermark/) });
    expect(world.pilot.supervisor.restarts).toBe(0);

    // A new action still runs.
    const [fresh] = await sendAndWait([
      { id: 'op-restart-new', issuedAt: Date.now(), type: 'restart-daemon' },
    ]);
    expect(fresh).toMatchObject({ ok: true });
  });
});
