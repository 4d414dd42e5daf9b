/**
 * `upgrade pilots <version>` on the local stack's five real pilot processes: a release built by
 * `npm run release` rolls out one node at a time (sentries, the standby, the signer last), each
 * pilot restarting into the installed bundle; then a broken release stops at its first node, which
 * is rolled back while the rest of the fleet is left alone. One chat message per roll-out.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatInput, ChatReply, MessageRef } from '../../bots/model.js';
import { loadUpgrade } from '../../commander/app/upgrade-ops.js';
import type { PilotUpgrade } from '../../commander/upgrade/rollout.js';
import { type Stack, startStack } from '../../local/stack.js';
import { buildRelease, packRelease } from '../../pilot/release.js';
import { RecordingTransport } from '../commander/helpers.js';
import { freePortBase } from '../pilot/harness.js';
import { waitFor } from '../helpers/wait.js';

describe('rolling pilot releases out to the local fleet', { timeout: 180_000 }, () => {
  let dir: string;
  let stack: Stack;
  const chat = new RecordingTransport('console');

  /** Types a line in the ops chat as the admin; replies are posted (or edited) as the console would. */
  const send = async (input: ChatInput): Promise<ChatReply[]> => {
    const replies = (await stack.commander.chat(input)) ?? [];
    for (const reply of replies) {
      if (reply.replace) await chat.update(reply.replace, reply.message);
      else await reply.onPosted?.(await chat.post('ops', reply.message));
    }
    return replies;
  };
  const user = { id: 'root' };
  /** A command that asks for confirmation, confirmed at once. */
  const confirmed = async (text: string) => {
    const [question] = await send({ kind: 'command', platform: 'console', chat: 'ops', user, text });
    const button = question?.message.buttons?.find((b) => b.label === 'Confirm');
    expect(button, JSON.stringify(question?.message)).toBeDefined();
    const asked: MessageRef = chat.posts.at(-1)!.ref;
    const [answer] = await send({
      kind: 'button',
      platform: 'console',
      chat: 'ops',
      user,
      buttonId: button!.id,
      message: asked,
    });
    expect(answer?.message.title).toMatch(/: accepted$/);
    return asked;
  };
  const finished = (release: string) =>
    waitFor(
      async () => {
        const u = (await loadUpgrade(stack.commander.deps))?.value;
        return u?.release === release && u.status !== 'running' ? u : null;
      },
      `the roll-out of ${release} over`,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  const versions = async () =>
    Object.fromEntries(
      (await stack.commander.deps.store.listNodes()).map((n) => [n.value.id, n.value.pilotVersion]),
    );

  beforeAll(async () => {
    // The commander runs in this process: its tick lines would bury the test's output.
    process.env.BEAM_LOG_LEVEL ??= 'warn';
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-upgrade-'));
    const releases = path.join(dir, 'releases');
    const good = await buildRelease({ outDir: releases, version: '0.1.1' });
    // Checksums right, build broken: the pilot's check of the new bundle fails on the node.
    const broken = await packRelease(
      releases,
      '0.1.2',
      new Map([
        ['beam-pilot.mjs', Buffer.from("throw new Error('broken build');\n")],
        ['VERSION', Buffer.from('0.1.2\n')],
      ]),
    );
    stack = await startStack({
      dir: path.join(dir, 'stack'),
      reset: true,
      portBase: await freePortBase(),
      transports: { console: chat },
      chat: [{ platform: 'console', chat: 'ops' }],
      settings: {
        access: { console: { users: { root: 'admin' }, chats: ['ops'] } },
        pilot: {
          releases: {
            '0.1.1': { source: good.tarball, sha256: good.sha256 },
            '0.1.2': { source: broken.tarball, sha256: broken.sha256 },
          },
          upgradeTimeoutMs: 30_000,
        },
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('upgrades every pilot, one at a time, the signer last', async () => {
    const asked = await confirmed('upgrade pilots 0.1.1');
    const u: PilotUpgrade = await finished('0.1.1');
    expect(u.status).toBe('done');
    expect(u.steps.map((s) => s.node)).toEqual(['sentry-1', 'sentry-2', 'sentry-3', 'val-b', 'val-a']);
    expect(u.steps.find((s) => s.signer)?.node).toBe('val-a');
    // Each step started after the one before it was done.
    const starts = u.steps.map((s) => s.since ?? 0);
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(Object.values(await versions())).toEqual(['0.1.1', '0.1.1', '0.1.1', '0.1.1', '0.1.1']);
    for (const pilot of stack.pilots.values())
      expect(pilot.entry).toMatch(/\/lib\/current\/beam-pilot\.mjs$/);
    // The question became the roll-out's message, and every step edited it.
    expect(chat.posts.filter((p) => p.message.title.startsWith('Pilot upgrade'))).toEqual([]);
    expect(chat.updates.filter((e) => e.ref.messageId === asked.messageId).at(-1)?.message.title).toBe(
      'Pilot upgrade to 0.1.1: done, 5 nodes',
    );
  });

  it('stops a broken release at its first node, rolled back, and leaves the others alone', async () => {
    const validator = stack.devnet.info.validators[0]!;
    const signed = () =>
      stack.devnet.hub
        .signatures({ address: validator.consensusAddress })
        .filter((r) => r.kind === 'precommit').length;
    const before = signed();
    await confirmed('upgrade pilots 0.1.2');
    const u = await finished('0.1.2');
    expect(u.status).toBe('halted');
    expect(u.steps.map((s) => [s.node, s.phase])).toEqual([
      ['sentry-1', 'rolled-back'],
      ['sentry-2', 'waiting'],
      ['sentry-3', 'waiting'],
      ['val-b', 'waiting'],
      ['val-a', 'waiting'],
    ]);
    expect(u.steps[0]?.note).toMatch(
      /^upgrade failed: 0\.1\.2 fails its check with this node's config \(.*broken build.*\).*; back on 0\.1\.1$/,
    );
    expect(Object.values(await versions())).toEqual(['0.1.1', '0.1.1', '0.1.1', '0.1.1', '0.1.1']);
    // The validator signs on.
    await waitFor(() => signed() > before, 'a precommit after the roll-outs');
  });
});
