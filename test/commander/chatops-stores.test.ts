import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StoreChatAudit,
  StoreInteractions,
  StoreSubjectRefs,
} from '../../commander/adapters/store/chatops.js';
import type { StoredInteraction } from '../../commander/chatops/ports.js';
import { makeCommander, startDynalite } from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

describe('chatops ports on the table', () => {
  it('lets exactly one of many concurrent presses consume an interaction, and expires it', async () => {
    const c = await makeCommander(db.endpoint);
    const interactions = new StoreInteractions(c.store);
    const now = c.clock.now();
    const interaction: StoredInteraction = {
      id: 'i1',
      choices: { ok: 'failover to val-b', no: '' },
      actOnce: true,
      chat: 'C1',
      createdAt: now,
      expiresAt: now + 60_000,
    };
    await interactions.save(interaction);
    await interactions.save({ ...interaction, id: 'i2' });
    expect(await interactions.load('i1', now)).toEqual(interaction);
    const presses = await Promise.all(Array.from({ length: 8 }, () => interactions.consume('i1', now)));
    expect(presses.filter((p) => p !== undefined)).toHaveLength(1);
    expect(await interactions.load('i1', now)).toBeUndefined();
    expect(await interactions.load('i2', now + 60_000)).toBeUndefined();
    expect(await interactions.consume('i2', now + 60_000)).toBeUndefined();
    expect(await interactions.load('missing', now)).toBeUndefined();
  });

  it('keeps message refs per subject and destination, and the chat audit newest first', async () => {
    const c = await makeCommander(db.endpoint);
    const refs = new StoreSubjectRefs(c.store);
    await refs.set('operation:1', { platform: 'slack', chat: 'C1', messageId: '1.0' });
    await refs.set('operation:1', { platform: 'telegram', chat: '42', messageId: '7' });
    await refs.set('operation:1', { platform: 'slack', chat: 'C1', messageId: '2.0' });
    expect(await refs.get('operation:1', 'slack', 'C1')).toEqual({
      platform: 'slack',
      chat: 'C1',
      messageId: '2.0',
    });
    expect(await refs.get('operation:1', 'telegram', '42')).toMatchObject({ messageId: '7' });
    expect(await refs.get('operation:2', 'slack', 'C1')).toBeUndefined();

    const audit = new StoreChatAudit(c.store);
    for (const [i, action] of ['command status', 'command restart val-a'].entries()) {
      await audit.record({
        at: c.clock.now() + i,
        platform: 'slack',
        chat: 'C1',
        userId: 'U1',
        action,
        allowed: i === 0,
      });
    }
    expect((await audit.list(10)).map((e) => e.action)).toEqual(['command restart val-a', 'command status']);
    expect(await audit.list(1)).toHaveLength(1);
  });
});
