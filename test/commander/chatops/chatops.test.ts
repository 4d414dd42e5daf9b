import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConsoleTransport } from '../../../bots/console.js';
import type { ChatInput, ChatReply, MessageRef } from '../../../bots/model.js';
import type { AccessConfig } from '../../../commander/chatops/access.js';
import { ChatOps } from '../../../commander/chatops/chatops.js';
import { parseCommand } from '../../../commander/chatops/commands.js';
import {
  MemoryAuditLog,
  MemoryInteractionStore,
  MemorySubjectRefs,
} from '../../../commander/chatops/memory.js';
import { FakeFleet } from './fake-fleet.js';

const access = {
  slack: {
    users: { UADMIN: 'admin', UOPS: 'operator', UOPS2: 'operator', UVIEW: 'viewer' },
    chats: ['COPS', 'COTHER'],
  },
  telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
  console: { users: { me: 'admin' }, chats: ['console'] },
} satisfies AccessConfig;

function setup() {
  const fleet = new FakeFleet();
  const audit = new MemoryAuditLog();
  const subjects = new MemorySubjectRefs();
  let now = 1_700_000_000_000;
  let ids = 0;
  const chatops = new ChatOps({
    fleet,
    audit,
    subjects,
    interactions: new MemoryInteractionStore(),
    access,
    now: () => now,
    newId: () => `id${++ids}`,
  });
  return { fleet, audit, subjects, chatops, advance: (ms: number) => (now += ms) };
}

const command = (user: string, text: string, chat = 'COPS'): ChatInput => ({
  kind: 'command',
  platform: 'slack',
  chat,
  user: { id: user },
  text,
});
const press = (user: string, buttonId: string, message?: MessageRef): ChatInput => ({
  kind: 'button',
  platform: 'slack',
  chat: 'COPS',
  user: { id: user },
  buttonId,
  ...(message ? { message } : {}),
});
const only = (replies: ChatReply[]) => {
  expect(replies).toHaveLength(1);
  return replies[0]!;
};
const buttonsOf = (reply: ChatReply) => reply.message.buttons?.map((b) => b.id) ?? [];

describe('command parser', () => {
  it('parses every form of the language', () => {
    expect(parseCommand('vote 42 YES looks good')).toEqual({
      ok: true,
      command: { name: 'vote', proposalId: '42', option: 'yes', memo: 'looks good' },
    });
    expect(parseCommand('failover to val-2')).toEqual({
      ok: true,
      command: { name: 'failover', to: 'val-2' },
    });
    expect(parseCommand('failover')).toEqual({ ok: true, command: { name: 'failover' } });
    expect(parseCommand('mute sentry-a 15m')).toEqual({
      ok: true,
      command: { name: 'mute', target: 'sentry-a', duration: 900_000 },
    });
    expect(parseCommand('audit')).toEqual({ ok: true, command: { name: 'audit', limit: 10 } });
    expect(parseCommand('bond now')).toEqual({ ok: true, command: { name: 'bond', now: true } });
    expect(parseCommand('policy failover.mode auto')).toEqual({
      ok: true,
      command: { name: 'policy', key: 'failover.mode', value: 'auto' },
    });
  });

  it('says what was wrong and shows the usage', () => {
    const vote = parseCommand('vote 42 maybe');
    expect(vote.ok).toBe(false);
    if (vote.ok) return;
    expect(vote.error).toContain('option');
    expect(vote.error).toContain('"maybe"');
    expect(vote.usage).toBe('vote <id> <yes|no|abstain|no_with_veto> [memo…]');

    const node = parseCommand('restart Val_1');
    expect(!node.ok && node.error).toMatch(/node: use 1-63 lowercase.*\(got "Val_1"\)/);
    expect(!node.ok && node.usage).toBe('restart <node>');

    expect(parseCommand('rotate-ip')).toMatchObject({
      ok: false,
      error: 'rotate-ip: missing sentry',
      usage: 'rotate-ip <sentry>',
    });
    expect(parseCommand('mute val-1 forever')).toMatchObject({
      ok: false,
      usage: 'mute <alert|node> <duration>',
    });
    expect(parseCommand('status now')).toMatchObject({
      ok: false,
      error: 'status: pin: use `status`, `status pin` or `status unpin` (got "now")',
    });
    expect(parseCommand('status pin now')).toMatchObject({ ok: false, error: 'status: unexpected "now"' });
    expect(parseCommand('fialover')).toMatchObject({ ok: false });
    expect(!parseCommand('fialover').ok && (parseCommand('fialover') as { error: string }).error).toContain(
      'Did you mean `failover`?',
    );
  });
});

describe('ChatOps', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  it('renders fleet status compactly with the signer and missed blocks', async () => {
    const reply = only(await t.chatops.handle(command('UVIEW', 'status')));
    expect(reply.message.title).toBe('Fleet beamnet-1 at 1200');
    expect(reply.message.fields).toContainEqual({ label: 'Signing', value: 'val-1 (epoch 7)' });
    expect(reply.message.fields).toContainEqual({ label: 'Missed blocks', value: '2 of the last 100' });
    expect(reply.message.preformatted).toBe(
      [
        'NODE      ROLE       STATE    HEIGHT  LAG  PEERS',
        'val-1 *   validator  active     1200    0      2',
        'val-2     validator  standby    1199    1      2',
        'sentry-a  sentry     healthy    1200    0     14',
      ].join('\n'),
    );
    expect(t.audit.entries).toMatchObject([{ action: 'command status', allowed: true, userId: 'UVIEW' }]);
  });

  it('refuses unknown users, chats that are not allow-listed and too-low roles, with an audit entry', async () => {
    const stranger = only(await t.chatops.handle(command('USTRANGER', 'status')));
    expect(stranger.private).toBe(true);
    expect(stranger.message.text).toBe('user USTRANGER has no role on slack');
    const elsewhere = only(await t.chatops.handle(command('UADMIN', 'status', 'CRANDOM')));
    expect(elsewhere.message.text).toBe('chat CRANDOM is not allow-listed for slack');
    const viewer = only(await t.chatops.handle(command('UVIEW', 'failover')));
    expect(viewer.message.text).toBe('`failover` needs the operator role; you are viewer');
    const policy = only(await t.chatops.handle(command('UOPS', 'policy failover.mode auto')));
    expect(policy.message.text).toBe('`policy` needs the admin role; you are operator');
    expect(t.fleet.calls).toEqual([]);
    expect(t.audit.entries.map((e) => [e.userId, e.allowed, e.reason])).toEqual([
      ['USTRANGER', false, 'user USTRANGER has no role on slack'],
      ['UADMIN', false, 'chat CRANDOM is not allow-listed for slack'],
      ['UVIEW', false, '`failover` needs the operator role; you are viewer'],
      ['UOPS', false, '`policy` needs the admin role; you are operator'],
    ]);
  });

  it('answers parse errors privately with the usage, and audits them', async () => {
    const reply = only(await t.chatops.handle(command('UOPS', 'vote 42')));
    expect(reply.private).toBe(true);
    expect(reply.message.text).toBe('vote: missing vote option');
    expect(reply.message.preformatted).toBe('usage: vote <id> <yes|no|abstain|no_with_veto> [memo…]');
    expect(t.audit.entries).toMatchObject([{ action: 'command vote 42', allowed: false }]);
  });

  it.each([
    ['failover to val-2', 'requestFailover', { to: 'val-2', by: 'UOPS' }],
    ['rotate-ip sentry-a', 'rotateIp', { sentry: 'sentry-a', by: 'UOPS' }],
    ['replace sentry-a', 'replaceSentry', { sentry: 'sentry-a', by: 'UOPS' }],
    ['restart val-2', 'restart', { node: 'val-2', by: 'UOPS' }],
    ['switchover', 'switchover', { by: 'UOPS' }],
    ['bond now', 'bond', { by: 'UOPS' }],
  ])('asks for confirmation before `%s`, then acts once', async (text, method, args) => {
    const ask = only(await t.chatops.handle(command('UOPS', text)));
    expect(ask.message.title).toBe(`Confirm: ${text}`);
    expect(buttonsOf(ask)).toEqual(['id1:ok', 'id1:no']);
    expect(t.fleet.calls).toEqual([]);
    const ref: MessageRef = { platform: 'slack', chat: 'COPS', messageId: '111.1' };
    await ask.onPosted?.(ref);

    const confirmed = only(await t.chatops.handle(press('UOPS', 'id1:ok', ref)));
    expect(confirmed.replace).toEqual(ref);
    expect(confirmed.message.title).toMatch(/accepted$/);
    expect(confirmed.message.context).toContain('operation op-1');
    expect(t.fleet.calls).toEqual([{ method, args }]);
    // The operation's later progress updates the same message.
    expect(await t.subjects.get('operation:op-1', 'slack', 'COPS')).toEqual(ref);

    const again = only(await t.chatops.handle(press('UOPS', 'id1:ok', ref)));
    expect(again.message.text).toBe('this button has expired or was already used');
    expect(t.fleet.calls).toHaveLength(1);
  });

  it('acts once when the same button is pressed twice at the same moment', async () => {
    await t.chatops.handle(command('UOPS', 'failover'));
    const results = await Promise.all([
      t.chatops.handle(press('UOPS', 'id1:ok')),
      t.chatops.handle(press('UADMIN', 'id1:ok')),
    ]);
    expect(t.fleet.calls).toHaveLength(1);
    expect(results.flat().filter((r) => r.message.title === 'Not allowed')).toHaveLength(1);
  });

  it('lets only the requester or an admin confirm, and expires confirmations', async () => {
    await t.chatops.handle(command('UOPS', 'rotate-ip sentry-a'));
    const other = only(await t.chatops.handle(press('UOPS2', 'id1:ok')));
    expect(other.message.text).toBe('only UOPS or an admin can answer this');
    const elsewhere = only(await t.chatops.handle({ ...press('UOPS', 'id1:ok'), chat: 'COTHER' }));
    expect(elsewhere.message.text).toBe('this button belongs to chat COPS');
    const admin = only(await t.chatops.handle(press('UADMIN', 'id1:ok')));
    expect(admin.message.title).toBe('IP rotation of sentry-a: accepted');
    expect(t.fleet.calls).toEqual([{ method: 'rotateIp', args: { sentry: 'sentry-a', by: 'UADMIN' } }]);

    await t.chatops.handle(command('UOPS', 'replace sentry-a'));
    t.advance(5 * 60_000 + 1);
    const late = only(await t.chatops.handle(press('UOPS', 'id2:ok')));
    expect(late.message.text).toBe('this button has expired or was already used');
    expect(t.fleet.calls).toHaveLength(1);
    expect(t.audit.entries.filter((e) => !e.allowed).map((e) => [e.userId, e.action])).toEqual([
      ['UOPS2', 'button id1:ok'],
      ['UOPS', 'button id1:ok'],
      ['UOPS', 'button id2:ok'],
    ]);
  });

  it('cancels, and a cancelled confirmation cannot be confirmed', async () => {
    await t.chatops.handle(command('UOPS', 'switchover'));
    const ref: MessageRef = { platform: 'slack', chat: 'COPS', messageId: '5.5' };
    const cancelled = only(await t.chatops.handle(press('UOPS', 'id1:no', ref)));
    expect(cancelled).toMatchObject({
      replace: ref,
      message: { title: 'Cancelled', text: 'Cancelled by UOPS.' },
    });
    const confirm = only(await t.chatops.handle(press('UOPS', 'id1:ok', ref)));
    expect(confirm.message.title).toBe('Not allowed');
    expect(t.fleet.calls).toEqual([]);
  });

  it('offers vote buttons per proposal, updates the proposal message in place when listed again', async () => {
    const first = only(await t.chatops.handle(command('UVIEW', 'proposals')));
    expect(first.message.title).toBe('Proposal 42: Raise the <block> size & more');
    expect(buttonsOf(first)).toEqual(['id1:y', 'id1:n', 'id1:a', 'id1:v']);
    const ref: MessageRef = { platform: 'slack', chat: 'COPS', messageId: '9.9' };
    await first.onPosted?.(ref);
    const second = only(await t.chatops.handle(command('UVIEW', 'proposals')));
    expect(second.replace).toEqual(ref);

    const viewerVote = only(await t.chatops.handle(press('UVIEW', 'id2:y')));
    expect(viewerVote.message.text).toBe('`vote` needs the operator role; you are viewer');
    await t.chatops.handle(press('UOPS', 'id2:n'));
    await t.chatops.handle(press('UOPS', 'id2:y'));
    expect(t.fleet.calls.map((c) => c.args)).toEqual([
      { proposalId: '42', option: 'no', by: 'UOPS' },
      { proposalId: '42', option: 'yes', by: 'UOPS' },
    ]);
  });

  it('runs the read-only and operator commands', async () => {
    const texts = async (user: string, text: string) =>
      only(await t.chatops.handle(command(user, text))).message;
    expect((await texts('UVIEW', 'node val-2')).fields).toContainEqual({
      label: 'Public IP',
      value: '198.51.100.7',
    });
    expect((await texts('UVIEW', 'node val-9')).text).toBe('no node named "val-9"; `nodes` lists them');
    expect((await texts('UVIEW', 'config val-1')).preformatted).toBe(
      'p2p.persistent_peers = abc@198.51.100.7:26656\np2p.pex = false',
    );
    expect((await texts('UVIEW', 'bond')).fields).toContainEqual({
      label: 'Would delegate',
      value: '4900000uatom',
    });
    expect((await texts('UVIEW', 'policy')).preformatted).toContain('failover.mode  confirm');
    expect((await texts('UOPS', 'vote 42 abstain fine by us')).title).toBe(
      'Vote abstain on proposal 42: accepted',
    );
    await texts('UOPS', 'mute sentry-a 2h');
    await texts('UOPS', 'ack missed-blocks:val-1');
    expect(t.fleet.calls.slice(1)).toEqual([
      { method: 'mute', args: { target: 'sentry-a', until: 1_700_000_000_000 + 7_200_000, by: 'UOPS' } },
      { method: 'ack', args: { alert: 'missed-blocks:val-1', by: 'UOPS' } },
    ]);
    expect((await texts('UVIEW', 'help restart')).preformatted).toBe('restart <node>');
    expect((await texts('UVIEW', 'help')).preformatted).toContain('failover [to <node>]');
    const audit = await texts('UOPS', 'audit 3');
    expect(audit.preformatted?.split('\n')).toHaveLength(4);
    expect(audit.preformatted).toContain('slack:UVIEW  command help');
  });
});

describe('command parser on arbitrary input', () => {
  it('never throws, and every refusal says what was wrong', () => {
    const words = fc.constantFrom(
      'status',
      'vote',
      'failover',
      'to',
      'mute',
      'policy',
      'bond',
      'now',
      '42',
      'yes',
      '15m',
      'val-1',
    );
    const line = fc.oneof(
      fc.string(),
      fc.array(fc.oneof(words, fc.string()), { maxLength: 6 }).map((w) => w.join(' ')),
    );
    fc.assert(
      fc.property(line, (text) => {
        const result = parseCommand(text);
        if (!result.ok) expect(result.error.length).toBeGreaterThan(10);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ChatOps.publish', () => {
  it('posts the first message about a subject and updates it in place afterwards', async () => {
    const { chatops } = setup();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
    });
    const transport = new ConsoleTransport(output);
    const first = await chatops.publish(transport, 'console', 'operation:op-9', {
      title: 'Failover: demoting val-1',
    });
    const second = await chatops.publish(transport, 'console', 'operation:op-9', {
      title: 'Failover: val-2 signing',
    });
    await chatops.publish(transport, 'console', 'alert:disk', { title: 'Disk low on sentry-a' });
    expect(second).toEqual(first);
    expect(printed).toBe(
      '[1] Failover: demoting val-1\nupdated: [1] Failover: val-2 signing\n[2] Disk low on sentry-a\n',
    );
  });
});
