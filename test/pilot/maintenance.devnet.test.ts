/**
 * Maintenance windows on a devnet sentry run by a real pilot: one the node's operator opens with
 * `beam-pilot maintenance` (a separate process, picked up by the running pilot without a restart),
 * and one the commander opens with the `maintenance` action, which ends by itself.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { waitFor } from '../helpers/wait.js';
import {
  daemonPid,
  FakeCommander,
  freePortBase,
  isLive,
  killDaemon,
  type PilotSetup,
  pilotConfigFor,
} from './harness.js';

const CLI = path.resolve(import.meta.dirname, '../../pilot/cli.ts');
let dir: string;
let devnet: Devnet;
let setup: PilotSetup;
let pilot: Pilot;
const commander = new FakeCommander();
const last = () => commander.last('sentry-1');

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', CLI, 'maintenance', ...args, '--config', setup.file],
    { timeout: 30_000 },
  );
  return stdout.trim();
}

const daemonHeld = async () =>
  ((await (await request(`${pilot.url}/status`)).body.json()) as { daemonHeld: string | null }).daemonHeld;

/** Kills the daemon and sees it stay down for five reports while the window runs. */
async function killAndSeeItStayDown(): Promise<number> {
  const pid = await daemonPid(setup.stateDir);
  const restarts = last()!.daemon.restarts;
  process.kill(pid, 'SIGKILL');
  expect(await waitFor(daemonHeld, 'the hold in /status')).toMatch(/^maintenance window until /);
  const seen = commander.reports.get('sentry-1')!.length;
  await waitFor(() => commander.reports.get('sentry-1')!.length >= seen + 5, 'five more reports');
  expect(last()!.daemon).toMatchObject({ running: false, desired: 'running', restarts });
  expect(await daemonPid(setup.stateDir)).toBe(pid);
  return pid;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-maintenance-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    standby: 0,
    sentries: 1,
    startNodes: false,
    portBase: await freePortBase(3),
    reset: true,
  });
  await commander.start();
  setup = await pilotConfigFor(devnet.info, 'sentry-1', dir, { commanderUrl: commander.url });
  commander.secrets.set('sentry-1', 'cd'.repeat(32));
  await fs.writeFile(
    path.join(setup.stateDir, 'node-secret.json'),
    JSON.stringify({ nodeId: 'sentry-1', secret: 'cd'.repeat(32) }),
    { mode: 0o600 },
  );
  pilot = await Pilot.create(setup.config, pino({ level: 'silent' }));
  await pilot.start();
});

afterAll(async () => {
  await pilot?.close();
  if (setup) await killDaemon(setup.stateDir);
  await commander.stop();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('maintenance windows', () => {
  it("the operator's window: the running pilot takes it at once and leaves a stopped daemon down until it is switched off", async () => {
    await waitFor(() => last()?.daemon.rpcReachable, 'sentry-1 running');
    expect(last()!.maintenance).toBeNull();
    expect(await cli('status')).toBe('no maintenance window');

    const before = Date.now();
    const out = await cli('on', '--for', '30m', '--reason', 'disk swap');
    expect(out).toMatch(
      /^maintenance window until \S+ \(set by the node's operator: disk swap\): the pilot starts no daemon on its own until then$/,
    );
    const window = await waitFor(() => last()?.maintenance, 'the window reported');
    expect(window).toMatchObject({ by: 'node', reason: 'disk swap' });
    expect(window.until).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(window.until).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
    expect(await cli('status')).toBe(out.replace(/: the pilot starts no daemon.*$/, ''));

    const pid = await killAndSeeItStayDown();
    expect(await cli('off')).toMatch(/^ended the maintenance window until /);
    await waitFor(
      async () => last()?.daemon.rpcReachable && (await daemonPid(setup.stateDir)) !== pid,
      'the daemon started again',
    );
    expect(last()!.maintenance).toBeNull();
    expect(await daemonHeld()).toBeNull();
  });

  it("the commander's window ends by itself, and the daemon that should run starts then", async () => {
    const until = Date.now() + 10_000;
    commander.script('sentry-1').actions.push({
      id: 'mw-1',
      issuedAt: Date.now(),
      type: 'maintenance',
      until,
      reason: 'kernel update',
    });
    const result = await waitFor(() => commander.resultsOf('sentry-1', 'mw-1')[0], 'the action result');
    expect(result).toMatchObject({
      ok: true,
      message: `maintenance window until ${new Date(until).toISOString()} (set by the commander: kernel update)`,
    });
    await waitFor(() => last()?.maintenance?.by === 'commander', 'the window reported');
    expect(last()!.maintenance).toEqual({ until, by: 'commander', reason: 'kernel update' });

    const pid = await killAndSeeItStayDown();
    await waitFor(async () => {
      const now = await daemonPid(setup.stateDir);
      return now !== pid && isLive(now);
    }, 'the daemon started at the end of the window');
    // The pid file is written as the daemon is started.
    expect((await fs.stat(path.join(setup.stateDir, 'daemon.pid'))).mtimeMs).toBeGreaterThanOrEqual(until);
    await waitFor(() => last()?.daemon.rpcReachable && last()?.maintenance === null, 'no window reported');

    // An explicit end, and a window that would not end in time, as the commander sends them.
    commander.script('sentry-1').actions.push(
      { id: 'mw-2', issuedAt: Date.now(), type: 'maintenance', until: null, reason: '' },
      {
        id: 'mw-3',
        issuedAt: Date.now(),
        type: 'maintenance',
        until: Date.now() + 8 * 86_400_000,
        reason: '',
      },
    );
    expect(await waitFor(() => commander.resultsOf('sentry-1', 'mw-2')[0], 'mw-2')).toMatchObject({
      ok: true,
      message: 'no maintenance window was running',
    });
    expect(await waitFor(() => commander.resultsOf('sentry-1', 'mw-3')[0], 'mw-3')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^refused: until .* is more than 7 days away$/),
    });
  });
});
