/** The daily digest, through the tick: totals of the day, posted once at its hour, then a new period. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/index.js';
import { runTick } from '../../commander/app/tick.js';
import { sampleReport } from '../fixtures/report.js';
import { enrollApproved, enrollRequest, makeCommander, sendReport, startDynalite } from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

describe('the daily digest', () => {
  it('sums up signing, misses and alerts per chain at its hour', async () => {
    // T0 is 12:00 UTC: the digest is due at 13:00.
    const c = await makeCommander(db.endpoint, { alerts: { digest: { enabled: true, hourUtc: 13 } } });
    const secret = await enrollApproved(c, enrollRequest());
    let height = 100;
    let seq = 0;
    const report = (missed: boolean): Report => {
      const base = sampleReport({ seq: ++seq, sentAt: c.clock.now() });
      return {
        ...base,
        daemon: { ...base.daemon, height, latestBlockTime: c.clock.now() - 500 },
        chain: {
          validatorAddress: 'A'.repeat(40),
          operatorAddress: null,
          recentCommits: [3, 2, 1].map((d) => ({
            height: height - d,
            signed: !(missed && d === 1),
            at: c.clock.now(),
          })),
          signingInfo: null,
          validator: null,
          networkSignedShare: 1,
          balances: [],
          rewards: [],
          commission: [],
          proposals: [],
          grants: null,
          errors: [],
        },
      };
    };
    for (let i = 0; i < 12; i++) {
      c.clock.advance(5 * 60_000);
      height += 3;
      await sendReport(c, secret, report(i === 5));
      await runTick(c.deps);
    }
    const digests = () => c.transport.posts.filter((p) => p.message.title.startsWith('Daily digest'));
    expect(digests()).toHaveLength(1);
    const [digest] = digests();
    // The first tick only marks where counting starts; 11 ticks × 3 commits follow, one missed.
    expect(digest!.message.title).toBe('Daily digest of beam-devnet-1: 96.9% signed');
    expect(digest!.message.fields).toEqual(
      expect.arrayContaining([
        { label: 'Signed', value: '32 of 33 blocks seen (96.9%)' },
        { label: 'Missed', value: '1' },
        { label: 'Proposals voted', value: 'none' },
        { label: 'Actions', value: 'none' },
      ]),
    );
    c.clock.advance(5 * 60_000);
    await runTick(c.deps);
    expect(digests()).toHaveLength(1);
  });
});
