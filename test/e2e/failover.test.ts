/**
 * Failover end to end: a devnet validator with two nodes sharing its key (val-a, val-b), a pilot per
 * node (in process, each behind a loopback proxy that can cut it off from the commander), and the
 * real self-hosted commander (embedded dynalite, a tick every second). The scenarios run in order on
 * one devnet; each asserts that the devnet hub recorded no double-sign and that the validator signs
 * again, and measures the blocks it missed.
 */
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFailover } from '../../commander/app/failover.js';
import { requestSwitchover } from '../../commander/app/failover-ops.js';
import type { FailoverState } from '../../commander/failover/index.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { RecordingTransport } from '../commander/helpers.js';
import {
  daemonPid,
  freePortBase,
  killDaemon,
  type PilotSetup,
  pilotConfigFor,
  seedLease,
} from '../pilot/harness.js';
import { waitFor } from '../helpers/wait.js';

process.env.BEAM_LOG_LEVEL ??= 'error';
const TOKEN = 'e2e-enrollment-token-0123456789';
const ACTOR = { kind: 'console' as const, id: 'e2e' };
const silent = pino({ level: process.env.PILOT_TEST_LOG ?? 'silent' });
const BLOCK_MS = 300;

/**
 * Fast failover timings for a 300 ms pilot report loop on one machine (no real clock skew). The
 * pilots' worst-case fencing (a hung daemon: 3 guard checks × (250 ms + 3 s RPC timeout) + 1 s stop
 * timeout − 200 ms fence margin ≈ 10.6 s) sets pilotFenceDelayMs, and with it the grace period.
 */
const FAILOVER = {
  keyMode: 'file' as const,
  reportIntervalMs: 500,
  leaseDurationMs: 3_000,
  renewMarginMs: 2_000,
  silentAfterMs: 1_500,
  chainHaltAfterMs: 1_500,
  startupGraceMs: 6_000,
  pilotFenceDelayMs: 13_000,
  maxClockSkewMs: 500,
  graceMs: 14_000,
  missedCommitsForFailover: 3,
  mode: 'auto' as const,
};

/** Forwards a pilot's requests to the commander, unless cut off (a partition between them only). */
class Link {
  blocked = false;
  private server: Server | null = null;
  url = '';
  constructor(private readonly target: () => string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (this.blocked) {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        try {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
          const reply = await fetch(`${this.target()}${req.url}`, {
            method: req.method ?? 'POST',
            headers,
            body: chunks.length ? Buffer.concat(chunks) : null,
          });
          const body = Buffer.from(await reply.arrayBuffer());
          if (this.blocked) {
            req.socket.destroy();
            return;
          }
          res.writeHead(reply.status, {
            'content-type': reply.headers.get('content-type') ?? 'application/json',
          });
          res.end(body);
        } catch {
          req.socket.destroy();
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * Unplanned failover bound: silence, the rest of the lease, grace, and a daemon start on a loaded
 * machine, in blocks. The figures themselves are the benchmark's.
 */
const MAX_MISSED = Math.ceil(
  (FAILOVER.silentAfterMs + FAILOVER.leaseDurationMs + FAILOVER.graceMs + 10_000) / BLOCK_MS,
);

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let address: string;
const chat = new RecordingTransport('console');
const setups = new Map<string, PilotSetup>();
const pilots = new Map<string, Pilot>();
const links = new Map<string, Link>();

/** The self-hosted commander; its table lives in `dir/commander`, so a restart keeps every item. */
function startCommander(): Promise<RunningCommander> {
  return serve(
    ServeConfig.parse({
      listen: '127.0.0.1:0',
      stateDir: path.join(dir, 'commander'),
      tick: '* * * * * *',
      settings: {
        enrollmentToken: TOKEN,
        reportIntervalMs: 500,
        autoApprove: { roles: ['validator', 'sentry'], requireInstanceId: false },
        chat: [{ platform: 'console', chat: 'ops' }],
        failover: FAILOVER,
      },
    }),
    { transports: { console: chat } },
  );
}

async function startPilot(name: string): Promise<Pilot> {
  const pilot = await Pilot.create(setups.get(name)!.config, silent);
  pilots.set(name, pilot);
  await pilot.start();
  return pilot;
}

async function state(): Promise<FailoverState> {
  const key = { chainId: devnet.info.chainId, validator: address };
  return (await loadFailover(commander.deps.store, key)).state;
}

/** Whether the validator's signature is in the canonical commit of height `h`. */
function signedAt(h: number): boolean {
  const commit = devnet.hub.chain.block(h + 1)?.lastCommit;
  return commit?.signatures.some((s) => s?.validatorAddress === address) ?? false;
}

const height = () => devnet.hub.chain.height();

/** The latest height the validator signed, at or below `h`. */
function lastSignedAtOrBelow(h: number): number {
  for (let x = h; x > 0; x--) if (signedAt(x)) return x;
  return 0;
}

/** Heights above `from` whose canonical commit holds `node`'s signature for the validator, lowest first. */
function signedBy(node: string, from: number): number[] {
  const heights = devnet.hub
    .signatures({ address, fromHeight: from + 1 })
    .filter((r) => r.node === node && r.delivered && signedAt(r.height))
    .map((r) => r.height);
  return [...new Set(heights)].sort((a, b) => a - b);
}

/**
 * Waits until `node` signs for the validator above height `from`, in canonical commits; returns the
 * blocks missed between the last signature at or before `from` and that first new one.
 */
function signingAgain(node: string, from: number, timeoutMs = 30_000): Promise<number> {
  return diagnosed(async () => {
    const first = await waitFor(() => signedBy(node, from)[0], `${node} signing again above ${from}`, {
      timeoutMs,
    });
    // It keeps signing: three more of its signatures in canonical commits (a loaded machine may make
    // its daemon miss a block now and then, so no count of consecutive blocks is asked for).
    await waitFor(
      () => signedBy(node, first).length >= 3,
      `${node} signing three more blocks after ${first}`,
    );
    return first - lastSignedAtOrBelow(from) - 1;
  });
}

/** On failure, prints what the commander and the pilots saw, for the CI log. */
async function diagnosed<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const s = await state().catch(() => null);
    const audit = await commander.deps.store.listAudit(40).catch(() => []);
    console.log(
      JSON.stringify(
        {
          height: height(),
          lease: s?.lease,
          op: s?.op,
          outbox: s?.outbox,
          alerts: s?.alerts,
          nodes: Object.values(s?.nodes ?? {}).map((n) => ({ ...n, commits: n.commits.slice(-4) })),
          audit: audit.map((a) => `${new Date(a.at).toISOString()} ${a.action} ${a.detail}`).reverse(),
        },
        null,
        1,
      ),
    );
    throw error;
  }
}

function noDoubleSign(): void {
  expect(devnet.hub.evidence).toEqual([]);
}

const lastReport = async (node: string) => (await commander.deps.store.getNode(node))?.value.lastReport;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-failover-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: BLOCK_MS,
    standby: 1,
    sentries: 0,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
    // Failovers miss blocks: a long window keeps the validator from being jailed during the test.
    params: { slashing: { signedBlocksWindow: 5_000 } },
  });
  address = devnet.info.validators[0]!.consensusAddress;
  commander = await startCommander();
  const tokenFile = path.join(dir, 'enrollment-token');
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  for (const name of ['val-a', 'val-b']) {
    const link = new Link(() => commander.url);
    await link.start();
    links.set(name, link);
    const setup = await pilotConfigFor(devnet.info, name, dir, {
      commanderUrl: link.url,
      extra: {
        commander: { enrollment_token_file: tokenFile, request_timeout_ms: 1_000 },
        daemon: { stop_timeout_ms: 1_000 },
      },
    });
    setups.set(name, setup);
  }
  // val-a held the key before Beam: its pilot remembers a lease, so it boots signing.
  await seedLease(setups.get('val-a')!.stateDir, 1, 20_000);
  await startPilot('val-a');
  await startPilot('val-b');
}, 60_000);

afterAll(async () => {
  for (const p of pilots.values()) await p.close();
  for (const s of setups.values()) {
    try {
      process.kill(await daemonPid(s.stateDir), 'SIGCONT');
    } catch {
      // not running
    }
    await killDaemon(s.stateDir);
  }
  for (const l of links.values()) await l.stop();
  await commander?.close();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('validator failover on the devnet', () => {
  it('adopts the signing node as the lease holder', async () => {
    const s = await waitFor(async () => {
      const st = await state().catch(() => null);
      return st?.lease.holder === 'val-a' && st.nodes['val-b'] ? st : null;
    }, 'val-a adopted as holder');
    expect(s.lease.epoch).toBe(2);
    await signingAgain('val-a', height());
    noDoubleSign();
  }, 60_000);

  it('planned switchover moves signing to the standby within a few blocks', async () => {
    await waitFor(async () => (await lastReport('val-b'))?.daemon.rpcReachable, 'val-b up');
    const from = height();
    const started = await requestSwitchover(commander.deps, { actor: ACTOR });
    expect(started).toMatchObject({ accepted: true });
    const missed = await signingAgain('val-b', from);
    console.log(`switchover: ${missed} missed blocks at ${BLOCK_MS} ms per block`);
    // The aim is ≤ 2 at production block times; here a block is shorter than a daemon restart, so
    // the figure is the benchmark's. What the test holds to: the promote followed the demote's result
    // at once, never waiting out the lease.
    expect(missed).toBeLessThanOrEqual(MAX_MISSED);
    const s = await waitFor(async () => ((await state()).op?.phase === 'done' ? state() : null), 'done');
    expect(s.lease.holder).toBe('val-b');
    expect(s.op).toMatchObject({ kind: 'switchover', from: 'val-a', to: 'val-b', phase: 'done' });
    // Without the demote's result the lease could move only at expiry + grace, past this.
    expect(s.op?.demoteResult).toBe('ok');
    expect(s.op!.phaseAt.promoting! - s.op!.phaseAt.demoting!).toBeLessThan(FAILOVER.graceMs);
    // The old primary stays a full node without the key.
    await waitFor(async () => {
      const r = await lastReport('val-a');
      return r?.custody?.holdsValidatorKey === false && r.daemon.running;
    }, 'val-a a full node');
    expect(chat.updates.map((u) => u.message.title)).toContain('Switchover done: val-b is signing');
    noDoubleSign();
  }, 60_000);

  it('a primary cut off from the commander only keeps signing: no failover', async () => {
    const before = await state();
    links.get('val-b')!.blocked = true;
    try {
      const from = height();
      await diagnosed(() =>
        waitFor(
          async () => (await state()).alerts.some((k) => k.endsWith(':signing-unreachable')),
          'the signing-unreachable warning',
        ),
      );
      // Past the point where the lease could move without a demote (expiry + grace), with margin:
      // the chain shows val-b signing all along, so nothing moves.
      const expiresAt = (await state()).lease.expiresAt;
      await waitFor(() => Date.now() > expiresAt + FAILOVER.graceMs + 2_000, 'lease expiry + grace to pass');
      const s = await state();
      expect(s.lease).toMatchObject({ holder: 'val-b', epoch: before.lease.epoch });
      expect(s.op?.id).toBe(before.op?.id);
      expect(s.alerts.some((k) => k.endsWith(':signing-unreachable'))).toBe(true);
      const to = height();
      const signed = Array.from({ length: to - from - 1 }, (_, i) => signedAt(from + 1 + i));
      // Signing all along: a loaded machine may make the daemon miss a block now and then, not a tenth.
      expect(signed.filter((x) => !x).length).toBeLessThanOrEqual(
        Math.max(1, Math.floor(signed.length / 10)),
      );
    } finally {
      links.get('val-b')!.blocked = false;
    }
    await waitFor(
      async () => !(await state()).alerts.some((k) => k.endsWith(':signing-unreachable')),
      'alert resolved',
    );
    const s = await state();
    expect(s.lease.holder).toBe('val-b');
    noDoubleSign();
  }, 60_000);

  it('fails over when the primary daemon hangs (SIGSTOP)', async () => {
    const pid = await daemonPid(setups.get('val-b')!.stateDir);
    const from = height();
    process.kill(pid, 'SIGSTOP');
    try {
      const missed = await signingAgain('val-a', from);
      console.log(`failover after a hung daemon: ${missed} missed blocks`);
      expect(missed).toBeLessThanOrEqual(MAX_MISSED);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // the pilot killed it while demoting or fencing
      }
    }
    const s = await state();
    expect(s.lease.holder).toBe('val-a');
    expect(s.op).toMatchObject({ kind: 'failover', from: 'val-b', to: 'val-a' });
    await waitFor(async () => {
      const r = await lastReport('val-b');
      return r?.custody?.holdsValidatorKey === false;
    }, 'val-b demoted');
    noDoubleSign();
  }, 60_000);

  it('fails over when the primary is partitioned from the network', async () => {
    await waitFor(async () => {
      const r = await lastReport('val-b');
      return r?.daemon.rpcReachable && r.daemon.running && !r.daemon.catchingUp;
    }, 'val-b back as a standby');
    const from = height();
    devnet.hub.partition('val-a');
    try {
      const missed = await signingAgain('val-b', from);
      console.log(`failover after a network partition: ${missed} missed blocks`);
    } finally {
      devnet.hub.heal('val-a');
    }
    expect((await state()).lease.holder).toBe('val-b');
    await waitFor(
      async () => (await lastReport('val-a'))?.custody?.holdsValidatorKey === false,
      'val-a demoted',
    );
    noDoubleSign();
  }, 60_000);

  it('a hung primary cut off from the commander is fenced by its own pilot before the lease moves', async () => {
    await waitFor(async () => {
      const r = await lastReport('val-a');
      return r?.daemon.rpcReachable && r.daemon.running && r.custody?.holdsValidatorKey === false;
    }, 'val-a back as a standby');
    const pid = await daemonPid(setups.get('val-b')!.stateDir);
    const from = height();
    // Nothing can reach val-b's daemon now but its own pilot: only self-fencing stops it.
    links.get('val-b')!.blocked = true;
    process.kill(pid, 'SIGSTOP');
    try {
      const missed = await signingAgain('val-a', from);
      console.log(`failover after a hung daemon cut off from the commander: ${missed} missed blocks`);
      expect(missed).toBeLessThanOrEqual(MAX_MISSED);
      // The hang ends: had its pilot not killed it, val-b would now sign the same heights as val-a.
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // fenced already
      }
      const now = height();
      await waitFor(() => height() >= now + 6, 'six more blocks');
      noDoubleSign();
    } finally {
      links.get('val-b')!.blocked = false;
    }
    await waitFor(
      async () => (await lastReport('val-b'))?.custody?.fenced === true,
      'val-b reporting it fenced',
    );
    await waitFor(
      async () => (await lastReport('val-b'))?.custody?.holdsValidatorKey === false,
      'val-b demoted',
    );
    expect((await state()).lease.holder).toBe('val-a');
    noDoubleSign();
  }, 90_000);

  it('fails over after the primary machine dies (daemon and pilot killed) across a commander restart, and the old primary returns demoted', async () => {
    await waitFor(async () => {
      const r = await lastReport('val-b');
      return r?.daemon.rpcReachable && r.daemon.running && r.custody?.holdsValidatorKey === false;
    }, 'val-b back as a standby');
    const from = height();
    const started = Date.now();
    await pilots.get('val-a')!.close();
    await killDaemon(setups.get('val-a')!.stateDir);
    // The commander goes down in the middle of the failover and comes back: the operation resumes
    // from the stored state.
    await waitFor(
      async () => (await state()).op?.phase === 'fencing-wait',
      'the failover waiting for fencing',
    );
    await commander.close();
    commander = await startCommander();
    const missed = await signingAgain('val-b', from);
    const seconds = (Date.now() - started) / 1000;
    console.log(`failover after kill -9: ${missed} missed blocks, ${seconds.toFixed(1)} s`);
    expect(missed).toBeLessThanOrEqual(MAX_MISSED);
    expect((await state()).lease.holder).toBe('val-b');
    noDoubleSign();

    // The old primary's machine comes back: its pilot boots without a valid lease.
    await startPilot('val-a');
    await waitFor(async () => {
      const r = await lastReport('val-a');
      return r?.daemon.running && r.daemon.rpcReachable && r.custody?.holdsValidatorKey === false;
    }, 'val-a back as a full node');
    const after = height();
    await waitFor(() => height() >= after + 10, 'ten more blocks');
    const s = await state();
    expect(s.lease.holder).toBe('val-b');
    expect(s.nodes['val-a']?.custody?.holdsValidatorKey).toBe(false);
    expect(
      devnet.hub
        .signatures({ address, fromHeight: from })
        .some((r) => r.node === 'val-a' && r.height > after),
    ).toBe(false);
    noDoubleSign();
  }, 90_000);
});
