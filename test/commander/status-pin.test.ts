/** `status pin`: one status message, edited in place as the fleet changes, instead of new ones. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput } from '../../bots/model.js';
import type { Report } from '../../protocol/index.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
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

describe('the pinned status', () => {
  it('is edited in place: at once when something changes, for height alone once a minute, until unpinned', async () => {
    const c = await makeCommander(db.endpoint, {
      access: { console: { users: { op: 'operator' }, chats: ['ops'] } },
    });
    const chatops = createChatOps(c.deps);
    const say = async (text: string) => {
      const input: ChatInput = {
        kind: 'command',
        platform: 'console',
        chat: 'ops',
        user: { id: 'op' },
        text,
      };
      // Delivered as the console does: a new message, then its ref to whoever asked for it.
      for (const reply of await chatops.handle(input)) {
        const ref = await c.transport.post('ops', reply.message);
        await reply.onPosted?.(ref);
      }
      return c.transport.posts.at(-1)!;
    };
    const secrets = new Map<string, string>();
    for (const [name, claim] of [
      ['val-a', 'a'],
      ['val-b', 'b'],
    ] as const)
      secrets.set(name, await enrollApproved(c, enrollRequest({ name, claim: claim.repeat(64) })));
    let height = 100;
    const seq = new Map<string, number>();
    const report = (name: string): Report => {
      seq.set(name, (seq.get(name) ?? 0) + 1);
      const base = sampleReport({ nodeId: name, seq: seq.get(name)!, sentAt: c.clock.now() });
      return { ...base, daemon: { ...base.daemon, height, latestBlockTime: c.clock.now() - 500 } };
    };
    const reportAll = async (...names: string[]) => {
      for (const name of names) await sendReport(c, secrets.get(name)!, report(name));
    };
    await reportAll('val-a', 'val-b');
    await runTick(c.deps);

    const pinned = await say('status pin');
    expect(pinned.message).toMatchObject({ title: 'Fleet beam-devnet-1 at 100' });
    expect(pinned.message.context).toContain('pinned by console:op');
    const edits = () => c.transport.updates.filter((u) => u.ref.messageId === pinned.ref.messageId);
    const posts = c.transport.posts.length;

    // Height alone: no edit for a minute, then one.
    for (let i = 0; i < 5; i++) {
      c.clock.advance(5_000);
      height++;
      await reportAll('val-a', 'val-b');
      await runTick(c.deps);
    }
    expect(edits()).toEqual([]);
    c.clock.advance(40_000);
    height++;
    await reportAll('val-a', 'val-b');
    await runTick(c.deps);
    expect(edits().map((e) => e.message.title)).toEqual(['Fleet beam-devnet-1 at 106']);

    // val-b falls silent: edited at once, saying how old what it shows of val-b is.
    c.clock.advance(20_000);
    await reportAll('val-a');
    await runTick(c.deps);
    expect(edits()).toHaveLength(2);
    expect(edits().at(-1)!.message.preformatted).toMatch(/val-b\s+validator\s+\S+ \(seen 20 s ago\)/);
    // Its alert is a message of its own; the status itself posted nothing new.
    expect(c.transport.posts.slice(posts).map((p) => p.message.title)).toEqual(['val-b: pilot silent']);

    // Unpinned: said once more, then left alone.
    const answer = await say('status unpin');
    expect(answer.message.title).toBe('Status unpin: accepted');
    expect(edits().at(-1)!.message.context).toContain('unpinned by console:op');
    const count = edits().length;
    c.clock.advance(120_000);
    await reportAll('val-a', 'val-b');
    await runTick(c.deps);
    expect(edits()).toHaveLength(count);
  });
});
