import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { CommanderFleetOps } from '../../commander/app/fleet-ops.js';
import { runTick } from '../../commander/app/tick.js';
import type { Report } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import {
  type TestCommander,
  enrollApproved,
  enrollRequest,
  makeCommander,
  sendReport,
  startDynalite,
} from './helpers.js';

const VALIDATOR = 'C'.repeat(40);
let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;

function report(
  name: string,
  seq: number,
  over: Partial<Report> & { height: number; peers: number },
): Report {
  const base = sampleReport({ nodeId: name, seq, sentAt: c.clock.now() });
  const { height, peers, ...rest } = over;
  const validator = (rest.role ?? 'validator') === 'validator';
  return {
    ...base,
    daemon: {
      ...base.daemon,
      height,
      peers,
      latestBlockTime: c.clock.now() - 500,
      cometNodeId: name
        .padEnd(40, '0')
        .replace(/[^0-9a-f]/g, 'e')
        .slice(0, 40),
      consensusAddress: validator && rest.custody?.holdsValidatorKey ? VALIDATOR : null,
    },
    chain: validator
      ? {
          validatorAddress: VALIDATOR,
          operatorAddress: null,
          // Two of the last eight commits lack our signature.
          recentCommits: [8, 7, 6, 5, 4, 3, 2, 1].map((d) => ({
            height: height - d,
            signed: d !== 3 && d !== 5,
            at: c.clock.now() - d * 1000,
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
        }
      : null,
    ...rest,
  };
}

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint, {
    access: { console: { users: { me: 'operator', look: 'viewer' }, chats: ['console', 'ops'] } },
  });
  const nodes = [
    { name: 'val-a', role: 'validator' as const },
    { name: 'val-b', role: 'validator' as const },
    { name: 'sentry-a', role: 'sentry' as const },
  ];
  const secrets = new Map<string, string>();
  for (const [i, n] of nodes.entries()) {
    const request = enrollRequest({ name: n.name, role: n.role, cometNodeId: String(i + 1).repeat(40) });
    secrets.set(n.name, await enrollApproved(c, request));
  }
  const custody = (holds: boolean) => ({
    mode: 'signer' as const,
    signMark: null,
    signerConnected: null,
    holdsValidatorKey: holds,
    highestEpoch: 0,
    leaseExpiresAt: null,
    fenced: false,
  });
  await sendReport(
    c,
    secrets.get('val-a')!,
    report('val-a', 1, { height: 500, peers: 3, custody: custody(true) }),
  );
  await sendReport(
    c,
    secrets.get('val-b')!,
    report('val-b', 1, { height: 498, peers: 2, custody: custody(false) }),
  );
  await sendReport(
    c,
    secrets.get('sentry-a')!,
    report('sentry-a', 1, { height: 500, peers: 17, role: 'sentry', custody: null }),
  );
  // The tick sees every node healthy (their start-up grace ends) and the validator signing.
  await runTick(c.deps);
});
afterAll(async () => {
  await db.close();
});

const say = (user: string, text: string): ChatInput => ({
  kind: 'command',
  platform: 'console',
  chat: 'console',
  user: { id: user },
  text,
});

describe('FleetOps over the commander', () => {
  it('renders status compactly: per node role, state, height, lag, peers; the signer; missed blocks', async () => {
    const chatops = createChatOps(c.deps);
    const [reply] = await chatops.handle(say('look', 'status'));
    const message = reply!.message;
    expect(message.title).toBe('Fleet beam-devnet-1 at 500');
    expect(message.fields).toContainEqual({ label: 'Missed blocks', value: '2 of the last 8' });
    expect(message.fields).toContainEqual({ label: 'Failover', value: 'confirm' });
    // Holder and epoch come from the failover module's lease.
    expect(message.fields).toContainEqual({ label: 'Signing', value: 'val-a (epoch 1)' });
    const rows = message.preformatted!.split('\n');
    expect(rows[0]).toMatch(/^NODE\s+ROLE\s+STATE\s+HEIGHT\s+LAG\s+PEERS$/);
    expect(rows.find((r) => r.startsWith('val-a *'))).toMatch(/validator\s+active\s+500\s+0\s+3$/);
    expect(rows.find((r) => r.startsWith('val-b'))).toMatch(/validator\s+standby\S*\s+498\s+2\s+2$/);
    expect(rows.find((r) => r.startsWith('sentry-a'))).toMatch(/sentry\s+\S+\s+500\s+0\s+17$/);
  });

  it('shows a node, its managed config, and answers unknown names with a hint', async () => {
    const chatops = createChatOps(c.deps);
    const [node] = await chatops.handle(say('look', 'node val-b'));
    expect(node!.message.title).toBe('Node val-b');
    expect(node!.message.fields).toContainEqual({ label: 'Height', value: '498 (lag 2)' });
    expect(node!.message.fields).toContainEqual({ label: 'Disk free', value: '50%' });
    const [config] = await chatops.handle(say('look', 'config val-a'));
    expect(config!.message.preformatted).toContain('p2p.pex = false');
    const [missing] = await chatops.handle(say('look', 'node val-z'));
    expect(missing!.message.text).toContain('no node named "val-z"');
  });

  it('reaches the governance module: proposals, policy, hold', async () => {
    const chatops = createChatOps(c.deps);
    const [proposals] = await chatops.handle(say('look', 'proposals'));
    expect(proposals!.message.title).toBe('No proposals in voting period');
    const [policy] = await chatops.handle(say('look', 'policy'));
    expect(policy!.message.title).toBe('Policy');
    expect(policy!.message.preformatted!.split('\n').length).toBeGreaterThan(1);
    const [hold] = await chatops.handle(say('me', 'hold 77'));
    expect(hold!.message.title).toMatch(/^Auto-vote hold on proposal 77: (accepted|refused)$/);
    expect(hold!.message.text).not.toContain('not available');
  });

  it('queues restart-daemon on the node for its pilot, and turns application refusals into answers', async () => {
    const fleet = new CommanderFleetOps(c.deps);
    const by = { platform: 'console' as const, userId: 'me' };
    const done = await fleet.restart({ node: 'sentry-a', by });
    expect(done.accepted).toBe(true);
    const actions = (await c.store.getNode('sentry-a'))!.value.actions;
    expect(actions.filter((a) => a.type === 'restart-daemon')).toHaveLength(1);
    expect(await fleet.restart({ node: 'nope', by })).toEqual({
      accepted: false,
      summary: 'no node named nope',
    });
    expect(await fleet.ack({ alert: 'no-such-alert', by })).toEqual({
      accepted: false,
      summary: 'no alert no-such-alert',
    });
    expect((await fleet.mute({ target: 'val-a', until: c.clock.now() + 60_000, by })).summary).toMatch(
      /^0 open alerts of val-a muted until/,
    );
    // The audit names the chat user.
    const audit = await c.store.listAudit(20);
    expect(audit.find((e) => e.action === 'restart' && e.target === 'sentry-a')).toMatchObject({
      actor: 'console:me',
      outcome: 'ok',
    });
  });

  it('offers Acknowledge / Mute buttons with an alert; a press acknowledges it and the buttons go', async () => {
    // Every node falls silent: one message says so. (sentry-a's restart, queued above and never
    // reported done, is Beam's own doing: its silence waits for the restart's result.)
    c.clock.advance(120_000);
    await runTick(c.deps);
    const posted = c.transport.posts.find((p) => p.message.text?.includes('val-b: pilot silent'));
    expect(posted, 'an alert about val-b with buttons').toBeDefined();
    expect(posted!.message.title).toBe('val-a: pilot silent (+1 more)');
    expect((await c.store.getAlert('node:sentry-a:pilot-silent'))!.value.heldBy).toMatch(/^restart-/);
    const key = posted!.message.fields!.find((f) => f.label === 'Alert')!.value;
    expect(key).toMatch(/^group:val-a:/);
    expect(posted!.message.buttons!.map((b) => b.label)).toEqual(['Acknowledge', 'Mute 1h']);
    const chatops = createChatOps(c.deps);
    const [reply] = await chatops.handle({
      kind: 'button',
      platform: 'console',
      chat: 'ops',
      user: { id: 'me' },
      buttonId: posted!.message.buttons![0]!.id,
      message: posted!.ref,
    });
    expect(reply!.message.title).toBe(`Ack ${key}: accepted`);
    expect(reply!.message.text).toBe(`2 alerts of ${key} acknowledged: no more reminders.`);
    expect((await c.store.getAlert('node:val-b:pilot-silent'))!.value.acknowledgedBy).toBe('console:me');
    // The group's message was updated in place: acknowledged, only [Mute 1h] left.
    const update = c.transport.updates.findLast((u) => u.ref.messageId === posted!.ref.messageId);
    expect(update!.message.context).toContain('acknowledged by console:me');
    expect(update!.message.buttons!.map((b) => b.label)).toEqual(['Mute 1h']);
  });
});
