import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { waitFor } from '../helpers/wait.js';
import {
  FakeCommander,
  freePortBase,
  killDaemon,
  type PilotSetup,
  pilotConfigFor,
  seedLease,
} from './harness.js';

let dir: string;
let devnet: Devnet;
const commander = new FakeCommander();
const setups = new Map<string, PilotSetup>();
const pilots = new Map<string, Pilot>();
const silent = pino({ level: process.env['PILOT_TEST_LOG'] ?? 'silent' });

async function startPilot(name: string): Promise<Pilot> {
  const setup = await pilotConfigFor(devnet.info, name, dir, { commanderUrl: commander.url });
  commander.secrets.set(name, 'ab'.repeat(32));
  await fs.writeFile(
    path.join(setup.stateDir, 'node-secret.json'),
    JSON.stringify({ nodeId: name, secret: 'ab'.repeat(32) }),
    { mode: 0o600 },
  );
  if (name === 'val-a') await seedLease(setup.stateDir, 1, 30_000);
  setups.set(name, setup);
  const pilot = await Pilot.create(setup.config, silent);
  pilots.set(name, pilot);
  await pilot.start();
  return pilot;
}

const homeKey = (name: string) =>
  fs.readFile(
    path.join(devnet.info.nodes.find((n) => n.name === name)!.home, 'config', 'priv_validator_key.json'),
    'utf8',
  );
const realKey = () => fs.readFile(devnet.info.validators[0]!.keyFile, 'utf8');
const last = (name: string) => commander.last(name);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-custody-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
    // A switchover misses a few blocks: a long window keeps the validator from being jailed mid-test.
    params: { slashing: { signedBlocksWindow: 1000 } },
  });
  await commander.start();
  Object.assign(commander.script('val-a'), {
    lease: { epoch: 1, holder: true, expiresAt: 0 },
    leaseMs: 30_000,
  });
  Object.assign(commander.script('val-b'), { lease: { epoch: 1, holder: false, expiresAt: 0 }, leaseMs: 0 });
  await startPilot('val-a');
  await startPilot('val-b');
});

afterAll(async () => {
  for (const p of pilots.values()) await p.close();
  for (const s of setups.values()) await killDaemon(s.stateDir);
  await commander.stop();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('key custody on devnet validators', () => {
  it('demotes the primary, promotes the standby, and the validator keeps signing without a double sign', async () => {
    await waitFor(() => last('val-a')?.chain?.recentCommits.some((c) => c.signed), 'val-a signing');
    const standbyKey = await homeKey('val-b');
    expect(standbyKey).not.toBe(await realKey());

    commander.script('val-a').lease = { epoch: 2, holder: false, expiresAt: 0 };
    commander.script('val-a').leaseMs = 0;
    commander
      .script('val-a')
      .actions.push({ id: 'demote-a', issuedAt: Date.now(), type: 'demote', epoch: 2 });
    const demoted = await waitFor(() => commander.resultsOf('val-a', 'demote-a')[0], 'demote result');
    expect(demoted).toMatchObject({ ok: true });
    expect(await homeKey('val-a')).not.toBe(await realKey());
    await waitFor(
      () => last('val-a')?.custody?.holdsValidatorKey === false && last('val-a')?.daemon.rpcReachable,
      'val-a as a full node',
    );

    const minHeight = (last('val-a')?.daemon.height ?? 0) + 2;
    Object.assign(commander.script('val-b'), {
      lease: { epoch: 3, holder: true, expiresAt: 0 },
      leaseMs: 30_000,
    });
    commander.script('val-b').actions.push({
      id: 'promote-b',
      issuedAt: Date.now(),
      type: 'promote',
      epoch: 3,
      leaseExpiresAt: Date.now() + 30_000,
      minHeight,
    });
    const promoted = await waitFor(() => commander.resultsOf('val-b', 'promote-b')[0], 'promote result');
    expect(promoted).toMatchObject({ ok: true });
    expect(promoted.height).toBeGreaterThanOrEqual(minHeight);
    const home = devnet.info.nodes.find((n) => n.name === 'val-b')!.home;
    expect(await homeKey('val-b')).toBe(await realKey());
    expect((await fs.stat(path.join(home, 'config', 'priv_validator_key.json'))).mode & 0o777).toBe(0o600);
    const state = JSON.parse(await fs.readFile(path.join(home, 'data', 'priv_validator_state.json'), 'utf8'));
    expect(Number(state.height)).toBeGreaterThanOrEqual(minHeight);
    expect(typeof state.height).toBe('string');
    expect(await fs.readFile(path.join(home, 'config', 'config.toml'), 'utf8')).toMatch(
      /^double_sign_check_height = 4$/m,
    );
    // The saved standby key is what demotion restores later.
    expect(
      await fs.readFile(path.join(setups.get('val-b')!.stateDir, 'own_priv_validator_key.json'), 'utf8'),
    ).toContain(JSON.parse(standbyKey).address);
    await waitFor(
      () => {
        const r = last('val-b');
        return r?.custody?.holdsValidatorKey && r.chain?.recentCommits.slice(0, 2).every((c) => c.signed);
      },
      'the validator signing through val-b',
      { timeoutMs: 20_000 },
    );
    expect(devnet.hub.evidence).toEqual([]);
  });

  it('refuses a key action with a stale epoch', async () => {
    commander.script('val-a').actions.push({
      id: 'stale-promote',
      issuedAt: Date.now(),
      type: 'promote',
      epoch: 1,
      leaseExpiresAt: Date.now() + 30_000,
      minHeight: 0,
    });
    const r = await waitFor(() => commander.resultsOf('val-a', 'stale-promote')[0], 'stale promote result');
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/refused: stale epoch 1: highest seen is 2/);
    expect(await homeKey('val-a')).not.toBe(await realKey());
    expect(last('val-a')?.custody?.highestEpoch).toBe(2);
  });

  it('keeps signing past its lease while its node shows fresh signatures, and fences once the node stalls', async () => {
    commander.script('val-b').leaseMs = -1; // renewals stop: the lease is over at once
    const seen = commander.reports.get('val-b')!.length;
    await waitFor(() => commander.reports.get('val-b')!.length >= seen + 4, 'four more reports');
    expect(last('val-b')?.daemon.running).toBe(true);
    expect(last('val-b')?.custody?.fenced).toBe(false);

    devnet.hub.partition('val-b');
    try {
      const fenced = await waitFor(
        () => commander.reports.get('val-b')!.find((r) => r.custody?.fenced),
        'a fenced report',
        { timeoutMs: 20_000 },
      );
      expect(fenced.daemon).toMatchObject({ running: false, desired: 'stopped' });
      expect(pilots.get('val-b')!.supervisor.desired).toBe('stopped');
      expect(await pilots.get('val-b')!.supervisor.isRunning()).toBe(false);
    } finally {
      devnet.hub.heal('val-b');
    }
    expect(devnet.hub.evidence).toEqual([]);
  });

  it('safe boot: a restarted pilot without a valid lease never starts the daemon with the real key', async () => {
    const old = pilots.get('val-a')!;
    await old.close();
    await killDaemon(setups.get('val-a')!.stateDir);
    // As if the node went down holding the key: the real key is back in the home.
    const home = devnet.info.nodes.find((n) => n.name === 'val-a')!.home;
    await fs.copyFile(
      devnet.info.validators[0]!.keyFile,
      path.join(home, 'config', 'priv_validator_key.json'),
    );
    const pilot = await Pilot.create(setups.get('val-a')!.config, silent);
    pilots.set('val-a', pilot);
    await pilot.start();
    expect(await homeKey('val-a')).not.toBe(await realKey());
    const r = await waitFor(async () => {
      const report = await pilot.collect();
      return report.daemon.rpcReachable ? report : null;
    }, 'val-a running again');
    expect(r.custody?.holdsValidatorKey).toBe(false);
    expect(r.daemon.consensusAddress).not.toBe(devnet.info.validators[0]!.consensusAddress);
  });
});
