/**
 * Failover end to end in signer mode: each validator node's pilot is its daemon's remote signer
 * (privval over a unix socket), both daemons run all the time, and a failover moves the signature,
 * never the key. The devnet's validator nodes hold no key; pilots run as real processes (so they can
 * be stopped, killed and resumed), each behind a loopback link that can cut it off from the real
 * self-hosted commander. The scenarios run in order on one devnet; each asserts that the hub
 * recorded no double-sign evidence (conflicting votes, or a second signer of one height) and that the
 * validator signs again.
 */
import { existsSync, watch } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFailover, requestSwitchover } from '../../commander/app/failover-ops.js';
import type { RunningCommander } from '../../commander/server/serve.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { PilotProcess } from '../../local/pilot-process.js';
import { RecordingTransport } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase, type PilotSetup, pilotConfigFor } from '../pilot/harness.js';
import { FailoverProbe, Link, SIGNER_FAILOVER, serveCommander } from './failover-kit.js';

const TOKEN = 'e2e-signer-enrollment-token-0123';
const ACTOR = { kind: 'console' as const, id: 'e2e' };
const BLOCK_MS = 300;

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let probe: FailoverProbe;
const chat = new RecordingTransport('console');
const setups = new Map<string, PilotSetup>();
const pilots = new Map<string, PilotProcess>();
const links = new Map<string, Link>();

const startCommander = () => serveCommander(dir, TOKEN, SIGNER_FAILOVER, chat);

const pilot = (name: string) => pilots.get(name)!;
const signal = (pid: number | undefined, sig: NodeJS.Signals) => {
  if (pid !== undefined) process.kill(pid, sig);
};

/** A validator node back as a standby: daemon up and answering, its signer connected, not signing. */
function standby(name: string): Promise<unknown> {
  return waitFor(async () => {
    const r = await probe.lastReport(name);
    return (
      r?.daemon.running &&
      r.daemon.rpcReachable &&
      r.custody?.signerConnected === true &&
      r.custody.holdsValidatorKey === false
    );
  }, `${name} back as a standby`);
}

/** The hub's signature records of `node` for the validator above `from`. */
const recordsOf = (node: string, from: number) =>
  devnet.hub.signatures({ address: probe.address, fromHeight: from + 1 }).filter((r) => r.node === node);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-signer-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: BLOCK_MS,
    standby: 1,
    sentries: 0,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
    keyMode: 'signer',
    // Failovers miss blocks: a long window keeps the validator from being jailed during the test.
    params: { slashing: { signedBlocksWindow: 5_000 } },
  });
  probe = new FailoverProbe(devnet, devnet.info.validators[0]!.consensusAddress, () => commander);
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
      extra: { commander: { request_timeout_ms: 1_000 } },
    });
    expect(setup.config.validator).toMatchObject({ key_mode: 'signer' });
    setups.set(name, setup);
    const process = new PilotProcess(
      name,
      setup.file,
      setup.stateDir,
      path.join(dir, `pilot-${name}.log`),
      setup.config.upgrade.install_dir,
    );
    pilots.set(name, process);
    process.start();
  }
  await approveOnEnrollment(commander.deps, ['val-a', 'val-b']);
}, 60_000);

afterAll(async () => {
  for (const p of pilots.values()) {
    signal(p.pid, 'SIGCONT');
    await p.stop(2_000);
  }
  for (const l of links.values()) await l.stop();
  await commander?.close();
  await devnet?.stop();
  if (!process.env.KEEP_E2E_DIR) await fs.rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
});

describe('signer mode on the devnet', () => {
  it('both daemons run with no key in their homes; the first failover makes val-a the signer, and the standby is refused', async () => {
    for (const node of devnet.info.nodes) {
      expect(existsSync(path.join(node.home, 'config', 'priv_validator_key.json'))).toBe(false);
      expect(node.signerLaddr).toMatch(/^unix:\/\//);
    }
    await standby('val-a');
    await standby('val-b');
    const from = probe.height();
    // Accepted once the commander sees val-a synced and following new blocks (a daemon just started
    // may still be catching up).
    await waitFor(
      async () => (await requestFailover(commander.deps, { to: 'val-a', actor: ACTOR })).accepted,
      'the first promotion accepted',
    );
    await probe.signingAgain('val-a', from);
    // Both daemons ask for every height; only the lease holder's pilot signs.
    const later = probe.height();
    await waitFor(() => probe.height() >= later + 5, 'five more blocks');
    expect(recordsOf('val-b', from)).toEqual([]);
    const daemonLog = await fs.readFile(path.join(setups.get('val-b')!.stateDir, 'daemon.log'), 'utf8');
    expect(daemonLog).toContain('does not hold the signing lease');
    probe.noDoubleSign();
  }, 90_000);

  it('a planned switchover moves the signature within a block or two, restarting no daemon', async () => {
    const pids = [pilot('val-a').daemonPid(), pilot('val-b').daemonPid()];
    const from = probe.height();
    expect(await requestSwitchover(commander.deps, { actor: ACTOR })).toMatchObject({ accepted: true });
    const missed = await probe.signingAgain('val-b', from);
    console.log(`signer-mode switchover: ${missed} missed blocks at ${BLOCK_MS} ms per block`);
    // The demote's result goes back at once and the target reports every 500 ms during the move.
    expect(missed).toBeLessThanOrEqual(Math.ceil((2 * SIGNER_FAILOVER.reportIntervalMs) / BLOCK_MS) + 1);
    const s = await waitFor(async () => {
      const st = await probe.state();
      return st.op?.phase === 'done' ? st : null;
    }, 'the switchover done');
    expect(s.op).toMatchObject({ kind: 'switchover', from: 'val-a', to: 'val-b', demoteResult: 'ok' });
    // The new signer starts strictly above the old one's mark, reported with the demote.
    expect(s.op!.minHeight!).toBeGreaterThanOrEqual(s.op!.demotedMarkHeight!);
    expect([pilot('val-a').daemonPid(), pilot('val-b').daemonPid()]).toEqual(pids);
    await standby('val-a');
    probe.noDoubleSign();
  }, 60_000);

  it('a pilot stopped (SIGSTOP) with sign requests in flight is failed over, and refuses them when resumed', async () => {
    const stopped = pilot('val-b').pid;
    const from = probe.height();
    signal(stopped, 'SIGSTOP');
    try {
      const missed = await probe.signingAgain('val-a', from);
      console.log(`failover after a stopped signer: ${missed} missed blocks`);
      const s = await probe.state();
      expect(s.lease.holder).toBe('val-a');
      expect(s.op).toMatchObject({ kind: 'failover', from: 'val-b', to: 'val-a' });
      // No demote result came back: the floor is one above every height known after expiry + grace.
      expect(s.op?.demoteResult).not.toBe('ok');
    } finally {
      signal(stopped, 'SIGCONT');
    }
    // Resumed, val-b's pilot answers its daemon's queued requests: its lease is gone, so it refuses.
    const resumed = probe.height();
    await waitFor(() => probe.height() >= resumed + 6, 'six more blocks');
    expect(recordsOf('val-b', resumed)).toEqual([]);
    await standby('val-b');
    probe.noDoubleSign();
  }, 90_000);

  it('a hung daemon is failed over through its pilot, and never has to be killed', async () => {
    const hung = pilot('val-a').daemonPid()!;
    const from = probe.height();
    signal(hung, 'SIGSTOP');
    try {
      const missed = await probe.signingAgain('val-b', from);
      console.log(`failover after a hung daemon: ${missed} missed blocks`);
      // Its pilot demotes it, or (reports slowed by the hung RPC) the lease runs out: either way the
      // old signer stops signing without anyone stopping its daemon.
      expect((await probe.state()).op).toMatchObject({ kind: 'failover', from: 'val-a', to: 'val-b' });
    } finally {
      signal(hung, 'SIGCONT');
    }
    // The daemon resumes and asks its signer again: refused, as its pilot was demoted.
    const resumed = probe.height();
    await waitFor(() => probe.height() >= resumed + 6, 'six more blocks');
    expect(recordsOf('val-a', resumed)).toEqual([]);
    expect(pilot('val-a').daemonPid()).toBe(hung);
    await standby('val-a');
    probe.noDoubleSign();
  }, 90_000);

  it('a primary partitioned from the network is failed over', async () => {
    const from = probe.height();
    devnet.hub.partition('val-b');
    try {
      const missed = await probe.signingAgain('val-a', from);
      console.log(`failover after a network partition: ${missed} missed blocks`);
    } finally {
      devnet.hub.heal('val-b');
    }
    expect((await probe.state()).lease.holder).toBe('val-a');
    await standby('val-b');
    probe.noDoubleSign();
  }, 90_000);

  it('a pilot killed between persisting a signature and replying misses that vote, never signs it twice', async () => {
    const holder = pilot('val-a');
    const statePath = path.join(setups.get('val-a')!.stateDir);
    // The mark is renamed into place before the reply is written: kill the pilot on that rename.
    const killed = new Promise<void>((resolve) => {
      const watcher = watch(statePath, (_event, file) => {
        if (file !== 'priv_validator_state.json') return;
        watcher.close();
        signal(holder.pid, 'SIGKILL');
        resolve();
      });
    });
    await killed;
    // systemd restarts it (Restart=always): it restores its lease from disk and signs on.
    await waitFor(() => !holder.running, 'the pilot gone');
    holder.start();
    // Its silence may start a failover meanwhile: whichever node ends up holding the lease, the
    // validator signs again, and nothing is signed twice.
    const restarted = probe.height();
    await probe.diagnosed(() =>
      waitFor(
        () => {
          let signed = 0;
          for (let h = restarted + 1; h < probe.height(); h++) if (probe.signedAt(h)) signed++;
          return signed >= 3;
        },
        'the validator signing three blocks after the restart',
        { timeoutMs: 60_000 },
      ),
    );
    probe.noDoubleSign();
  }, 150_000);

  it('fails over after the primary machine dies, across a commander restart, and the old primary returns as a standby', async () => {
    const holder = (await probe.state()).lease.holder!;
    const other = holder === 'val-a' ? 'val-b' : 'val-a';
    await standby(other);
    const from = probe.height();
    const started = Date.now();
    await pilot(holder).crash();
    await waitFor(
      async () => (await probe.state()).op?.phase === 'fencing-wait',
      'the failover waiting for fencing',
    );
    await commander.close();
    commander = await startCommander();
    const missed = await probe.signingAgain(other, from);
    console.log(
      `failover after a power loss: ${missed} missed blocks, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect((await probe.state()).lease.holder).toBe(other);
    probe.noDoubleSign();

    pilot(holder).start();
    await standby(holder);
    const back = probe.height();
    await waitFor(() => probe.height() >= back + 6, 'six more blocks');
    expect(recordsOf(holder, back)).toEqual([]);
    probe.noDoubleSign();
  }, 120_000);
});
