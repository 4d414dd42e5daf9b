/**
 * Failover end to end in file mode (the key file moves into the daemon home on promote): a devnet
 * validator with two nodes sharing its key (val-a, val-b), a pilot per
 * node (in process, each behind a loopback proxy that can cut it off from the commander), and the
 * real self-hosted commander (embedded dynalite, a tick every second). The scenarios run in order on
 * one devnet; each asserts that the devnet hub recorded no double-sign and that the validator signs
 * again, and measures the blocks it missed.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSwitchover } from '../../commander/app/failover-ops.js';
import type { RunningCommander } from '../../commander/server/serve.js';
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
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { FailoverProbe, Link, serveCommander } from './failover-kit.js';

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

/**
 * Unplanned failover bound: silence, the rest of the lease, grace, and a daemon start on a loaded
 * machine, in blocks. The figures themselves are the benchmark's.
 */
const MAX_MISSED = Math.ceil(
  (FAILOVER.silentAfterMs + FAILOVER.leaseDurationMs + FAILOVER.graceMs + 10_000) / BLOCK_MS,
);

/**
 * How long an unplanned file-mode failover may take to show the new signer on a loaded machine:
 * silence, lease, grace, fencing, then a daemon start through double_sign_check_height.
 */
const UNPLANNED_TIMEOUT_MS = 60_000;

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let address: string;
let probe: FailoverProbe;
const chat = new RecordingTransport('console');
const setups = new Map<string, PilotSetup>();
const pilots = new Map<string, Pilot>();
const links = new Map<string, Link>();

/** The self-hosted commander; its table lives in `dir/commander`, so a restart keeps every item. */
const startCommander = () => serveCommander(dir, TOKEN, FAILOVER, chat);

async function startPilot(name: string): Promise<Pilot> {
  const pilot = await Pilot.create(setups.get(name)!.config, silent);
  pilots.set(name, pilot);
  await pilot.start();
  return pilot;
}

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
  probe = new FailoverProbe(devnet, address, () => commander);
  commander = await startCommander();
  const tokenFile = path.join(dir, 'enrollment-token');
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  for (const name of ['val-a', 'val-b']) {
    const link = new Link(() => commander.url);
    await link.start();
    links.set(name, link);
    const setup = await pilotConfigFor(devnet.info, name, dir, {
      commanderUrl: link.url,
      enrollmentTokenFile: tokenFile,
      extra: {
        commander: { request_timeout_ms: 1_000 },
        daemon: { stop_timeout_ms: 1_000 },
      },
    });
    setups.set(name, setup);
  }
  // val-a held the key before Beam: its pilot remembers a lease, so it boots signing.
  await seedLease(setups.get('val-a')!.stateDir, 1, 20_000);
  await startPilot('val-a');
  await startPilot('val-b');
  await approveOnEnrollment(commander.deps, ['val-a', 'val-b']);
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
      const st = await probe.state().catch(() => null);
      return st?.lease.holder === 'val-a' && st.nodes['val-b'] ? st : null;
    }, 'val-a adopted as holder');
    expect(s.lease.epoch).toBe(2);
    await probe.signingAgain('val-a', probe.height());
    probe.noDoubleSign();
  }, 60_000);

  it('planned switchover moves signing to the standby within a few blocks', async () => {
    await waitFor(async () => (await probe.lastReport('val-b'))?.daemon.rpcReachable, 'val-b up');
    const from = probe.height();
    const started = await requestSwitchover(commander.deps, { actor: ACTOR });
    expect(started).toMatchObject({ accepted: true });
    const missed = await probe.signingAgain('val-b', from);
    console.log(`switchover: ${missed} missed blocks at ${BLOCK_MS} ms per block`);
    // The aim is ≤ 2 at production block times; here a block is shorter than a daemon restart, so
    // the figure is the benchmark's. What the test holds to: the promote followed the demote's result
    // at once, never waiting out the lease.
    expect(missed).toBeLessThanOrEqual(MAX_MISSED);
    const s = await waitFor(
      async () => ((await probe.state()).op?.phase === 'done' ? probe.state() : null),
      'done',
    );
    expect(s.lease.holder).toBe('val-b');
    expect(s.op).toMatchObject({ kind: 'switchover', from: 'val-a', to: 'val-b', phase: 'done' });
    // Without the demote's result the lease could move only at expiry + grace, past this.
    expect(s.op?.demoteResult).toBe('ok');
    expect(s.op!.phaseAt.promoting! - s.op!.phaseAt.demoting!).toBeLessThan(FAILOVER.graceMs);
    // The old primary stays a full node without the key.
    await waitFor(async () => {
      const r = await probe.lastReport('val-a');
      return r?.custody?.holdsValidatorKey === false && r.daemon.running;
    }, 'val-a a full node');
    expect(chat.updates.map((u) => u.message.title)).toContain('Switchover done: val-b is signing');
    probe.noDoubleSign();
  }, 60_000);

  it('a primary cut off from the commander only keeps signing: no failover', async () => {
    const before = await probe.state();
    links.get('val-b')!.blocked = true;
    try {
      const from = probe.height();
      await probe.diagnosed(() =>
        waitFor(
          async () => (await probe.state()).alerts.some((k) => k.endsWith(':signing-unreachable')),
          'the signing-unreachable warning',
        ),
      );
      // Past the point where the lease could move without a demote (expiry + grace), with margin:
      // the chain shows val-b signing all along, so nothing moves.
      const expiresAt = (await probe.state()).lease.expiresAt;
      await waitFor(() => Date.now() > expiresAt + FAILOVER.graceMs + 2_000, 'lease expiry + grace to pass');
      const s = await probe.state();
      expect(s.lease).toMatchObject({ holder: 'val-b', epoch: before.lease.epoch });
      expect(s.op?.id).toBe(before.op?.id);
      expect(s.alerts.some((k) => k.endsWith(':signing-unreachable'))).toBe(true);
      const to = probe.height();
      const signed = Array.from({ length: to - from - 1 }, (_, i) => probe.signedAt(from + 1 + i));
      // Signing all along: a loaded machine may make the daemon miss a block now and then, not a tenth.
      expect(signed.filter((x) => !x).length).toBeLessThanOrEqual(
        Math.max(1, Math.floor(signed.length / 10)),
      );
    } finally {
      links.get('val-b')!.blocked = false;
    }
    await waitFor(
      async () => !(await probe.state()).alerts.some((k) => k.endsWith(':signing-unreachable')),
      'alert resolved',
    );
    const s = await probe.state();
    expect(s.lease.holder).toBe('val-b');
    probe.noDoubleSign();
  }, 60_000);

  it('fails over when the primary daemon hangs (SIGSTOP)', async () => {
    const pid = await daemonPid(setups.get('val-b')!.stateDir);
    const from = probe.height();
    process.kill(pid, 'SIGSTOP');
    try {
      const missed = await probe.signingAgain('val-a', from);
      console.log(`failover after a hung daemon: ${missed} missed blocks`);
      expect(missed).toBeLessThanOrEqual(MAX_MISSED);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // the pilot killed it while demoting or fencing
      }
    }
    const s = await probe.state();
    expect(s.lease.holder).toBe('val-a');
    expect(s.op).toMatchObject({ kind: 'failover', from: 'val-b', to: 'val-a' });
    await waitFor(async () => {
      const r = await probe.lastReport('val-b');
      return r?.custody?.holdsValidatorKey === false;
    }, 'val-b demoted');
    probe.noDoubleSign();
  }, 60_000);

  it('fails over when the primary is partitioned from the network', async () => {
    await waitFor(async () => {
      const r = await probe.lastReport('val-b');
      return r?.daemon.rpcReachable && r.daemon.running && !r.daemon.catchingUp;
    }, 'val-b back as a standby');
    const from = probe.height();
    devnet.hub.partition('val-a');
    try {
      const missed = await probe.signingAgain('val-b', from);
      console.log(`failover after a network partition: ${missed} missed blocks`);
    } finally {
      devnet.hub.heal('val-a');
    }
    expect((await probe.state()).lease.holder).toBe('val-b');
    await waitFor(
      async () => (await probe.lastReport('val-a'))?.custody?.holdsValidatorKey === false,
      'val-a demoted',
    );
    probe.noDoubleSign();
  }, 60_000);

  it('a hung primary cut off from the commander is fenced by its own pilot before the lease moves', async () => {
    await waitFor(async () => {
      const r = await probe.lastReport('val-a');
      return r?.daemon.rpcReachable && r.daemon.running && r.custody?.holdsValidatorKey === false;
    }, 'val-a back as a standby');
    const pid = await daemonPid(setups.get('val-b')!.stateDir);
    const from = probe.height();
    // Nothing can reach val-b's daemon now but its own pilot: only self-fencing stops it.
    links.get('val-b')!.blocked = true;
    process.kill(pid, 'SIGSTOP');
    try {
      const missed = await probe.signingAgain('val-a', from, UNPLANNED_TIMEOUT_MS);
      console.log(`failover after a hung daemon cut off from the commander: ${missed} missed blocks`);
      expect(missed).toBeLessThanOrEqual(MAX_MISSED);
      // The hang ends: had its pilot not killed it, val-b would now sign the same heights as val-a.
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // fenced already
      }
      const now = probe.height();
      await waitFor(() => probe.height() >= now + 6, 'six more blocks');
      probe.noDoubleSign();
    } finally {
      links.get('val-b')!.blocked = false;
    }
    await waitFor(
      async () => (await probe.lastReport('val-b'))?.custody?.fenced === true,
      'val-b reporting it fenced',
    );
    await waitFor(
      async () => (await probe.lastReport('val-b'))?.custody?.holdsValidatorKey === false,
      'val-b demoted',
    );
    expect((await probe.state()).lease.holder).toBe('val-a');
    probe.noDoubleSign();
  }, 150_000);

  it('fails over after the primary machine dies (daemon and pilot killed) across a commander restart, and the old primary returns demoted', async () => {
    await waitFor(async () => {
      const r = await probe.lastReport('val-b');
      return r?.daemon.rpcReachable && r.daemon.running && r.custody?.holdsValidatorKey === false;
    }, 'val-b back as a standby');
    const from = probe.height();
    const started = Date.now();
    await pilots.get('val-a')!.close();
    await killDaemon(setups.get('val-a')!.stateDir);
    // The commander goes down in the middle of the failover and comes back: the operation resumes
    // from the stored state.
    await waitFor(
      async () => (await probe.state()).op?.phase === 'fencing-wait',
      'the failover waiting for fencing',
    );
    await commander.close();
    commander = await startCommander();
    const missed = await probe.signingAgain('val-b', from, UNPLANNED_TIMEOUT_MS);
    const seconds = (Date.now() - started) / 1000;
    console.log(`failover after kill -9: ${missed} missed blocks, ${seconds.toFixed(1)} s`);
    expect(missed).toBeLessThanOrEqual(MAX_MISSED);
    expect((await probe.state()).lease.holder).toBe('val-b');
    probe.noDoubleSign();

    // The old primary's machine comes back: its pilot boots without a valid lease.
    await startPilot('val-a');
    await waitFor(async () => {
      const r = await probe.lastReport('val-a');
      return r?.daemon.running && r.daemon.rpcReachable && r.custody?.holdsValidatorKey === false;
    }, 'val-a back as a full node');
    const after = probe.height();
    await waitFor(() => probe.height() >= after + 10, 'ten more blocks');
    const s = await probe.state();
    expect(s.lease.holder).toBe('val-b');
    expect(s.nodes['val-a']?.custody?.holdsValidatorKey).toBe(false);
    expect(
      devnet.hub
        .signatures({ address, fromHeight: from })
        .some((r) => r.node === 'val-a' && r.height > after),
    ).toBe(false);
    probe.noDoubleSign();
  }, 150_000);
});
