import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleReport } from '../fixtures/report.js';
import { endpoint, HttpError, sendEnroll, sendReport } from '../../pilot/reporter.js';
import { FakeCommander } from './harness.js';

const commander = new FakeCommander();
const secret = '11'.repeat(32);

beforeAll(async () => {
  await commander.start();
});
afterAll(async () => {
  await commander.stop();
});

describe('signed reporting over HTTP', () => {
  it('sends a report the commander verifies, and surfaces rejections with their status', async () => {
    const report = { ...sampleReport(), seq: 7 };
    commander.secrets.set(report.nodeId, secret);
    const reply = await sendReport(commander.url, secret, report, 2000);
    expect(reply.nextReportMs).toBe(500);
    expect(commander.last(report.nodeId)?.seq).toBe(7);
    // Replay of the same seq, a wrong secret, a stale timestamp: each refused, nothing stored.
    await expect(sendReport(commander.url, secret, report, 2000)).rejects.toMatchObject({ status: 409 });
    const next = { ...report, seq: 8 };
    await expect(sendReport(commander.url, '22'.repeat(32), next, 2000)).rejects.toBeInstanceOf(HttpError);
    await expect(
      sendReport(commander.url, secret, next, 2000, Date.now() - 10 * 60_000),
    ).rejects.toMatchObject({
      status: 401,
    });
    expect(commander.reports.get(report.nodeId)).toHaveLength(1);
    expect(commander.rejected).toEqual([
      'seq 7 not above 7',
      'signature does not match',
      'stale timestamp: more than 300 s from commander time',
    ]);
  });

  it('enrolls: pending first, then approved with a secret', async () => {
    const req = {
      enrollmentToken: 'fleet-token-0123456789',
      name: 'sentry-9',
      role: 'sentry' as const,
      chainId: 'beam-1',
      pilotVersion: '0.1.0',
      claim: 'ab'.repeat(32),
      cometNodeId: null,
      p2pAddress: null,
      instanceId: null,
    };
    expect(await sendEnroll(commander.url, req, 2000)).toMatchObject({ status: 'pending' });
    const approved = await sendEnroll(commander.url, req, 2000);
    expect(approved).toMatchObject({ status: 'approved', nodeId: 'sentry-9' });
  });

  it('keeps a path prefix of the commander URL', () => {
    expect(endpoint('https://beam.example.com/prod/', '/v1/pilot/report')).toBe(
      'https://beam.example.com/prod/v1/pilot/report',
    );
  });
});
