/**
 * Finding: 101 approved sentries (anyone with the fleet token could enroll them, auto-approved) made every
 * validator's reply invalid: the commander put all 101 peers in one `dial-peers`, the protocol caps
 * it at 100, and the pilot rejected the whole reply (lease grant and key actions included).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../commander/app/tick.js';
import { createLambdaServer } from '../../commander/server/http-adapter.js';
import { sendReport } from '../../pilot/reporter.js';
import { type Action, MAX_DIAL_PEERS, parseAction, ReportReply } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import {
  enrollApproved,
  enrollRequest,
  makeCommander,
  startDynalite,
  type TestCommander,
} from '../commander/helpers.js';
import { attack } from './kit.js';

const SENTRIES = 101;
let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
let server: Server;
let url: string;

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint);
  // The pilot checks a reply's timestamp against its own clock: the commander's starts at now.
  c.clock.t = Date.now();
  server = createLambdaServer(c.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await db?.close();
});

const hex40 = (i: number) => i.toString(16).padStart(40, '0');

describe(`${SENTRIES} sentries behind one validator`, () => {
  it('reach the validator as several dial-peers of at most 100 peers, in a reply its pilot accepts whole', async () => {
    attack(`${SENTRIES} approved sentries, so one dial-peers would carry ${SENTRIES} peers`);
    const secret = await enrollApproved(c, enrollRequest({ name: 'val-a' }));
    for (let i = 1; i <= SENTRIES; i++) {
      await enrollApproved(
        c,
        enrollRequest({
          name: `sentry-${i}`,
          role: 'sentry',
          instanceId: `i-${i}`,
          claim: hex40(i).padEnd(64, '0'),
          cometNodeId: hex40(i),
          p2pAddress: `198.51.100.${i}:26656`,
        }),
      );
    }
    await runTick(c.deps);

    // The validator's real pilot code sends the report and takes the reply.
    const reply = await sendReport(
      url,
      secret,
      sampleReport({ seq: 1, sentAt: Date.now() }),
      5000,
      c.clock.now(),
    );
    expect(ReportReply.safeParse(reply).success).toBe(true);
    const parsed = reply.actions.map(parseAction);
    expect(parsed.every((p) => p.ok)).toBe(true);
    const actions = parsed.flatMap((p) => (p.ok ? [p.action] : []));
    const dials = actions.filter(
      (a): a is Extract<Action, { type: 'dial-peers' }> => a.type === 'dial-peers',
    );
    expect(dials.map((d) => d.peers.length)).toEqual([MAX_DIAL_PEERS, SENTRIES - MAX_DIAL_PEERS]);
    expect(new Set(dials.map((d) => d.id)).size).toBe(dials.length);
    const dialed = dials.flatMap((d) => d.peers).sort();
    const config = actions.find((a) => a.type === 'apply-config');
    expect(config?.type === 'apply-config' && config.patch.p2p?.persistent_peers?.slice().sort()).toEqual(
      dialed,
    );
    expect(dialed).toHaveLength(SENTRIES);
  });
});
