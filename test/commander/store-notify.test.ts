import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatTransport, MessageRef } from '../../bots/model.js';
import { KEYS, VersionConflict } from '../../commander/adapters/store/store.js';
import { Notifier } from '../../commander/notify/notifier.js';
import { RecordingTransport, makeCommander, startDynalite } from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

describe('store', () => {
  it('treats expired items as absent, and lets a create replace them', async () => {
    const c = await makeCommander(db.endpoint);
    const key = KEYS.interaction('btn-1');
    await c.store.put(key, 'interaction', { what: 'approve val-a' }, null, c.clock.now() + 60_000);
    expect((await c.store.get(key))?.value).toEqual({ what: 'approve val-a' });
    await expect(c.store.put(key, 'interaction', { what: 'other' }, null)).rejects.toBeInstanceOf(
      VersionConflict,
    );
    c.clock.advance(61_000);
    expect(await c.store.get(key)).toBeNull();
    expect(await c.store.getMany([key, KEYS.tick()])).toEqual([null, null]);
    expect(await c.store.query('INTERACTION')).toEqual([]);
    expect(await c.store.put(key, 'interaction', { what: 'fresh' }, null)).toBe(1);
  });

  it('rejects a write against a stale version', async () => {
    const c = await makeCommander(db.endpoint);
    const key = KEYS.operation('op-1');
    const v1 = await c.store.put(key, 'operation', { step: 1 }, null);
    await c.store.put(key, 'operation', { step: 2 }, v1);
    await expect(c.store.put(key, 'operation', { step: 3 }, v1)).rejects.toBeInstanceOf(VersionConflict);
    expect(await c.store.get(key)).toEqual({ value: { step: 2 }, version: 2 });
  });
});

class FailingTransport implements ChatTransport {
  readonly platform = 'telegram' as const;
  async post(): Promise<MessageRef> {
    throw new Error('telegram down');
  }
  async update(): Promise<void> {
    throw new Error('telegram down');
  }
}

describe('notifier', () => {
  it('routes by severity per destination, updates in place by subject, and survives a failing transport', async () => {
    const c = await makeCommander(db.endpoint);
    const slack = new RecordingTransport('slack');
    const warnings: string[] = [];
    const notifier = new Notifier(
      c.store,
      { slack, telegram: new FailingTransport() },
      [
        { platform: 'slack', chat: 'C-all', minSeverity: 'info' },
        { platform: 'slack', chat: 'C-pager', minSeverity: 'critical' },
        { platform: 'telegram', chat: '42', minSeverity: 'info' },
      ],
      { warn: (_o, msg) => warnings.push(msg) },
    );
    const msg = (severity: ChatMessage['severity']): ChatMessage => ({ title: 't', severity });

    await notifier.post('alert:a', msg('warning'));
    expect(slack.posts.map((p) => p.ref.chat)).toEqual(['C-all']);
    expect(warnings).toEqual(['chat delivery failed']);

    await notifier.post('alert:b', msg('critical'));
    expect(slack.posts.map((p) => p.ref.chat)).toEqual(['C-all', 'C-all', 'C-pager']);

    // Resolved ('ok') goes only where the subject was posted, as an update of that message.
    await notifier.update('alert:b', msg('ok'));
    expect(slack.updates.map((u) => u.ref)).toEqual([slack.posts[1]!.ref, slack.posts[2]!.ref]);
    expect(slack.posts).toHaveLength(3);

    // An update of a subject never posted posts where routed, and remembers it.
    await notifier.update('alert:c', msg('info'));
    expect(slack.posts).toHaveLength(4);
    expect((await c.store.getMessageRefs('alert:c'))?.value.refs).toEqual([slack.posts[3]!.ref]);
  });
});
