import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput } from '../../bots/model.js';
import {
  StoreChatAudit,
  StoreInteractions,
  StoreSubjectRefs,
} from '../../commander/adapters/store/chatops.js';
import { ChatOps } from '../../commander/chatops/chatops.js';
import { parseCommand } from '../../commander/chatops/commands.js';
import { Notifier } from '../../commander/notify/notifier.js';
import { FakeFleet } from './chatops/fake-fleet.js';
import { RecordingTransport, makeCommander, startDynalite } from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.close();
});

const press = (platform: 'slack' | 'telegram', chat: string, user: string, buttonId: string): ChatInput => ({
  kind: 'button',
  platform,
  chat,
  user: { id: user },
  buttonId,
  message: { platform, chat, messageId: '1' },
});

describe('ChatAction buttons from the notifier', () => {
  it('mints one act-once interaction per destination chat; a press runs the command once, as the presser', async () => {
    const c = await makeCommander(db.endpoint);
    const slack = new RecordingTransport('slack');
    const telegram = new RecordingTransport('telegram');
    const notifier = new Notifier(
      c.store,
      { slack, telegram },
      [
        { platform: 'slack', chat: 'COPS', minSeverity: 'info' },
        { platform: 'telegram', chat: '-500', minSeverity: 'info' },
      ],
      { warn() {} },
      { now: c.clock.now, actionTtlMs: 3_600_000 },
    );
    await notifier.post('operation:fo-1', { title: 'Failover?', severity: 'critical' }, [
      { label: 'Fail over', command: 'confirm-failover fo-1', style: 'danger' },
      { label: 'Leave it', command: 'decline-failover fo-1' },
    ]);
    const slackButtons = slack.posts[0]!.message.buttons!;
    const telegramButtons = telegram.posts[0]!.message.buttons!;
    expect(slackButtons.map((b) => [b.label, b.style])).toEqual([
      ['Fail over', 'danger'],
      ['Leave it', undefined],
    ]);
    // One interaction per chat: the two platforms' buttons differ, and each id fits callback_data.
    const slackId = slackButtons[0]!.id.split(':')[0]!;
    expect(telegramButtons[0]!.id.split(':')[0]).not.toBe(slackId);
    for (const b of [...slackButtons, ...telegramButtons])
      expect(Buffer.byteLength(b.id)).toBeLessThanOrEqual(64);
    const stored = await new StoreInteractions(c.store).load(slackId, c.clock.now());
    expect(stored).toMatchObject({
      actOnce: true,
      chat: 'COPS',
      choices: { '0': 'confirm-failover fo-1', '1': 'decline-failover fo-1' },
      expiresAt: c.clock.now() + 3_600_000,
    });

    const fleet = new FakeFleet();
    const chatops = new ChatOps({
      fleet,
      interactions: new StoreInteractions(c.store),
      audit: new StoreChatAudit(c.store),
      subjects: new StoreSubjectRefs(c.store),
      now: c.clock.now,
      access: {
        slack: { users: { UOPS: 'operator', UVIEW: 'viewer' }, chats: ['COPS'] },
        telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
      },
    });
    // A viewer may not answer; the button stays usable.
    const viewer = await chatops.handle(press('slack', 'COPS', 'UVIEW', slackButtons[0]!.id));
    expect(viewer[0]!.message.text).toContain('needs the operator role');
    // The operator's press runs the command and replaces the question; a second press acts no more.
    const first = await chatops.handle(press('slack', 'COPS', 'UOPS', slackButtons[0]!.id));
    expect(first[0]!.replace).toEqual({ platform: 'slack', chat: 'COPS', messageId: '1' });
    expect(first[0]!.message.title).toBe('Failover confirmed (fo-1): accepted');
    const second = await chatops.handle(press('slack', 'COPS', 'UOPS', slackButtons[1]!.id));
    expect(second[0]!.message.text).toBe('this button has expired or was already used');
    expect(fleet.calls).toEqual([
      { method: 'answerFailover', args: { opId: 'fo-1', confirm: true, by: 'UOPS' } },
    ]);
    // A Slack button cannot be replayed in the Telegram chat, and vice versa.
    const crossed = await chatops.handle(press('telegram', '-500', '1001', slackButtons[1]!.id));
    expect(crossed[0]!.message.title).toBe('Not allowed');
    // Telegram's own buttons still work, until they expire.
    c.clock.advance(3_600_001);
    const late = await chatops.handle(press('telegram', '-500', '1001', telegramButtons[1]!.id));
    expect(late[0]!.message.text).toBe('this button has expired or was already used');
    expect(fleet.calls).toHaveLength(1);

    // An update without actions drops the buttons; one with actions mints fresh ones.
    await notifier.update('operation:fo-1', { title: 'Failover done', severity: 'info' });
    expect(slack.updates.at(-1)!.message.buttons).toBeUndefined();
    await notifier.update('operation:fo-1', { title: 'Again?', severity: 'info' }, [
      { label: 'Hold', command: 'hold 7' },
    ]);
    expect(slack.updates.at(-1)!.message.buttons).toHaveLength(1);
    expect(slack.updates.at(-1)!.message.buttons![0]!.id.split(':')[0]).not.toBe(slackId);
  });
});

describe('failover and governance commands', () => {
  it('parses confirm-failover, decline-failover and hold, and names the bad field', () => {
    expect(parseCommand('confirm-failover fo-12')).toEqual({
      ok: true,
      command: { name: 'confirm-failover', opId: 'fo-12' },
    });
    expect(parseCommand('decline-failover fo-12')).toEqual({
      ok: true,
      command: { name: 'decline-failover', opId: 'fo-12' },
    });
    expect(parseCommand('hold 42')).toEqual({ ok: true, command: { name: 'hold', proposalId: '42' } });
    expect(parseCommand('hold forty')).toMatchObject({ ok: false, usage: 'hold <proposal>' });
    expect(parseCommand('confirm-failover')).toMatchObject({
      ok: false,
      error: 'confirm-failover: missing opId',
    });
  });

  it('runs them for operators without a confirmation step, and refuses viewers', async () => {
    const fleet = new FakeFleet();
    const c = await makeCommander(db.endpoint);
    const audit = new StoreChatAudit(c.store);
    const chatops = new ChatOps({
      fleet,
      interactions: new StoreInteractions(c.store),
      audit,
      subjects: new StoreSubjectRefs(c.store),
      now: c.clock.now,
      access: { slack: { users: { UOPS: 'operator', UVIEW: 'viewer' }, chats: ['COPS'] } },
    });
    const say = (user: string, text: string) =>
      chatops.handle({ kind: 'command', platform: 'slack', chat: 'COPS', user: { id: user }, text });
    expect((await say('UOPS', 'decline-failover fo-3'))[0]!.message.title).toBe(
      'Failover declined (fo-3): accepted',
    );
    expect((await say('UOPS', 'hold 9'))[0]!.message.title).toBe('Auto-vote hold on proposal 9: accepted');
    expect((await say('UVIEW', 'hold 9'))[0]!.message.text).toContain('needs the operator role');
    expect(fleet.calls).toEqual([
      { method: 'answerFailover', args: { opId: 'fo-3', confirm: false, by: 'UOPS' } },
      { method: 'holdAutoVote', args: { proposalId: '9', by: 'UOPS' } },
    ]);
    expect((await say('UOPS', 'help hold'))[0]!.message.text).toContain('auto-vote');
    expect((await audit.list(10)).map((e) => [e.action, e.allowed])).toContainEqual([
      'command hold 9',
      false,
    ]);
  });
});
