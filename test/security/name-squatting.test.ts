/**
 * Finding: a pending enrollment could squat a validator's name. With the fleet token an attacker
 * enrolls `val-c` before the real node: the real pilot is turned away, an admin may approve the
 * impostor by mistake, and nothing could ever free the name (a rejected node keeps it too). Now an
 * enrollment of an existing name is refused with the way out, and an admin frees the name from
 * chat: `remove <node>` → [Confirm] → the node, its secret and its queued actions are gone, audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput, ChatReply } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import type { ChatOps } from '../../commander/chatops/chatops.js';
import { KEYS } from '../../commander/adapters/store/store.js';
import { sampleReport } from '../fixtures/report.js';
import {
  enroll,
  enrollApproved,
  enrollRequest,
  makeCommander,
  OPERATOR,
  sendReport,
  startDynalite,
  type TestCommander,
} from '../commander/helpers.js';
import { attack } from './kit.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
let chat: ChatOps;

const say = (user: string, text: string): ChatInput => ({
  kind: 'command',
  platform: 'console',
  chat: 'ops',
  user: { id: user },
  text,
});
const press = (user: string, reply: ChatReply, label: string): ChatInput => ({
  kind: 'button',
  platform: 'console',
  chat: 'ops',
  user: { id: user },
  buttonId: reply.message.buttons!.find((b) => b.label === label)!.id,
  message: { platform: 'console', chat: 'ops', messageId: '1' },
});

const real = enrollRequest({ name: 'val-c', claim: '1'.repeat(64), cometNodeId: '1'.repeat(40) });
const impostor = enrollRequest({ name: 'val-c', claim: '6'.repeat(64), cometNodeId: '6'.repeat(40) });

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint, {
    access: { console: { users: { boss: 'admin', ops: 'operator' }, chats: ['ops'] } },
  });
  chat = createChatOps(c.deps);
});
afterAll(async () => {
  await db?.close();
});

describe('validator names cannot be squatted', () => {
  it("refuses an enrollment under an approved validator's name and leaves that node as it was", async () => {
    attack('the fleet token enrolls a node named val-a, an approved validator that reports');
    const secret = await enrollApproved(c, enrollRequest());
    expect((await sendReport(c, secret, sampleReport({ seq: 1 }))).status).toBe(200);
    const before = await c.store.scanAll();
    const squat = await enroll(c, enrollRequest({ claim: '9'.repeat(64), cometNodeId: '9'.repeat(40) }));
    expect(squat).toMatchObject({ status: 409, body: { error: 'name taken' } });
    expect(squat.body.detail).toMatch(/have an admin run `remove val-a` in chat and enroll again/);
    expect(await c.store.scanAll()).toEqual(before);
    // The real val-a's own re-enrollment is refused the same way: removal comes first.
    expect(await enroll(c, enrollRequest())).toMatchObject({
      status: 409,
      body: { error: 'already enrolled', detail: expect.stringContaining('`remove val-a`') },
    });
  });

  it('turns the real node away from a squatted name with the fix, until an admin removes the impostor from chat', async () => {
    attack('the fleet token enrolls val-c (pending) before the real val-c');
    expect((await enroll(c, impostor)).body.status).toBe('pending');
    const turnedAway = await enroll(c, real);
    expect(turnedAway).toMatchObject({ status: 409, body: { error: 'name taken' } });
    expect(turnedAway.body.detail).toContain('`remove val-c`');
    // A rejected impostor still holds the name: only removal frees it.
    await c.app.rejectNode(OPERATOR, 'val-c');
    expect((await enroll(c, real)).status).toBe(409);

    // An operator may not remove; an admin must confirm.
    const [denied] = await chat.handle(say('ops', 'remove val-c'));
    expect(denied!.message.buttons).toBeUndefined();
    expect(await c.store.getNode('val-c')).not.toBeNull();
    const [question] = await chat.handle(say('boss', 'remove val-c'));
    expect(question!.message.buttons!.map((b) => b.label)).toEqual(['Confirm', 'Cancel']);
    expect(await c.store.getNode('val-c')).not.toBeNull();
    const [done] = await chat.handle(press('boss', question!, 'Confirm'));
    expect(done!.message.text ?? done!.message.title).toMatch(/val-c removed/);
    expect(await c.store.getNode('val-c')).toBeNull();
    expect(await c.store.get(KEYS.secret('val-c'))).toBeNull();
    const audit = await c.store.listAudit(10);
    expect(audit).toContainEqual(
      expect.objectContaining({ action: 'remove', target: 'val-c', outcome: 'ok', actor: 'console:boss' }),
    );

    // The real val-c enrolls, is approved, and collects its own secret; the impostor's claim is dead.
    expect(await enroll(c, real)).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect((await enroll(c, impostor)).status).toBe(409);
    await c.app.approveNode(OPERATOR, 'val-c');
    expect(await enroll(c, real)).toMatchObject({
      status: 200,
      body: { status: 'approved', nodeId: 'val-c' },
    });
  });

  it('drops the removed node’s queued actions, secret and reports', async () => {
    attack('a removed node keeps reporting with its old secret and expects its queued restart');
    const secret = await enrollApproved(
      c,
      enrollRequest({ name: 'sentry-z', role: 'sentry', claim: '7'.repeat(64), cometNodeId: '7'.repeat(40) }),
    );
    await c.app.queueRestart(OPERATOR, 'sentry-z');
    const removed = await c.app.removeNode(OPERATOR, 'sentry-z');
    expect(removed.actions.map((a) => a.type)).toEqual(['restart-daemon']);
    const report = await sendReport(c, secret, sampleReport({ nodeId: 'sentry-z', role: 'sentry', seq: 1 }));
    expect(report).toMatchObject({ status: 401, body: { error: 'unknown node' } });
    await expect(c.app.removeNode(OPERATOR, 'sentry-z')).rejects.toThrow(/no node named sentry-z/);
  });
});
