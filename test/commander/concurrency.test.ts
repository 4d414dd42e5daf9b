import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleReport } from '../fixtures/report.js';
import {
  OPERATOR,
  type TestCommander,
  enrollApproved,
  enrollRequest,
  makeCommander,
  sendReport,
  startDynalite,
} from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
let secret: string;
beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint);
  secret = await enrollApproved(c, enrollRequest());
});
afterAll(async () => {
  await db.close();
});

describe('concurrent writes to one node', () => {
  it('never lose an update: every accepted report counts, and queued actions all survive', async () => {
    let seq = 0;
    for (let round = 0; round < 10; round++) {
      const seqs = [++seq, ++seq];
      const [replies, ids] = await Promise.all([
        Promise.all(seqs.map((s) => sendReport(c, secret, sampleReport({ seq: s })))),
        Promise.all([c.app.queueRestart(OPERATOR, 'val-a'), c.app.queueRestart(OPERATOR, 'val-a')]),
      ]);
      // A lower seq that lost the race to a higher one is a replay by then; never a 5xx.
      for (const r of replies) expect([200, 409]).toContain(r.status);
      expect(replies.some((r) => r.status === 200)).toBe(true);
      const node = (await c.store.getNode('val-a'))!.value;
      expect(node.lastSeq).toBe(seqs[1]);
      for (const id of ids) expect(node.actions.map((a) => a.id)).toContain(id);
    }
    const node = (await c.store.getNode('val-a'))!;
    expect(node.value.actions).toHaveLength(20);
    expect(node.value.reportCount).toBeGreaterThanOrEqual(10);
    // Every successful write bumped the version once: approve + reports + 20 queued actions.
    expect(node.version).toBe(2 + node.value.reportCount + 20);
  });
});
