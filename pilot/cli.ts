#!/usr/bin/env node
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import type { MaintenanceFact } from '../protocol/index.js';
import { ConfigError, EXAMPLE_CONFIG, loadConfig } from './config.js';
import { exists, writeFileAtomic } from './fsx.js';
import { PILOT_VERSION } from './version.js';

const DEFAULT_CONFIG = process.env['BEAM_PILOT_CONFIG'] ?? '/etc/beam/pilot.toml';

const HELP: Record<string, string> = {
  '': `beam-pilot ${PILOT_VERSION}: the Beam node agent

Usage: beam-pilot <command> [--config FILE]   (default ${DEFAULT_CONFIG}, or $BEAM_PILOT_CONFIG)

Commands:
  start     supervise the daemon, report to the commander (or run standalone), serve /status and /metrics
  status    print the running pilot's /status
  doctor    check config, daemon, RPC, commander, key files; one line per problem with its fix
  init      write a commented example config, or (--systemd) the daemon unit's stop-timeout drop-in
  check     check that this build can start with the config (run on a new release before switching)
  grants    print the authz grant commands to run once from the validator account
  maintenance  on [--for 30m] [--reason TEXT] | off | status: leave the daemon as the operator puts it
  signer    export or import the validator's sign state (priv_validator_state.json)
  version   print the version

Run beam-pilot <command> --help for details.`,
  start: `beam-pilot start [--config FILE]
Runs in the foreground (systemd: Type=simple). Enrolls first when the node has no secret.
SIGINT/SIGTERM stop the pilot and leave the daemon as it is. After an upgrade-pilot or rollback-pilot
switched its install's current link, it exits (code 0) so that systemd (Restart=always) starts it.`,
  check: `beam-pilot check [--config FILE]
Loads the config and every part start needs, then prints the version; exit 1 on a problem. A pilot
runs this on a new release with its own config before it switches to it.`,
  status: `beam-pilot status [--config FILE]
Reads http.listen from the config and prints the pilot's /status JSON. Exit 1 when it does not answer.`,
  doctor: `beam-pilot doctor [--config FILE]
Prints each problem and its fix, one line each; exit 1 when there is any.`,
  init: `beam-pilot init [--config FILE] [--force] [--chain chain.json]
Writes a commented example config (mode 0600). Refuses to overwrite without --force.
--chain takes a chain registry chain.json (github.com/cosmos/chain-registry) and writes its chain id,
bech32 prefix, staking denom and gas price into the config.
beam-pilot init --systemd [--config FILE] [--dir /etc/systemd/system]
Writes the drop-in <daemon.unit>.d/50-beam-stop-timeout.conf: TimeoutStopSec = daemon.stop_timeout_ms,
so stopping the daemon (a fence) never waits longer; then run systemctl daemon-reload.`,
  grants: `beam-pilot grants [--config FILE] [--bin gaiad] [--from validator] [--expiration UNIX_SECONDS] [--json]
Prints the authz grant commands (generic authorization for gov MsgVote, for withdrawing rewards
and commission and for MsgUnjail; a stake authorization to delegate to the own validator only) that give the hot key
its rights, to run once with the validator account's key. --json prints the same grants as one
unsigned transaction (for a Ledger or multisig: gaiad tx sign FILE --from validator, then tx broadcast).`,
  signer: `beam-pilot signer state export [--config FILE] [--out FILE]
beam-pilot signer state import FILE [--config FILE]
The sign state is signer mode's double-sign guard: the last height, round and step the validator key
signed, in <node.state_dir>/priv_validator_state.json, in CometBFT's own format (import also reads
the TMKMS and Horcrux variants). export prints it, or writes it to --out (mode 0600). import adopts FILE when
it is higher, says what changed, and refuses a lower state. Stop the pilot first (systemctl stop
beam-pilot): a running pilot does not re-read the file.`,
  maintenance: `beam-pilot maintenance on [--for 30m] [--reason TEXT] [--config FILE]
beam-pilot maintenance off [--config FILE]
beam-pilot maintenance status [--config FILE]
on starts a maintenance window (--for: a whole number and a unit s, m, h or d; default 1h, at most
7d; on again replaces it): until it ends the pilot starts no daemon on its own, so stop and start
the daemon by hand as the work needs, and its reports carry the window. The running pilot takes it
at once, without a restart. It ends by itself, or with off; a daemon that should run is then started.
Run it as the pilot's user: it writes <node.state_dir>/maintenance.json.`,
  version: 'beam-pilot version\nPrints the version.',
};

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(argv: string[]): Promise<number> {
  const [command = '', ...args] = argv;
  if (command === '--help' || command === '-h' || command === 'help' || command === '') {
    console.log(HELP['']);
    return command === '' ? 2 : 0;
  }
  if (!(command in HELP)) {
    console.error(`unknown command "${command}": run beam-pilot --help`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[command]);
    return 0;
  }
  const configFile = path.resolve(option(args, 'config') ?? DEFAULT_CONFIG);
  switch (command) {
    case 'version':
      console.log(PILOT_VERSION);
      return 0;
    case 'init': {
      if (args.includes('--systemd')) return initSystemd(configFile, option(args, 'dir'));
      if ((await exists(configFile)) && !args.includes('--force')) {
        console.error(`${configFile} exists: pass --force to overwrite`);
        return 1;
      }
      const chainFile = option(args, 'chain');
      let text = EXAMPLE_CONFIG;
      if (chainFile) {
        const [{ parseChainRegistry }, { exampleConfigFor }] = await Promise.all([
          import('../protocol/chain-registry.js'),
          import('./init-chain.js'),
        ]);
        const json = await fs.readFile(chainFile, 'utf8').catch((error: Error) => {
          throw new Error(`--chain ${chainFile}: cannot read it (${error.message})`);
        });
        text = exampleConfigFor(parseChainRegistry(json, chainFile));
      }
      await fs.mkdir(path.dirname(configFile), { recursive: true });
      await writeFileAtomic(configFile, text, 0o600);
      console.log(`wrote ${configFile}: edit it, then run beam-pilot doctor --config ${configFile}`);
      return 0;
    }
    case 'doctor': {
      const { doctor } = await import('./doctor.js');
      const problems = await doctor(configFile);
      for (const p of problems) console.log(`✗ ${p}`);
      console.log(problems.length === 0 ? '✓ all checks passed' : `${problems.length} problem(s)`);
      return problems.length === 0 ? 0 : 1;
    }
    case 'status': {
      const cfg = await loadConfig(configFile);
      try {
        const res = await request(`http://${cfg.http.listen}/status`, {
          headersTimeout: 3000,
          bodyTimeout: 3000,
        });
        console.log(JSON.stringify(await res.body.json(), null, 2));
        return 0;
      } catch (error) {
        console.error(
          `the pilot does not answer on ${cfg.http.listen} (${(error as Error).message}): is it running?`,
        );
        return 1;
      }
    }
    case 'grants': {
      const cfg = await loadConfig(configFile);
      const { grantCommandsFor } = await import('./grants.js');
      const expiration = option(args, 'expiration');
      if (expiration !== undefined && !/^\d{9,11}$/.test(expiration)) {
        console.error(
          `--expiration ${expiration}: use a Unix timestamp in seconds, e.g. $(date -d '+1 year' +%s)`,
        );
        return 2;
      }
      for (const line of await grantCommandsFor(cfg, {
        bin: option(args, 'bin') ?? 'gaiad',
        from: option(args, 'from') ?? 'validator',
        expiration: expiration ? Number(expiration) : null,
        json: args.includes('--json'),
      })) {
        console.log(line);
      }
      return 0;
    }
    case 'maintenance':
      return maintenance(configFile, args);
    case 'signer': {
      const [group, verb, source] = args;
      if (group !== 'state' || (verb !== 'export' && verb !== 'import')) {
        console.error('usage: beam-pilot signer state export|import: run beam-pilot signer --help');
        return 2;
      }
      const cfg = await loadConfig(configFile);
      const { describeMark, SignState, signStatePath } = await import('./signer/index.js');
      const file = signStatePath(cfg);
      if (verb === 'export') {
        // create: false, so exporting never writes the pilot's state.
        const text = SignState.open(file, { create: false }).exportState();
        const out = option(args, 'out');
        if (!out) process.stdout.write(text);
        else {
          await writeFileAtomic(path.resolve(out), text, 0o600);
          console.log(`wrote ${out}`);
        }
        return 0;
      }
      if (!source || source.startsWith('-')) {
        console.error('beam-pilot signer state import FILE: name the priv_validator_state.json to import');
        return 2;
      }
      const text = await fs.readFile(source, 'utf8').catch((error: Error) => {
        throw new Error(`cannot read ${source}: ${error.message}`);
      });
      const { changed, before, after } = SignState.open(file).importState(text, source);
      console.log(
        changed
          ? `raised ${file} from ${describeMark(before)} to ${describeMark(after)}`
          : `unchanged: ${file} is already at ${describeMark(before)}, the same as ${source}`,
      );
      return 0;
    }
    case 'check': {
      await loadConfig(configFile);
      await import('./agent.js');
      console.log(PILOT_VERSION);
      return 0;
    }
    case 'start': {
      const cfg = await loadConfig(configFile);
      // Heavy modules (cosmjs, prom-client) load only for the commands that need them.
      const { Pilot } = await import('./agent.js');
      const pilot = await Pilot.create(cfg, undefined, { configFile });
      await pilot.start();
      pilot.log.info(`beam-pilot ${PILOT_VERSION} started for ${cfg.node.name}; local http on ${pilot.url}`);
      const why = await new Promise<string>((resolve) => {
        const stop = () => resolve('stopping');
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // Node cannot exec(): the service manager runs the new bundle once this process is gone.
        void pilot.releaseSwitched.then(() => resolve('exiting for the release now current'));
      });
      pilot.log.info(`beam-pilot ${PILOT_VERSION}: ${why}`);
      await pilot.close();
      return 0;
    }
  }
  return 2;
}

/** `maintenance on|off|status`: the window file in the state folder, which the running pilot reads. */
async function maintenance(configFile: string, args: string[]): Promise<number> {
  const verb = args.find((a, i) => !a.startsWith('-') && !/^--(config|for|reason)$/.test(args[i - 1] ?? ''));
  if (verb !== 'on' && verb !== 'off' && verb !== 'status') {
    console.error('usage: beam-pilot maintenance on [--for 30m] [--reason TEXT] | off | status');
    return 2;
  }
  const cfg = await loadConfig(configFile);
  const m = await import('./maintenance.js');
  const dir = cfg.node.state_dir;
  // A malformed file is an error for status; on and off replace it.
  const running = await m.readMaintenance(dir, Date.now()).catch((error: Error) => {
    if (verb === 'status') throw error;
    return null;
  });
  if (verb === 'status') {
    console.log(m.describeMaintenance(running));
    return 0;
  }
  let window: MaintenanceFact | null = null;
  if (verb === 'on') {
    const reason = option(args, 'reason') ?? '';
    let length: number;
    try {
      length = m.parseDuration(option(args, 'for') ?? (args.includes('--for') ? '' : m.DEFAULT_WINDOW));
      if (reason.length > 200)
        throw new Error(`--reason: at most 200 characters (this one has ${reason.length})`);
    } catch (error) {
      console.error((error as Error).message);
      return 2;
    }
    window = { until: Date.now() + length, by: 'node', reason };
  }
  await m.writeMaintenance(dir, window).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EACCES') throw error;
    throw new Error(
      `cannot write ${m.maintenanceFile(dir)}: run it as the pilot's user (sudo -u <user> beam-pilot ...)`,
    );
  });
  if (window)
    console.log(`${m.describeMaintenance(window)}: the pilot starts no daemon on its own until then`);
  else
    console.log(
      running ? `ended the ${m.describeMaintenance(running)}` : 'no maintenance window was running',
    );
  return 0;
}

/** `init --systemd`: the daemon unit's stop-timeout drop-in, from the config's unit and stop timeout. */
async function initSystemd(configFile: string, dir: string | undefined): Promise<number> {
  const cfg = await loadConfig(configFile);
  if (cfg.daemon.mode !== 'systemd') {
    console.error(`daemon.mode is "${cfg.daemon.mode}" in ${configFile}: the drop-in is for systemd mode`);
    return 1;
  }
  const { daemonDropIn, daemonDropInFile } = await import('./systemd-files.js');
  const file = daemonDropInFile(cfg.daemon.unit as string, dir);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, daemonDropIn(cfg.daemon.stop_timeout_ms), 0o644);
  console.log(`wrote ${file}: run systemctl daemon-reload`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`beam-pilot: ${(error as Error).message}`);
    process.exit(1);
  },
);
