/** Shared parts of the attack tests: the attack's announcement, a pilot whose log lines are kept, a devnet. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { Pilot } from '../../pilot/agent.js';
import type { PilotConfigOptions } from '../../local/pilot-config.js';
import { RecordingTransport, TOKEN } from '../commander/helpers.js';
import { freePortBase, killDaemon, type PilotSetup, pilotConfigFor } from '../pilot/harness.js';

/** Every attack test says what it tries, so a run's output reads as the list of attacks. */
export function attack(description: string): void {
  console.info(`attack: ${description}`);
}

/** A pino logger whose JSON lines the test reads (what the pilot says about a refused reply). */
export function capturingLog(): { log: pino.Logger; messages: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    log: pino({ level: 'info' }, sink),
    messages: () => lines.map((line) => String((JSON.parse(line) as { msg?: unknown }).msg ?? '')),
  };
}

/**
 * The self-hosted commander on loopback, on the real clock (pilots sign with theirs), embedded
 * dynalite in `dir`; nodes wait for approval (approveOnEnrollment); its tick is left to the test.
 */
export async function servedCommander(dir: string): Promise<RunningCommander> {
  process.env.BEAM_LOG_LEVEL ??= 'warn';
  const config = ServeConfig.parse({
    listen: '127.0.0.1:0',
    stateDir: path.join(dir, 'commander'),
    tick: '0 0 1 1 *',
    settings: {
      enrollmentToken: TOKEN,
      enrollRetryMs: 200,
      chat: [{ platform: 'console', chat: 'ops' }],
    },
  });
  return serve(config, { transports: { console: new RecordingTransport() }, env: {} });
}

export interface PilotWorld {
  dir: string;
  devnet: Devnet;
  setup: PilotSetup;
  pilot: Pilot;
  messages: () => string[];
  stop(): Promise<void>;
}

/**
 * A devnet (nodes not started) and one real pilot for `node` reporting to `commanderUrl`, which
 * starts and supervises that node's daemon. `prepare` runs before the pilot starts (seed its state).
 */
export async function pilotWorld(
  node: string,
  commanderUrl: string,
  opts: PilotConfigOptions & {
    prepare?: (setup: PilotSetup) => Promise<void>;
    /** Where the devnet and the pilot state live (a tmpfs makes thousands of fsyncs quick). */
    root?: string;
  } = {},
): Promise<PilotWorld> {
  const dir = await fs.mkdtemp(path.join(opts.root ?? os.tmpdir(), 'beam-security-'));
  const devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
  });
  const setup = await pilotConfigFor(devnet.info, node, dir, { commanderUrl, ...opts });
  const token = path.join(setup.stateDir, 'enrollment-token');
  await fs.writeFile(token, TOKEN, { mode: 0o600 });
  setup.config.commander!.enrollment_token_file = token;
  await opts.prepare?.(setup);
  const { log, messages } = capturingLog();
  const pilot = await Pilot.create(setup.config, log);
  await pilot.start();
  return {
    dir,
    devnet,
    setup,
    pilot,
    messages,
    async stop() {
      await pilot.close();
      await killDaemon(setup.stateDir);
      await devnet.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
