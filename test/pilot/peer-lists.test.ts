import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../../protocol/index.js';
import { Pilot } from '../../pilot/agent.js';
import { parseConfig } from '../../pilot/config.js';
import { mergeList, mergeShared } from '../../pilot/peer-lists.js';
import { patchEdits } from '../../pilot/toml-edit.js';

const id = (c: string) => c.repeat(40);
const peer = (c: string, host = '10.0.0.1') => `${id(c)}@${host}:26656`;

describe('peer lists shared with the operator', () => {
  it('keeps the operator entries, replaces the ones Beam wrote, one entry per node id', () => {
    const mine = [peer('a', 'sentry.example.com'), peer('b')];
    // Beam wrote c and d before; now it wants d and e.
    expect(
      mergeList([...mine, peer('c'), peer('d')], [peer('c'), peer('d')], [peer('d'), peer('e')]),
    ).toEqual([...mine, peer('d'), peer('e')]);
    // An operator entry for a node Beam now lists gives way to Beam's address for it.
    expect(mergeList([peer('a', '192.0.2.1')], [], [peer('a')])).toEqual([peer('a')]);
    // Nothing of Beam's left: the operator's list as it was.
    expect(mergeList(mine, [peer('c')], [])).toEqual(mine);
  });

  it('merges only the shared lists of a patch, and says what Beam owns after it', () => {
    const doc = parseToml(`[p2p]\nunconditional_peer_ids = "${id('f')},${id('c')}"\n`);
    const { edits, owned } = mergeShared(
      patchEdits({ p2p: { unconditional_peer_ids: [id('d')], pex: true } }),
      () => doc,
      { 'p2p.unconditional_peer_ids': [id('c')] },
    );
    expect(edits.get('p2p.unconditional_peer_ids')).toBe(`${id('f')},${id('d')}`);
    expect(edits.get('p2p.pex')).toBe(true);
    expect(owned).toEqual({ 'p2p.unconditional_peer_ids': [id('d')] });
    // No list in the patch: the file is not even parsed.
    const plain = mergeShared(
      patchEdits({ consensus: { double_sign_check_height: 4 } }),
      () => {
        throw new Error('parsed');
      },
      {},
    );
    expect(plain.owned).toEqual({});
  });
});

describe('a pilot applying configs to a sentry with peers of its own', () => {
  let dir: string;
  let file: string;
  let pilot: Pilot;
  const apply = (version: string, persistent: string[], unconditional: string[]): Action => ({
    id: `cfg-${version}`,
    issuedAt: Date.now(),
    type: 'apply-config',
    version,
    patch: { p2p: { persistent_peers: persistent, unconditional_peer_ids: unconditional, pex: true } },
    restart: false,
  });
  const open = async () =>
    Pilot.create(
      parseConfig(
        `[node]\nname = "sentry-1"\nrole = "sentry"\nchain_id = "beam-1"\nstate_dir = "${dir}/state"\n` +
          `[daemon]\nmode = "process"\ncommand = ["/bin/true"]\nhome = "${dir}/home"\n`,
        'pilot.toml',
      ),
      pino({ level: 'silent' }),
    );

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-peers-'));
    file = path.join(dir, 'home', 'config', 'config.toml');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(
      file,
      [
        '# operator notes',
        '[p2p]',
        `seeds = "${peer('5', 'seed.example.com')}"`,
        `persistent_peers = "${peer('a', 'public-1.example.com')}" # my public peers`,
        `unconditional_peer_ids = "${id('a')}"`,
        '',
      ].join('\n'),
    );
    pilot = await open();
  });

  afterAll(async () => {
    await pilot.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps seeds and the operator peers across config changes and pilot restarts', async () => {
    const read = async () =>
      (parseToml(await fs.readFile(file, 'utf8')) as { p2p: Record<string, string> }).p2p;
    expect((await pilot.runAction(apply('v1', [peer('b'), peer('c')], [id('b')]), Date.now()))?.ok).toBe(
      true,
    );
    expect(await read()).toMatchObject({
      seeds: peer('5', 'seed.example.com'),
      persistent_peers: [peer('a', 'public-1.example.com'), peer('b'), peer('c')].join(','),
      unconditional_peer_ids: `${id('a')},${id('b')}`,
      pex: true,
    });

    // The pilot restarts; then Beam drops c and adds d.
    await pilot.close();
    pilot = await open();
    expect((await pilot.runAction(apply('v2', [peer('b'), peer('d')], [id('d')]), Date.now()))?.ok).toBe(
      true,
    );
    const text = await fs.readFile(file, 'utf8');
    expect(await read()).toMatchObject({
      seeds: peer('5', 'seed.example.com'),
      persistent_peers: [peer('a', 'public-1.example.com'), peer('b'), peer('d')].join(','),
      unconditional_peer_ids: `${id('a')},${id('d')}`,
    });
    expect(text).toMatch(/^# operator notes$/m);
    expect(text).toMatch(/ # my public peers$/m);
    expect(pilot.store.get().beamPeers).toEqual({
      'p2p.persistent_peers': [peer('b'), peer('d')],
      'p2p.unconditional_peer_ids': [id('d')],
    });
  });
});
