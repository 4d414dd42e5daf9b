/**
 * `devnet cosmovisor run start --home DIR`: cosmovisor's run loop over a node home's cosmovisor
 * folder. It runs `current/bin/<DAEMON_NAME>` with the arguments after `run`, polls
 * `data/upgrade-info.json`, and when it names an upgrade other than the current one: stops the
 * daemon, points `current` at `upgrades/<name>` (the binary must be staged there: downloads are
 * off), records the plan in `upgrades/<name>/upgrade-info.json` and starts the daemon again. A
 * daemon that exits with an error (x/upgrade's panic in blocksync) is switched the same way when
 * upgrade-info.json names a new upgrade; otherwise cosmovisor exits with the daemon's code when the
 * daemon exits on its own. It passes SIGTERM/SIGINT on.
 *
 * Environment, as cosmovisor's: DAEMON_HOME (default: the --home argument), DAEMON_NAME (devnetd),
 * DAEMON_POLL_INTERVAL (ms, 300), DAEMON_RESTART_AFTER_UPGRADE (true), DAEMON_SHUTDOWN_GRACE (ms, 10000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import { DAEMON_NAME, type UpgradeInfo, cosmovisorPaths, linkCurrent, readUpgradeInfo } from './binary.js';
import { cometLog } from './cometlog.js';

const Env = z.object({
  DAEMON_HOME: z.string().min(1).optional(),
  DAEMON_NAME: z.string().min(1).default(DAEMON_NAME),
  DAEMON_POLL_INTERVAL: z.coerce.number().int().positive().default(300),
  DAEMON_RESTART_AFTER_UPGRADE: z.enum(['true', 'false']).default('true'),
  DAEMON_SHUTDOWN_GRACE: z.coerce.number().int().nonnegative().default(10_000),
});

const log = (message: string, fields: Record<string, unknown> = {}, level: 'info' | 'error' = 'info') =>
  cometLog(level, message, { module: 'cosmovisor', ...fields });

function homeFromArgs(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--home' || a.startsWith('--home='));
  if (i < 0) return undefined;
  return args[i]?.includes('=') ? args[i]?.slice('--home='.length) : args[i + 1];
}

export async function runCosmovisor(args: string[]): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success)
    throw new Error(
      `cosmovisor: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`,
    );
  const env = parsed.data;
  const home = env.DAEMON_HOME ?? homeFromArgs(args);
  if (!home) throw new Error('cosmovisor: set DAEMON_HOME or pass --home DIR to the daemon');
  const paths = cosmovisorPaths(resolve(home), env.DAEMON_NAME);
  if (!existsSync(paths.current)) {
    if (!existsSync(paths.genesisBin)) throw new Error(`cosmovisor: no binary at ${paths.genesisBin}`);
    linkCurrent(resolve(home), dirname(dirname(paths.genesisBin)));
  }
  let child: ChildProcess | undefined;
  let stopping = false;
  const forward = (signal: NodeJS.Signals) => {
    stopping = true;
    if (child && child.exitCode === null) child.kill(signal);
    else process.exit(0);
  };
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGINT', () => forward('SIGINT'));

  for (;;) {
    const pending = pendingUpgrade(paths);
    if (pending) switchTo(paths, pending);
    log('running app', { path: paths.currentBin, args: JSON.stringify(args) });
    const running = spawn(paths.currentBin, args, { stdio: 'inherit' });
    child = running;
    const exited = new Promise<number>((done) => running.once('exit', (code) => done(code ?? 1)));
    let upgrade = await watch(paths, env.DAEMON_POLL_INTERVAL, exited);
    if (upgrade) {
      log('daemon shutting down in an attempt to restart', { upgrade: upgrade.name });
      running.kill('SIGTERM');
      const killer = setTimeout(() => running.kill('SIGKILL'), env.DAEMON_SHUTDOWN_GRACE);
      await exited;
      clearTimeout(killer);
      if (stopping) return process.exit(0);
    } else {
      const code = await exited;
      // x/upgrade's panic (blocksync) can end the daemon before a poll saw upgrade-info.json: a
      // daemon that failed is checked once more, as cosmovisor's WaitForUpgradeOrExit does.
      upgrade = stopping || code === 0 ? null : pendingUpgrade(paths);
      if (!upgrade) return process.exit(stopping ? 0 : code);
      log('daemon exited with an upgrade pending', { upgrade: upgrade.name, code });
    }
    switchTo(paths, upgrade);
    if (env.DAEMON_RESTART_AFTER_UPGRADE === 'false') {
      log('upgrade detected, DAEMON_RESTART_AFTER_UPGRADE is off: exiting', { upgrade: upgrade.name });
      return process.exit(0);
    }
    log('upgrade detected, relaunching', { app: env.DAEMON_NAME, upgrade: upgrade.name });
  }
}

type Paths = ReturnType<typeof cosmovisorPaths>;

/** The upgrade data/upgrade-info.json asks for, unless `current` already runs it. */
function pendingUpgrade(paths: Paths): UpgradeInfo | null {
  const wanted = readUpgradeInfo(paths.upgradeInfo);
  if (!wanted) return null;
  const running = readUpgradeInfo(join(paths.current, 'upgrade-info.json'));
  return running?.name === wanted.name ? null : wanted;
}

/** Resolves with an upgrade once one is pending, or with null when the daemon exits first. */
function watch(paths: Paths, intervalMs: number, exited: Promise<number>): Promise<UpgradeInfo | null> {
  return new Promise((done) => {
    const timer = setInterval(() => {
      const upgrade = pendingUpgrade(paths);
      if (upgrade) {
        clearInterval(timer);
        done(upgrade);
      }
    }, intervalMs);
    void exited.then(() => {
      clearInterval(timer);
      done(null);
    });
  });
}

/** Points `current` at the staged upgrade; exits 1 when its binary is not there (no downloads). */
function switchTo(paths: Paths, upgrade: UpgradeInfo): void {
  if (!existsSync(paths.upgradeBin(upgrade.name))) {
    log(
      'error upgrading: binary not staged and DAEMON_ALLOW_DOWNLOAD_BINARIES is off',
      { upgrade: upgrade.name, err: `no such file: ${paths.upgradeBin(upgrade.name)}` },
      'error',
    );
    process.exit(1);
  }
  linkCurrent(dirname(paths.root), paths.upgradeDir(upgrade.name));
  writeFileSync(join(paths.upgradeDir(upgrade.name), 'upgrade-info.json'), JSON.stringify(upgrade));
  log('upgraded binary', { upgrade: upgrade.name, path: paths.upgradeBin(upgrade.name) });
}
