/**
 * Finding: the fleet enrollment token sits on every internet-facing sentry, and a copy lost with one
 * stayed good for ever: nothing could retire it short of a redeploy. Now an admin runs `token rotate`
 * in chat: a new token, shown once and only to them, replaces it at once (the commander keeps its
 * hash alone), and the old one is refused from then on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput, ChatReply, Platform } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import type { ChatOps } from '../../commander/chatops/chatops.js';
import {
  TOKEN,
  enroll,
  enrollRequest,
  makeCommander,
  startDynalite,
  type TestCommander,
} from '../commander/helpers.js';
import { attack } from './kit.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
let chat: ChatOps;

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint, {
    access: {
      console: { users: { boss: 'admin', ops: 'operator' }, chats: ['console'] },
      telegram: { users: { '4242': 'admin' }, chats: ['-1001', '4242'] },
    },
  });
  chat = createChatOps(c.deps);
});
afterAll(async () => {
  await db?.close();
});

const say = (platform: Platform, chatId: string, user: string, text: string): ChatInput => ({
  kind: 'command',
  platform,
  chat: chatId,
  user: { id: user },
  text,
});

const tokenIn = (replies: ChatReply[]) => replies[0]?.message.preformatted ?? '';

describe('a fleet enrollment token after `token rotate`', () => {
  it('is replaced at once: the old token is refused, the new one shown once and privately enrolls', async () => {
    expect((await enroll(c, enrollRequest({ name: 'val-1' }))).status).toBe(202);

    const replies = await chat.handle(say('console', 'console', 'boss', 'token rotate'));
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ private: true, message: { title: 'New fleet enrollment token' } });
    const fresh = tokenIn(replies);
    expect(fresh).toMatch(/^[0-9a-f]{64}$/);

    attack('a copy of the old fleet token, lost with a sentry, is replayed after the rotation');
    const replayed = await enroll(c, enrollRequest({ name: 'evil-1', claim: '6'.repeat(64) }));
    expect(replayed).toMatchObject({ status: 401, body: { error: 'wrong enrollment token' } });
    expect(await c.store.getNode('evil-1')).toBeNull();
    // The pending node polling with the old token is turned away too; with the new one it goes on.
    expect((await enroll(c, enrollRequest({ name: 'val-1' }))).status).toBe(401);
    expect((await enroll(c, enrollRequest({ name: 'val-1', enrollmentToken: fresh }))).body).toMatchObject({
      status: 'pending',
      nodeId: 'val-1',
    });

    // Stored as a hash only; never in the table, the chat audit or the audit log.
    const table = JSON.stringify(await c.store.scanAll());
    expect(table).not.toContain(fresh);
    expect(table).toContain('token-rotate');

    attack('the replaced token is rotated again: the one shown before is now refused as well');
    const next = tokenIn(await chat.handle(say('console', 'console', 'boss', 'token rotate')));
    expect(next).not.toBe(fresh);
    expect((await enroll(c, enrollRequest({ name: 'val-2', enrollmentToken: fresh }))).status).toBe(401);
    expect((await enroll(c, enrollRequest({ name: 'val-2', enrollmentToken: next }))).status).toBe(202);
    expect((await enroll(c, enrollRequest({ name: 'val-3', enrollmentToken: TOKEN }))).status).toBe(401);
  });

  it('is rotated only by an admin, and never shown where others would read it', async () => {
    const before = JSON.stringify(await c.store.getEnrollmentToken());
    attack('an operator asks for a new token');
    const [denied] = await chat.handle(say('console', 'console', 'ops', 'token rotate'));
    expect(denied!.message.text).toMatch(/`token` needs the admin role; you are operator/);
    attack('an admin runs `token rotate` in a Telegram group, where a private reply is an ordinary message');
    const [group] = await chat.handle(say('telegram', '-1001', '4242', 'token rotate'));
    expect(group).toMatchObject({ private: true, message: { title: 'Not allowed' } });
    expect(group!.message.text).toMatch(/run `token rotate` in a private chat with the bot/);
    expect(JSON.stringify(await c.store.getEnrollmentToken())).toBe(before);
    // In the admin's private chat with the bot it works.
    const [direct] = await chat.handle(say('telegram', '4242', '4242', 'token rotate'));
    expect(direct!.message.preformatted).toMatch(/^[0-9a-f]{64}$/);
  });
});
