/** Buttons the commander offers with its messages (an alert's [Unjail]) and the commands behind them. */
import { describe, expect, it } from 'vitest';
import type { ChatInput, MessageRef } from '../../../bots/model.js';
import { ChatOps } from '../../../commander/chatops/chatops.js';
import { formatCommand, parseCommand } from '../../../commander/chatops/commands.js';
import {
  MemoryAuditLog,
  MemoryInteractionStore,
  MemorySubjectRefs,
} from '../../../commander/chatops/memory.js';
import { FakeFleet } from './fake-fleet.js';

const VALIDATOR = 'A'.repeat(40);
const NOW = 1_700_000_000_000;

function setup() {
  const fleet = new FakeFleet();
  const interactions = new MemoryInteractionStore();
  let ids = 0;
  const chatops = new ChatOps({
    fleet,
    interactions,
    audit: new MemoryAuditLog(),
    subjects: new MemorySubjectRefs(),
    access: {
      slack: { users: { UOPS: 'operator', UOPS2: 'operator', UVIEW: 'viewer' }, chats: ['COPS'] },
    },
    now: () => NOW,
    newId: () => `id${++ids}`,
  });
  return { fleet, interactions, chatops };
}

/** An alert's buttons as the notifier stores them: act-once, for the chat, owned by nobody. */
async function offerAlertButtons(interactions: MemoryInteractionStore) {
  await interactions.save({
    id: 'alert1',
    choices: { '0': 'ack group:val-a:1', '1': 'mute group:val-a:1 1h', '2': `unjail ${VALIDATOR}` },
    actOnce: true,
    chat: 'COPS',
    createdAt: NOW,
    expiresAt: NOW + 86_400_000,
  });
}

const press = (user: string, buttonId: string, message?: MessageRef): ChatInput => ({
  kind: 'button',
  platform: 'slack',
  chat: 'COPS',
  user: { id: user },
  buttonId,
  ...(message ? { message } : {}),
});
const say = (user: string, text: string): ChatInput => ({
  kind: 'command',
  platform: 'slack',
  chat: 'COPS',
  user: { id: user },
  text,
});

describe('a dangerous command behind an offered button', () => {
  it('asks the presser for a confirmation first; only that confirmation acts, once', async () => {
    const { fleet, interactions, chatops } = setup();
    await offerAlertButtons(interactions);
    const alertMessage: MessageRef = { platform: 'slack', chat: 'COPS', messageId: '10.1' };

    const [viewer] = await chatops.handle(press('UVIEW', 'alert1:2', alertMessage));
    expect(viewer!.message.text).toBe('`unjail` needs the operator role; you are viewer');

    const [question] = await chatops.handle(press('UOPS', 'alert1:2', alertMessage));
    expect(question!.message.title).toBe(`Confirm: unjail ${VALIDATOR}`);
    // A question of its own: the alert keeps its message and its buttons.
    expect(question!.replace).toBeUndefined();
    expect(question!.message.buttons!.map((b) => b.id)).toEqual(['id1:ok', 'id1:no']);
    expect(await interactions.load('alert1', NOW)).toBeDefined();
    expect(fleet.calls).toEqual([]);

    const [other] = await chatops.handle(press('UOPS2', 'id1:ok'));
    expect(other!.message.text).toBe('only UOPS or an admin can answer this');
    const questionRef: MessageRef = { platform: 'slack', chat: 'COPS', messageId: '10.2' };
    const [done] = await chatops.handle(press('UOPS', 'id1:ok', questionRef));
    expect(done).toMatchObject({
      replace: questionRef,
      message: { title: `Unjail of ${VALIDATOR}: accepted` },
    });
    const [again] = await chatops.handle(press('UOPS', 'id1:ok', questionRef));
    expect(again!.message.text).toBe('this button has expired or was already used');
    expect(fleet.calls).toEqual([{ method: 'unjail', args: { target: VALIDATOR, by: 'UOPS' } }]);

    // Asked again from the same alert: a new question.
    const [second] = await chatops.handle(press('UOPS', 'alert1:2', alertMessage));
    expect(second!.message.buttons!.map((b) => b.id)).toEqual(['id2:ok', 'id2:no']);
  });

  it('runs the safe buttons of the same message at once, as before', async () => {
    const { fleet, interactions, chatops } = setup();
    await offerAlertButtons(interactions);
    const [ack] = await chatops.handle(press('UOPS', 'alert1:0'));
    expect(ack!.message.title).toBe('Ack group:val-a:1: accepted');
    expect(fleet.calls).toEqual([{ method: 'ack', args: { alert: 'group:val-a:1', by: 'UOPS' } }]);
  });
});

describe('typed', () => {
  it('`unjail` and a maintenance window ask for a confirmation; ending one acts at once', async () => {
    const { fleet, chatops } = setup();
    const [unjail] = await chatops.handle(say('UOPS', 'unjail val-a'));
    expect(unjail!.message.title).toBe('Confirm: unjail val-a');
    const [question] = await chatops.handle(say('UOPS', 'maintenance val-b 90m new disk'));
    expect(question!.message.title).toBe('Confirm: maintenance val-b 90m new disk');
    expect(fleet.calls).toEqual([]);
    const [started] = await chatops.handle(press('UOPS', 'id2:ok'));
    expect(started!.message.title).toBe('Maintenance of val-b: accepted');
    const [ended] = await chatops.handle(say('UOPS', 'maintenance val-b off'));
    expect(ended!.message.title).toBe('End of maintenance of val-b: accepted');
    expect(fleet.calls).toEqual([
      {
        method: 'maintenance',
        args: { node: 'val-b', durationMs: 5_400_000, reason: 'new disk', by: 'UOPS' },
      },
      { method: 'maintenance', args: { node: 'val-b', durationMs: null, by: 'UOPS' } },
    ]);
  });

  it('writes the command line back as it parses (behind buttons and confirmations)', () => {
    for (const line of [
      'unjail val-a',
      'maintenance val-b 90m new disk',
      'maintenance val-b off',
      'maintenance val-b 2h',
    ]) {
      const parsed = parseCommand(line);
      expect(parsed.ok && formatCommand(parsed.command)).toBe(line);
    }
  });

  it('lists both in help', async () => {
    const { chatops } = setup();
    const [help] = await chatops.handle(say('UVIEW', 'help'));
    expect(help!.message.preformatted).toMatch(
      /^maintenance <node> <duration\|off> \[reason…\]\s+maintenance for/m,
    );
    expect(help!.message.preformatted).toMatch(/^unjail <validator\|node>\s+unjail a jailed validator/m);
  });
});
