import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { Pilot } from '../../pilot/agent.js';
import { parseConfig } from '../../pilot/config.js';
import { doctor } from '../../pilot/doctor.js';
import { expectServes } from '../ops/refs.js';
import { waitFor } from '../helpers/wait.js';
import {
  daemonPid,
  FakeCommander,
  freePortBase,
  killDaemon,
  type PilotSetup,
  pilotConfigFor,
  seedLease,
} from './harness.js';

let dir: string;
let devnet: Devnet;
const commander = new FakeCommander();
let setup: PilotSetup;
let pilot: Pilot;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-facts-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: 300,
    startNodes: false,
    portBase: await freePortBase(),
    reset: true,
  });
  await commander.start();
  setup = await pilotConfigFor(devnet.info, 'val-a', dir, {
    commanderUrl: commander.url,
    extra: { limits: { max_delegate_per_action: '1000000', max_delegate_per_day: '1500000' } },
  });
  const token = path.join(setup.stateDir, 'token');
  await fs.writeFile(token, 'enrollment-token-0123456789', { mode: 0o600 });
  setup.config.commander!.enrollment_token_file = token;
  // The validator holds the lease (epoch 1) from before this pilot start; the commander keeps renewing it.
  await seedLease(setup.stateDir, 1, 30_000);
  Object.assign(commander.script('val-a'), {
    lease: { epoch: 1, holder: true, expiresAt: 0 },
    leaseMs: 30_000,
  });
  pilot = await Pilot.create(setup.config, (await import('pino')).pino({ level: 'silent' }));
  await pilot.start();
});

afterAll(async () => {
  await pilot?.close();
  if (setup) await killDaemon(setup.stateDir);
  await commander.stop();
  await devnet?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('pilot on a devnet validator (process mode)', () => {
  it('enrolls, then reports correct signed facts', async () => {
    const v = devnet.info.validators[0]!;
    const report = await waitFor(
      () => {
        const r = commander.last('val-a');
        return r?.chain?.recentCommits.some((c) => c.signed) && r.chain.validator && r.chain.grants
          ? r
          : null;
      },
      'a report showing the validator signing',
      { timeoutMs: 30_000 },
    );
    expect(commander.enrollments).toBe(2); // pending once, then approved
    expect(commander.rejected).toEqual([]);
    expect(report.daemon).toMatchObject({
      running: true,
      desired: 'running',
      rpcReachable: true,
      catchingUp: false,
    });
    expect(report.daemon.height).toBeGreaterThan(0);
    expect(report.daemon.consensusAddress).toBe(v.consensusAddress);
    expect(report.daemon.cometNodeId).toBe(devnet.info.nodes[0]!.cometNodeId);
    expect(report.chain!.validatorAddress).toBe(v.consensusAddress);
    expect(report.chain!.validator).toMatchObject({ jailed: false, status: 'bonded' });
    expect(report.chain!.networkSignedShare).toBeGreaterThan(0);
    expect(report.chain!.balances.some((b) => b.denom === devnet.info.denom)).toBe(true);
    expect(report.chain!.grants!.map((g) => g.msgTypeUrl)).toContain('/cosmos.gov.v1.MsgVote');
    expect(report.chain!.signingInfo?.tombstoned).toBe(false);
    expect(report.custody).toMatchObject({ holdsValidatorKey: true, fenced: false });
    expect(report.host.diskTotalBytes).toBeGreaterThan(0);
    const seqs = commander.reports.get('val-a')!.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('restarts a crashed daemon', async () => {
    const before = await daemonPid(setup.stateDir);
    process.kill(before, 'SIGKILL');
    // A report counting the restart and reaching the RPC comes from after the new daemon is up.
    const after = await waitFor(
      async () => {
        const pid = await daemonPid(setup.stateDir);
        const d = commander.last('val-a')?.daemon;
        return pid !== before && (d?.restarts ?? 0) >= 1 && d?.rpcReachable ? pid : null;
      },
      'a restarted daemon answering its RPC',
      { timeoutMs: 20_000 },
    );
    expect(after).not.toBe(before);
  });

  it('applies a config change touching only Beam keys', async () => {
    const file = path.join(devnet.info.nodes[0]!.home, 'config', 'config.toml');
    const before = (await fs.readFile(file, 'utf8')).split('\n');
    const id = devnet.info.nodes[2]!.cometNodeId;
    const peer = `${id}@${devnet.info.nodes[2]!.p2pAddress}`;
    // The devnet wrote peers of its own: Beam did not, so they stay (Beam's entry for a node replaces theirs).
    const own = /^persistent_peers = "(.*)"$/m.exec(before.join('\n'))![1]!.split(',').filter(Boolean);
    const peers = [...own.filter((e) => !e.startsWith(`${id}@`)), peer].join(',');
    commander.script('val-a').actions.push({
      id: 'cfg-1',
      issuedAt: Date.now(),
      type: 'apply-config',
      version: 'v1',
      patch: { p2p: { persistent_peers: [peer], pex: true, addr_book_strict: true } },
      restart: false,
    });
    const result = await waitFor(() => commander.resultsOf('val-a', 'cfg-1')[0], 'apply-config result');
    expect(result.ok).toBe(true);
    expect(result.message).toMatch(/dialed persistent peers/);
    const after = (await fs.readFile(file, 'utf8')).split('\n');
    const changed = after.filter((l) => !before.includes(l));
    expect(changed.sort()).toEqual(
      [`persistent_peers = "${peers}"`, 'pex = true', 'addr_book_strict = true'].sort(),
    );
    const removed = before.filter((l) => !after.includes(l));
    expect(removed.every((l) => /^(persistent_peers|pex|addr_book_strict) =/.test(l))).toBe(true);
    await waitFor(() => commander.last('val-a')?.configVersion === 'v1', 'config version reported');
  });

  it('dials peers on request and restarts for keys read only at start', async () => {
    const n = devnet.info.nodes[3]!;
    const before = await daemonPid(setup.stateDir);
    commander.script('val-a').actions.push(
      {
        id: 'dial-1',
        issuedAt: Date.now(),
        type: 'dial-peers',
        peers: [`${n.cometNodeId}@${n.p2pAddress}`],
        persistent: true,
        unconditional: false,
        private: false,
      },
      {
        id: 'cfg-2',
        issuedAt: Date.now(),
        type: 'apply-config',
        version: 'v2',
        patch: { p2p: { external_address: '198.51.100.7:26656' } },
        restart: true,
      },
    );
    expect(await waitFor(() => commander.resultsOf('val-a', 'dial-1')[0], 'dial result')).toMatchObject({
      ok: true,
      message: 'dialed 1 peer(s)',
    });
    expect((await waitFor(() => commander.resultsOf('val-a', 'cfg-2')[0], 'cfg-2 result')).ok).toBe(true);
    expect(await daemonPid(setup.stateDir)).not.toBe(before);
    const toml = await fs.readFile(path.join(devnet.info.nodes[0]!.home, 'config', 'config.toml'), 'utf8');
    expect(toml).toMatch(/^external_address = "198\.51\.100\.7:26656"$/m);
    await waitFor(
      () => commander.last('val-a')?.daemon.rpcReachable && commander.last('val-a')?.configVersion === 'v2',
      'daemon back at v2',
    );
  });

  it('sees a flood of real inbound connections in the report and /metrics', async () => {
    const [host, port] = devnet.info.nodes[0]!.p2pAddress.split(':') as [string, string];
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const s = net.connect({ host, port: Number(port), localAddress: '127.0.0.1' });
        s.on('error', () => undefined);
        sockets.push(s);
      }
      const r = await waitFor(() => {
        const last = commander.last('val-a');
        return last?.sockets?.flooded ? last : null;
      }, 'a flooded report');
      expect(r.sockets!.inboundTotal).toBeGreaterThanOrEqual(40);
      expect(r.sockets!.distinctRemotes).toBeGreaterThanOrEqual(1);
      const metrics = await (await request(`${pilot.url}/metrics`)).body.text();
      // Every series carries the node's chain, name and role.
      expect(metrics).toMatch(/^beam_pilot_flooded\{chain="[^"]+",node="val-a",role="validator"\} 1$/m);
      expect(metrics).toMatch(/^beam_pilot_inbound_connections\{[^}]*state="ESTABLISHED"[^}]*\} \d+/m);
      expect(metrics).toMatch(/^beam_pilot_height\{[^}]*\} \d+/m);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await waitFor(() => commander.last('val-a')?.sockets?.flooded === false, 'flood gone');
    const status = (await (await request(`${pilot.url}/status`)).body.json()) as { node: string };
    expect(status.node).toBe('val-a');
    expect((await request(`${pilot.url}/healthz`)).statusCode).toBe(200);
  });

  it('serves every metric the shipped dashboard and alert rules use, with its labels', async () => {
    await waitFor(() => commander.last('val-a')?.chain?.signingInfo, 'a report with signing info');
    const text = await (await request(`${pilot.url}/metrics`)).body.text();
    // A metric nobody fed yet (the signer histogram: this pilot runs in file mode) shows no series:
    // its declared labels stand in, with the registry's default ones.
    const declared = (family: string) => [
      ...((pilot.metrics.registry.getSingleMetric(family) as unknown as { labelNames?: string[] })
        ?.labelNames ?? []),
      'chain',
      'node',
      'role',
    ];
    expect(expectServes('pilot', text, declared).length).toBeGreaterThan(10);
    expect(text).toMatch(/^process_cpu_seconds_total\{[^}]*node="val-a"[^}]*\} /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{/m);
  });

  it('refuses a node of another chain, at start and in doctor, naming both chain ids', async () => {
    const chainId = devnet.info.chainId;
    const stateDir = await fs.mkdtemp(path.join(dir, 'other-chain-'));
    const file = path.join(stateDir, 'pilot.toml');
    const text = (await fs.readFile(setup.file, 'utf8'))
      .replace(`chain_id = "${chainId}"`, 'chain_id = "other-chain-1"')
      .replace(/^state_dir = .*$/m, `state_dir = ${JSON.stringify(stateDir)}`)
      .replace(/^listen = .*$/m, 'listen = "127.0.0.1:0"');
    await fs.writeFile(file, text, { mode: 0o600 });
    const other = await Pilot.create(
      parseConfig(text, file),
      (await import('pino')).pino({ level: 'silent' }),
    );
    const refusal = new RegExp(`runs chain "${chainId}".*not node\\.chain_id "other-chain-1"`);
    await expect(other.start()).rejects.toThrow(refusal);
    await other.close();
    expect((await doctor(file)).some((line) => refusal.test(line))).toBe(true);
  });

  it('votes, delegates within the caps and withdraws through authz MsgExec with the hot key', async () => {
    const denom = devnet.info.denom;
    const proposalId = String(
      devnet.hub.chain.submitProposal({
        title: 'Raise the block size',
        summary: 'test',
        proposer: devnet.info.accounts.find((a) => a.name === 'faucet')!.address,
        nowMs: Date.now(),
      }),
    );
    const listed = await waitFor(
      () => commander.last('val-a')?.chain?.proposals.find((p) => p.id === proposalId),
      'the proposal in a report',
    );
    expect(listed).toMatchObject({ status: 'voting', title: 'Raise the block size', ourVote: null });
    const now = Date.now();
    commander
      .script('val-a')
      .actions.push(
        { id: 'vote-1', issuedAt: now, type: 'vote', proposalId, option: 'yes' },
        { id: 'bond-1', issuedAt: now, type: 'delegate', amount: { denom, amount: '1000000' } },
        { id: 'bond-2', issuedAt: now, type: 'delegate', amount: { denom, amount: '1000000' } },
        { id: 'withdraw-1', issuedAt: now, type: 'withdraw-rewards', commission: true },
      );
    const result = (id: string) => waitFor(() => commander.resultsOf('val-a', id)[0], `${id} result`);
    const vote = await result('vote-1');
    expect(vote, vote.message).toMatchObject({ ok: true });
    expect(vote.txHash).toMatch(/^[0-9A-F]{64}$/);
    expect(await result('bond-1')).toMatchObject({ ok: true });
    expect((await result('bond-2')).message).toMatch(/^refused: .*max_delegate_per_day 1500000/);
    expect(await result('withdraw-1')).toMatchObject({ ok: true });
    await waitFor(
      () => commander.last('val-a')?.chain?.proposals.find((p) => p.id === proposalId)?.ourVote === 'yes',
      'our vote on chain',
    );
  }, 45_000);

  it('closes only once the report in flight has its reply, leaving nothing half-done', async () => {
    let release!: () => void;
    commander.holdReplies = new Promise<void>((r) => {
      release = r;
    });
    const held = commander.held;
    await waitFor(() => commander.held > held, 'a report waiting for its reply');
    let closed = false;
    const closing = pilot.close().then(() => {
      closed = true;
    });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();
    commander.holdReplies = null;
    await closing;
    expect(closed).toBe(true);
  });
});
