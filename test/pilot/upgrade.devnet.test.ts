/**
 * A chain upgrade with a real pilot on the devnet's validator, twice: first with the daemon run
 * directly (no cosmovisor), then under cosmovisor. Seven background validators are held on the old
 * binary, so the chain halts at each plan height until Beam's validator runs the new binary: its own
 * signatures are then in the last blocks, and only a double_sign_check_height of 0 lets it start.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import type { Report } from '../../protocol/index.js';
import type { PilotState } from '../../pilot/state.js';
import { waitFor } from '../helpers/wait.js';
import {
  daemonPid,
  FakeCommander,
  freePortBase,
  isLive,
  killDaemon,
  type PilotSetup,
  pilotConfigFor,
  seedLease,
} from './harness.js';

const INFO = '{"binaries":{"linux/amd64":"https://example.com/devnetd"}}';
const silent = pino({ level: process.env['PILOT_TEST_LOG'] ?? 'silent' });
let dir: string;
let devnet: Devnet;
let home: string;
let setup: PilotSetup;
let pilot: Pilot | null = null;
const commander = new FakeCommander();

const last = () => commander.last('val-a');
/** The first report that `test` accepts. */
const reportWhere = (test: (r: Report) => unknown, what: string, timeoutMs = 30_000) =>
  waitFor(
    () => {
      const r = last();
      return r && test(r) ? r : null;
    },
    what,
    { timeoutMs },
  );
const height = () => devnet.hub.chain.height();
const configToml = () => fs.readFile(path.join(home, 'config', 'config.toml'), 'utf8');
const checkHeight = async () => /^double_sign_check_height = (\d+)$/m.exec(await configToml())?.[1];
const state = async () =>
  JSON.parse(await fs.readFile(path.join(setup.stateDir, 'state.json'), 'utf8')) as PilotState;

async function control(route: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${devnet.info.hub.controlUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** A software upgrade the background validators pass, with 7 of them kept on the old binary. */
async function scheduleUpgrade(name: string): Promise<number> {
  await control('/background/hold', { count: 7 });
  const planHeight = height() + 25;
  await control('/proposals', {
    title: `Upgrade to ${name}`,
    summary: `devnetd ${name}`,
    votingPeriodMs: 1000,
    upgrade: { name, height: planHeight, info: INFO },
  });
  return planHeight;
}

async function startPilot(extra: Record<string, Record<string, unknown>>): Promise<Pilot> {
  setup = await pilotConfigFor(devnet.info, 'val-a', dir, { commanderUrl: commander.url, extra });
  const started = await Pilot.create(setup.config, silent);
  pilot = started;
  await started.start();
  return started;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-upgrade-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 250,
    standby: 0,
    sentries: 0,
    startNodes: false,
    portBase: await freePortBase(2),
    reset: true,
    // Restarts miss blocks: a long window keeps the validator unjailed.
    params: { slashing: { signedBlocksWindow: 1000 } },
  });
  home = devnet.info.nodes[0]!.home;
  await commander.start();
  commander.secrets.set('val-a', 'ab'.repeat(32));
  Object.assign(commander.script('val-a'), {
    lease: { epoch: 1, holder: true, expiresAt: 0 },
    leaseMs: 30_000,
  });
  const stateDir = path.join(dir, 'pilot-val-a');
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(
    path.join(stateDir, 'node-secret.json'),
    JSON.stringify({ nodeId: 'val-a', secret: 'ab'.repeat(32) }),
    { mode: 0o600 },
  );
  await seedLease(stateDir, 1, 30_000);
  // The operator's own setting: a restart within 5 blocks of the key's last signature is refused.
  await fs.writeFile(
    path.join(home, 'config', 'config.toml'),
    (await configToml()).replace(/^double_sign_check_height = 0$/m, 'double_sign_check_height = 5'),
  );
});

afterAll(async () => {
  await pilot?.close();
  if (setup) await killDaemon(setup.stateDir);
  await commander.stop();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('a chain upgrade on a validator run by the pilot', () => {
  it('without cosmovisor: zeroes double_sign_check_height for the plan, leaves the halted daemon down until its binary changes, then starts the new one', async () => {
    // The daemon command is the binary itself (cosmovisor's current link), as an operator would run gaiad.
    const bin = path.join(home, 'cosmovisor', 'current', 'bin', 'devnetd');
    const running = await startPilot({ daemon: { command: [bin, 'start', '--home', home] } });
    const first = await reportWhere((r) => r.chain?.recentCommits.some((c) => c.signed), 'val-a signing');
    expect(first.daemon.version).toBe('v1.0.0'); // the binary's (abci_info), not CometBFT's
    expect(first.upgrade).toEqual({ cosmovisor: false, plan: null, staged: null, halted: null });
    expect(await checkHeight()).toBe('5');

    devnet.stageUpgrade('val-a', 'v2', 'v2.0.0'); // the new binary is on disk, not yet where bin points
    const planHeight = await scheduleUpgrade('v2');
    const plan = { name: 'v2', height: planHeight, info: INFO };
    const pending = await reportWhere((r) => r.upgrade?.plan, 'the plan reported');
    expect(pending.upgrade).toEqual({ cosmovisor: false, plan, staged: null, halted: null });
    await waitFor(async () => (await checkHeight()) === '0', 'double_sign_check_height zeroed');
    expect((await state()).doubleSignCheck).toEqual({ replaced: 5, upgradeHeight: planHeight });

    // A promote while the plan is pending installs the key and restarts, and does not raise it again:
    // the configured value (4) is what comes back after the upgrade.
    commander.script('val-a').actions.push({
      id: 'promote-during-plan',
      issuedAt: Date.now(),
      type: 'promote',
      epoch: 1,
      leaseExpiresAt: Date.now() + 30_000,
      minHeight: height(),
    });
    const promoted = await waitFor(() => commander.resultsOf('val-a', 'promote-during-plan')[0], 'promote');
    expect(promoted).toMatchObject({ ok: true });
    expect(await checkHeight()).toBe('0');
    expect((await state()).doubleSignCheck).toEqual({ replaced: 4, upgradeHeight: planHeight });

    const halted = await reportWhere((r) => r.upgrade?.halted, 'the halt reported');
    expect(halted.upgrade!.halted).toEqual(plan);
    expect(halted.daemon.height).toBe(planHeight - 1);
    expect(halted.daemon.running).toBe(true); // a halted node stays up: nothing stops it

    // The halted daemon goes down (an operator's stop, a crash): it is not started from the same binary.
    const haltedPid = await daemonPid(setup.stateDir);
    process.kill(haltedPid, 'SIGKILL');
    const status = async () =>
      (await (await request(`${running.url}/status`)).body.json()) as { daemonHeld: string | null };
    const held = await waitFor(async () => (await status()).daemonHeld, 'the hold in /status');
    expect(held).toBe(
      `halted for upgrade "v2" at height ${planHeight}: waiting for the new binary (${path.join(home, 'cosmovisor', 'genesis', 'bin', 'devnetd')} is unchanged)`,
    );
    const seen = commander.reports.get('val-a')!.length;
    await waitFor(() => commander.reports.get('val-a')!.length >= seen + 5, 'five more reports');
    expect(last()!.daemon).toMatchObject({ running: false, desired: 'running' });
    expect(last()!.upgrade!.halted).toEqual(plan); // from the last height seen while it ran
    expect(await daemonPid(setup.stateDir)).toBe(haltedPid);
    expect(height()).toBe(planHeight - 1); // the chain waits for Beam's validator

    // The operator points bin at the new version: the pilot starts it, and it signs despite its own
    // signatures in the last blocks (double_sign_check_height 0).
    const current = path.join(home, 'cosmovisor', 'current');
    await fs.symlink(path.join(home, 'cosmovisor', 'upgrades', 'v2'), `${current}.next`);
    await fs.rename(`${current}.next`, current);
    const upgraded = await reportWhere((r) => r.daemon.version === 'v2.0.0', 'v2 running');
    expect(upgraded.daemon.desired).toBe('running');
    expect(await daemonPid(setup.stateDir)).not.toBe(haltedPid);
    await waitFor(() => height() > planHeight + 1, 'the chain past the upgrade', { timeoutMs: 30_000 });
    await waitFor(async () => (await checkHeight()) === '4', 'double_sign_check_height restored', {
      timeoutMs: 30_000,
    });
    expect(height()).toBeGreaterThan(planHeight + 4);
    const after = await state();
    expect(after.doubleSignCheck).toBeNull();
    expect(after.upgradeHalt).toBeNull();
    await waitFor(
      () => last()?.upgrade?.halted === null && last()?.upgrade?.plan === null,
      'no halt, no plan',
    );
    await control('/background/release', {});
  });

  it('under cosmovisor: reports whether the binary is staged, and lets cosmovisor switch it without a restart', async () => {
    await pilot!.close();
    pilot = null;
    await killDaemon(setup.stateDir);
    const node = devnet.info.nodes[0]!;
    await startPilot({ daemon: { command: node.cosmovisorCommand, cosmovisor: { name: 'devnetd' } } });
    await waitFor(() => {
      const r = last();
      return r?.upgrade?.cosmovisor && r.chain?.recentCommits[0]?.signed ? r : null;
    }, 'val-a signing under cosmovisor');
    expect(last()!.daemon.version).toBe('v2.0.0');

    const planHeight = await scheduleUpgrade('v3');
    const plan = { name: 'v3', height: planHeight, info: INFO };
    const unstaged = await reportWhere((r) => r.upgrade?.plan, 'the plan reported');
    expect(unstaged.upgrade).toEqual({ cosmovisor: true, plan, staged: false, halted: null });
    devnet.stageUpgrade('val-a', 'v3', 'v3.0.0');
    await waitFor(() => last()?.upgrade?.staged, 'the staged binary reported');
    await waitFor(async () => (await checkHeight()) === '0', 'double_sign_check_height zeroed');

    const cosmovisorPid = await daemonPid(setup.stateDir);
    const restarts = last()!.daemon.restarts;
    await waitFor(() => last()?.daemon.version === 'v3.0.0', 'v3 running', { timeoutMs: 30_000 });
    // cosmovisor stopped the old binary and started the new one; the pilot left it alone.
    expect(await daemonPid(setup.stateDir)).toBe(cosmovisorPid);
    expect(isLive(cosmovisorPid)).toBe(true);
    expect(last()!.daemon.restarts).toBe(restarts);
    expect(pilot!.supervisor.held).toBeNull();
    await waitFor(() => height() > planHeight + 4, 'the chain past the upgrade', { timeoutMs: 30_000 });
    await waitFor(async () => (await checkHeight()) === '4', 'double_sign_check_height restored', {
      timeoutMs: 30_000,
    });
    await control('/background/release', {});
  });
});
