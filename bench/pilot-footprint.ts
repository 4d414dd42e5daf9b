/**
 * Idle footprint of a real pilot process (the bundled dist file, as installed) supervising a devnet
 * node and reporting every 5 s to the self-hosted commander: RSS and CPU % of one core, sampled from
 * /proc for the pilot's own pid (its daemon child excluded).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevnet } from '../devnet/index.js';
import { createDocClient, createDynamoClient } from '../commander/adapters/store/client.js';
import { Store } from '../commander/adapters/store/store.js';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { buildPilot } from '../pilot/build.js';
import { freePortBase, killDaemon, pilotConfigFor } from '../test/pilot/harness.js';
import { waitFor } from '../test/helpers/wait.js';
import { BENCH_TOKEN, startCommander } from './commander-proc.js';
import { round } from './stats.js';

const CLK_TCK = 100; // Linux USER_HZ

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export interface PilotFootprint {
  nodeFlags: string[];
  node: string;
  role: string;
  sampleSeconds: number;
  rssMb: { mean: number; max: number };
  cpuPercentOfCore: number;
  reportsDuringSample: number;
  goal: { rssMb: number; cpuPercent: number; met: boolean };
  settings: Record<string, unknown>;
}

export async function pilotFootprint(options: {
  /** A devnet sentry (without the [chain] section a sentry does not need) or the primary validator. */
  node: 'sentry-1' | 'val-a';
  /** Extra node flags (e.g. V8 heap limits) for a variant of the installed command line. */
  nodeFlags?: string[];
  warmupMs: number;
  sampleMs: number;
  log: (line: string) => void;
}): Promise<PilotFootprint> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-bench-pilot-'));
  const devnet = await startDevnet({
    dir,
    blockTimeMs: 1000,
    standby: 0,
    sentries: 1,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
  });
  const commander = await startCommander({ tick: '*/15 * * * * *', reportIntervalMs: 5000 });
  let child: ChildProcess | undefined;
  let stateDir = '';
  try {
    const bundle = await buildPilot(path.join(dir, 'dist', 'beam-pilot.mjs'));
    const token = path.join(dir, 'enrollment-token');
    await fs.writeFile(token, BENCH_TOKEN, { mode: 0o600 });
    const setup = await pilotConfigFor(devnet.info, options.node, dir, {
      commanderUrl: commander.url,
      extra: {
        commander: { report_interval_ms: 5000, enrollment_token_file: token, request_timeout_ms: 10_000 },
        http: { listen: '127.0.0.1:0' },
      },
    });
    stateDir = setup.stateDir;
    if (options.node === 'sentry-1') {
      const doc = parseToml(await fs.readFile(setup.file, 'utf8'));
      delete doc.chain;
      await fs.writeFile(setup.file, stringifyToml(doc), { mode: 0o600 });
    }
    child = spawn(process.execPath, [...(options.nodeFlags ?? []), bundle, 'start', '--config', setup.file], {
      stdio: 'ignore',
    });
    const pid = child.pid!;
    const store = new Store(createDocClient(createDynamoClient({ endpoint: commander.dynamodbEndpoint })), {
      tableName: commander.tableName,
    });
    const reportsOf = async () => (await store.getNode(options.node))?.value.reportCount ?? 0;
    // Nodes that prove no instance wait for a person's approval: give it as soon as the enrollment arrives.
    await waitFor(
      async () => (await store.getNode(options.node))?.value.status === 'pending',
      `${options.node} to enroll`,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    await commander.request({ type: 'approve', node: options.node });
    // Enrolled and reporting, as the commander's store shows.
    await waitFor(async () => (await reportsOf()) >= 2, 'the pilot to enroll and report', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await new Promise((r) => setTimeout(r, options.warmupMs));
    const callsBefore = await reportsOf();
    const ticks0 = cpuTicks(pid);
    const t0 = performance.now();
    const rss: number[] = [];
    while (performance.now() - t0 < options.sampleMs) {
      rss.push(rssBytes(pid));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = ((cpuTicks(pid) - ticks0) / CLK_TCK / seconds) * 100;
    const reports = (await reportsOf()) - callsBefore;
    const mb = (b: number) => round(b / 1024 / 1024, 1);
    const rssMean = rss.reduce((a, b) => a + b, 0) / rss.length;
    return {
      nodeFlags: options.nodeFlags ?? [],
      node: options.node,
      role: options.node === 'val-a' ? 'validator' : 'sentry',
      sampleSeconds: round(seconds, 1),
      rssMb: { mean: mb(rssMean), max: mb(Math.max(...rss)) },
      cpuPercentOfCore: round(cpu, 2),
      reportsDuringSample: reports,
      goal: { rssMb: 80, cpuPercent: 1, met: mb(Math.max(...rss)) < 80 && cpu < 1 },
      settings: {
        config:
          options.node === 'val-a'
            ? 'validator: [validator] and [chain] (chain queries, hot key), no lease held'
            : 'sentry: no [validator] or [chain] section',
        pilot: `node ${[...(options.nodeFlags ?? []), 'dist/beam-pilot.mjs'].join(' ')} (pilot/build.ts, ${process.version}), process mode, supervising a devnet node`,
        commander: 'self-hosted commander (serve()), report interval 5 s',
        warmupSeconds: options.warmupMs / 1000,
        cpu: '/proc/<pid>/stat utime+stime over the sample window, % of one core',
        rss: '/proc/<pid>/status VmRSS sampled every second',
      },
    };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (stateDir) await killDaemon(stateDir);
    await commander.stop();
    await devnet.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
