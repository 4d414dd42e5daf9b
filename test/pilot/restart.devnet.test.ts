import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
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
const commander = new FakeCommander();
let child: ChildProcess | null = null;

function startPilotProcess(): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--config', setup.file], {
    stdio: 'ignore',
  });
  child = p;
  return p;
}

async function killPilot(): Promise<void> {
  const p = child;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-restart-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
  });
  await commander.start();
  const httpPort = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  setup = await pilotConfigFor(devnet.info, 'sentry-1', dir, {
    commanderUrl: commander.url,
    extra: { http: { listen: `127.0.0.1:${httpPort}` } },
  });
  const secret = 'cd'.repeat(32);
  commander.secrets.set('sentry-1', secret);
  await fs.writeFile(
    path.join(setup.stateDir, 'node-secret.json'),
    JSON.stringify({ nodeId: 'sentry-1', secret }),
    {
      mode: 0o600,
    },
  );
});

afterAll(async () => {
  await killPilot();
  if (setup) await killDaemon(setup.stateDir);
  await commander.stop();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('a real pilot process killed and restarted', () => {
  it('never executes the same action twice, keeps seq rising, and leaves the daemon running', async () => {
    startPilotProcess();
    await waitFor(() => commander.last('sentry-1')?.daemon.rpcReachable, 'reports from the pilot process');
    const first = await daemonPid(setup.stateDir);
    const status = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, 'status', '--config', setup.file],
      { timeout: 20_000 },
    );
    expect(JSON.parse(status.stdout)).toMatchObject({
      node: 'sentry-1',
      role: 'sentry',
      mode: 'commander',
      enrolled: true,
    });
    const s = commander.script('sentry-1');
    s.ack = false; // the commander "loses" the result: it re-sends the action and never acks
    s.actions.push({ id: 'restart-once', issuedAt: Date.now(), type: 'restart-daemon' });
    await waitFor(() => commander.resultsOf('sentry-1', 'restart-once')[0], 'the restart result');
    const second = await daemonPid(setup.stateDir);
    expect(second).not.toBe(first);

    await killPilot();
    expect(isLive(second)).toBe(true); // a pilot crash leaves the daemon running
    const before = commander.reports.get('sentry-1')!.length;
    startPilotProcess();
    await waitFor(
      () => commander.reports.get('sentry-1')!.length >= before + 5,
      'five reports from the new pilot',
      {
        timeoutMs: 30_000,
      },
    );
    // The action was offered on every reply; it ran once: same daemon, one result re-sent unchanged.
    expect(await daemonPid(setup.stateDir)).toBe(second);
    expect(isLive(second)).toBe(true);
    const results = commander.resultsOf('sentry-1', 'restart-once');
    expect(results).toHaveLength(1);
    expect(results[0]!.ok).toBe(true);
    expect(commander.last('sentry-1')!.results.map((r) => r.id)).toEqual(['restart-once']);
    expect(commander.last('sentry-1')!.daemon.running).toBe(true);
    expect(commander.rejected).toEqual([]); // every seq rose across the restart
  });

  it('keeps a daemon it was told to stop stopped, across a pilot restart', async () => {
    const s = commander.script('sentry-1');
    s.ack = true;
    s.actions.push({ id: 'stop-1', issuedAt: Date.now(), type: 'stop-daemon' });
    await waitFor(() => commander.resultsOf('sentry-1', 'stop-1')[0], 'the stop result');
    const pid = await daemonPid(setup.stateDir);
    expect(isLive(pid)).toBe(false);
    await killPilot();
    const before = commander.reports.get('sentry-1')!.length;
    startPilotProcess();
    await waitFor(
      () => commander.reports.get('sentry-1')!.length >= before + 4,
      'reports from the new pilot',
    );
    expect(commander.last('sentry-1')!.daemon).toMatchObject({ running: false, desired: 'stopped' });
    expect(await daemonPid(setup.stateDir)).toBe(pid);
  });
});
