import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from '../../protocol/index.js';
import { type AllowContext, refusal } from '../../pilot/allowlist.js';
import { type ConfigError, EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { Custody, generateCometKey, raisedSignState } from '../../pilot/custody.js';
import { countFee, feePerTx, feesOn } from '../../pilot/fees.js';
import { parseMeminfo } from '../../pilot/host.js';
import { ActionLedger } from '../../pilot/ledger.js';
import { LeaseClock, shouldFence } from '../../pilot/lease.js';
import { decodeAddress, parseProcNetTcp, summarizeInbound } from '../../pilot/procnet.js';
import { backoffDelay } from '../../pilot/reporter.js';
import { type PilotState, StateStore } from '../../pilot/state.js';
import { editToml, patchEdits } from '../../pilot/toml-edit.js';
import { grantCommands } from '../../pilot/grants.js';
import { planStandalone } from '../../pilot/standalone.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-unit-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

const COMET_TOML = `# This is a TOML config file.
proxy_app = "tcp://127.0.0.1:26658"

[rpc]
laddr = "tcp://127.0.0.1:26657"   # keep me
unsafe = false

[p2p]
laddr = "tcp://0.0.0.0:26656"
external_address = ""
# Comma separated list of nodes to keep persistent connections to
persistent_peers = "" # trailing comment
pex = true

private_peer_ids = ""

[consensus]
timeout_commit = "1s"

[instrumentation]
prometheus = false
`;

describe('config.toml editor', () => {
  it('changes only Beam keys, keeps comments and order, adds missing keys at the end of their section', () => {
    const peer = `${'a'.repeat(40)}@10.0.0.1:26656`;
    const { text, changed } = editToml(
      COMET_TOML,
      patchEdits({
        p2p: {
          persistent_peers: [peer, `${'b'.repeat(40)}@10.0.0.2:26656`],
          pex: false,
          addr_book_strict: false,
        },
        consensus: { double_sign_check_height: 10 },
      }),
    );
    expect(changed.sort()).toEqual(
      [
        'consensus.double_sign_check_height',
        'p2p.addr_book_strict',
        'p2p.persistent_peers',
        'p2p.pex',
      ].sort(),
    );
    const before = COMET_TOML.split('\n');
    const after = text.split('\n');
    expect(after).toContain(
      `persistent_peers = "${peer},${'b'.repeat(40)}@10.0.0.2:26656" # trailing comment`,
    );
    expect(after).toContain('pex = false');
    // Every original line except the two edited ones is still there, in order.
    const kept = before.filter((l) => !l.startsWith('persistent_peers') && !l.startsWith('pex'));
    expect(after.filter((l) => kept.includes(l))).toEqual(kept);
    const parsed = parseToml(text) as Record<string, Record<string, unknown>>;
    expect(parsed['p2p']?.['addr_book_strict']).toBe(false);
    expect(parsed['consensus']?.['double_sign_check_height']).toBe(10);
    expect(parsed['consensus']?.['timeout_commit']).toBe('1s');
    // added key sits in its section (after private_peer_ids, before [consensus])
    expect(after.indexOf('addr_book_strict = false')).toBe(after.indexOf('private_peer_ids = ""') + 1);
  });

  it('is byte-identical when nothing changes and appends a missing section', () => {
    expect(editToml(COMET_TOML, patchEdits({ p2p: { pex: true } }))).toEqual({
      text: COMET_TOML,
      changed: [],
    });
    const { text } = editToml('a = 1\n', patchEdits({ consensus: { double_sign_check_height: 5 } }));
    expect(text).toBe('a = 1\n\n[consensus]\ndouble_sign_check_height = 5\n');
  });

  it('keeps CRLF line endings', () => {
    const crlf = COMET_TOML.replace(/\n/g, '\r\n');
    const { text } = editToml(
      crlf,
      patchEdits({ p2p: { pex: false, external_address: '198.51.100.7:26656' } }),
    );
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    expect(text).toContain('external_address = "198.51.100.7:26656"\r\n');
  });
});

describe('/proc/net/tcp', () => {
  const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0200007F:6590 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0200007F:6590 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0200007F:6590 0100007F:C351 03 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0200007F:C352 0300007F:6590 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 0300007F:6590 0100007F:C353 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
`;
  it('decodes little-endian addresses, ports and states', () => {
    const entries = parseProcNetTcp(TCP);
    expect(entries[1]).toEqual({
      localAddress: '127.0.0.2',
      localPort: 26000,
      remoteAddress: '127.0.0.1',
      remotePort: 50000,
      state: 'ESTABLISHED',
    });
    expect(decodeAddress('0000000000000000FFFF00000100007F')).toBe('127.0.0.1');
    expect(decodeAddress('00000000000000000000000001000000')).toBe('::1');
  });

  it('counts inbound connections on the p2p port by state and flags floods', () => {
    const entries = parseProcNetTcp(TCP);
    const t = { inboundTotal: 100, synRecv: 100, perRemote: 100 };
    const facts = summarizeInbound(entries, 26000, t, '127.0.0.2');
    expect(facts).toEqual({
      p2pPort: 26000,
      inboundByState: { ESTABLISHED: 1, SYN_RECV: 1 },
      inboundTotal: 2,
      distinctRemotes: 1,
      flooded: false,
    });
    expect(summarizeInbound(entries, 26000, { ...t, synRecv: 1 }, '127.0.0.2').flooded).toBe(true);
    expect(summarizeInbound(entries, 26000, t).inboundTotal).toBe(3);
    // Sockets the daemon closed linger in TIME_WAIT after a restart: listed, never counted as a flood.
    const lingering = Array.from({ length: 10 }, (_, i) => ({
      ...entries[1]!,
      remotePort: 40000 + i,
      state: 'TIME_WAIT',
    }));
    const after = summarizeInbound(
      lingering,
      26000,
      { inboundTotal: 5, synRecv: 5, perRemote: 5 },
      '127.0.0.2',
    );
    expect(after).toMatchObject({ inboundByState: { TIME_WAIT: 10 }, inboundTotal: 0, flooded: false });
  });

  it('reads MemAvailable from /proc/meminfo', () => {
    expect(parseMeminfo('MemTotal:  2048 kB\nMemFree: 10 kB\nMemAvailable:    1024 kB\n')).toEqual({
      total: 2048 * 1024,
      available: 1024 * 1024,
    });
  });
});

describe('config', () => {
  it('accepts the example written by init', () => {
    const cfg = parseConfig(EXAMPLE_CONFIG, 'example.toml');
    expect(cfg.daemon.mode).toBe('systemd');
    expect(cfg.limits.max_delegate_per_day).toBe('0');
  });

  it('names each bad key and its fix', () => {
    const bad = EXAMPLE_CONFIG.replace('role = "validator"', 'role = "boss"')
      .replace('unit = "gaiad.service"', '')
      .replace('p2p_port = 26656', 'p2p_port = 26656\np2p_prot = 1');
    try {
      parseConfig(bad, 'bad.toml');
      expect.unreachable();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^node\.role: /m);
      expect(problems).toMatch(/daemon: unknown key\(s\) p2p_prot: remove or correct the spelling/);
      expect(problems).toMatch(/daemon\.unit: mode "systemd" needs unit/);
    }
    expect(() => parseConfig('x = [', 'broken.toml')).toThrow(/not valid TOML/);
  });

  it('proves the EC2 instance only with identity = "ec2", which takes the instance id from the document', () => {
    const cfg = parseConfig(EXAMPLE_CONFIG, 'example.toml');
    expect(cfg.node).toMatchObject({ identity: 'none', imds_url: 'http://169.254.169.254' });
    expect(cfg.limits.max_fee_per_day).toBeUndefined(); // 20 transactions a day at gas_limit × gas_price
    const ec2 = EXAMPLE_CONFIG.replace('identity = "none"', 'identity = "ec2"');
    expect(parseConfig(ec2, 'ec2.toml').node.identity).toBe('ec2');
    expect(() =>
      parseConfig(
        ec2.replace('# instance_id = "i-0123456789abcdef0"', 'instance_id = "i-0123456789abcdef0"'),
        'both.toml',
      ),
    ).toThrow(
      /node\.instance_id: remove it: with identity = "ec2" the instance id comes from the identity document/,
    );
    expect(() =>
      parseConfig(EXAMPLE_CONFIG.replace('identity = "none"', 'identity = "aws"'), 'x.toml'),
    ).toThrow(/node\.identity/);
  });
});

describe('key custody files', () => {
  it('never lowers the sign state and writes the CometBFT format', () => {
    expect(raisedSignState({ height: '50', round: 2, step: 3 }, 40)).toEqual({
      height: '50',
      round: 2,
      step: 3,
    });
    expect(raisedSignState({ height: '5', round: 2, step: 3 }, 40)).toEqual({
      height: '40',
      round: 0,
      step: 0,
    });
    expect(raisedSignState(undefined, 7)).toEqual({ height: '7', round: 0, step: 0 });
  });

  it('installs the real key and restores the node key; refuses an insecure key file', async () => {
    const d = await tmp();
    const home = path.join(d, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.mkdir(path.join(home, 'data'), { recursive: true });
    const own = generateCometKey();
    const real = generateCometKey();
    expect(own.address).toMatch(/^[0-9A-F]{40}$/);
    expect(Buffer.from(own.priv_key.value, 'base64')).toHaveLength(64);
    await fs.writeFile(path.join(home, 'config', 'priv_validator_key.json'), JSON.stringify(own));
    await fs.writeFile(
      path.join(home, 'data', 'priv_validator_state.json'),
      '{"height":"3","round":0,"step":0}',
    );
    const keyFile = path.join(d, 'real.json');
    await fs.writeFile(keyFile, JSON.stringify(real), { mode: 0o644 });
    const c = new Custody({ home, keyFile, stateDir: path.join(d, 'state') });
    await fs.mkdir(path.join(d, 'state'));
    await expect(c.installValidatorKey(10)).rejects.toThrow(/chmod 600/);
    await fs.chmod(keyFile, 0o600);
    expect(await c.installValidatorKey(10)).toEqual({ signHeight: 10 });
    expect(await c.holdsValidatorKey()).toBe(true);
    expect(JSON.parse(await fs.readFile(c.signStateFile, 'utf8'))).toEqual({
      height: '10',
      round: 0,
      step: 0,
    });
    expect((await fs.stat(c.homeKey)).mode & 0o777).toBe(0o600);
    await c.restoreOwnKey();
    expect(await c.holdsValidatorKey()).toBe(false);
    expect(JSON.parse(await fs.readFile(c.homeKey, 'utf8')).address).toBe(own.address);
  });
});

describe('action ledger, allow-list, lease', () => {
  const vote: Action = { id: 'v-1', issuedAt: 1, type: 'vote', proposalId: '1', option: 'yes' };

  it('runs an id once across reopenings of the state, even when the first run crashed', async () => {
    const d = await tmp();
    let runs = 0;
    const ledger = new ActionLedger(await StateStore.open(d));
    expect(
      await ledger.execute(
        vote,
        () => null,
        async () => ({ ok: true, message: `run ${++runs}` }),
      ),
    ).toMatchObject({
      ok: true,
      id: 'v-1',
    });
    const again = new ActionLedger(await StateStore.open(d));
    expect(
      await again.execute(
        vote,
        () => null,
        async () => ({ ok: true, message: `run ${++runs}` }),
      ),
    ).toBeNull();
    expect(runs).toBe(1);
    // A crash mid-action: the id is on disk before the handler ran.
    const crash: Action = { ...vote, id: 'v-2' };
    const store = await StateStore.open(d);
    const pending = new ActionLedger(store).execute(
      crash,
      () => null,
      () => new Promise(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect((await StateStore.open(d)).get().executed.recent.map(([id]) => id)).toContain('v-2');
    void pending;
    expect(again.pending().map((r) => r.id)).toEqual(['v-1']);
    await again.acknowledge(['v-1']);
    expect((await StateStore.open(d)).get().results).toEqual([]);
  });

  it('keeps the ids a pilot ran before ids were ordered: they count as issued at the upgrade', async () => {
    const d = await tmp();
    const legacy = Array.from({ length: 5000 }, (_, i) => `old-${i}`);
    await fs.writeFile(path.join(d, 'state.json'), JSON.stringify({ seq: 3, executed: legacy }));
    const upgrade = Date.now();
    const store = await StateStore.open(d);
    const ledger = new ActionLedger(store);
    expect(ledger.seen('old-4999')).toBe(true);
    const run = async (action: Action) =>
      ledger.execute(
        action,
        () => null,
        async () => ({ ok: true }),
      );
    expect(await run({ ...vote, id: 'old-4999', issuedAt: 1 })).toBeNull();
    // The next id pushes the legacy ones out: the watermark then covers every one of them.
    expect(await run({ ...vote, id: 'new-1', issuedAt: upgrade + 60_000 })).toMatchObject({ ok: true });
    expect(store.get().executed.watermark).toBeGreaterThanOrEqual(upgrade);
    expect(await run({ ...vote, id: 'old-0', issuedAt: upgrade - 1 })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/watermark/),
    });
  });

  it('bounds what a commander may ask', () => {
    const ctx: AllowContext = {
      role: 'validator',
      custody: true,
      signer: true,
      denom: 'ubeam',
      maxDelegatePerAction: 100n,
      maxDelegatePerDay: 150n,
      delegatedToday: 100n,
      allowVotes: true,
      allowWithdraw: false,
      allowUpgrade: false,
      allowUnjail: true,
      feePerTx: 10_000n,
      maxFeePerDay: 30_000n,
      feesToday: 0n,
      now: 1_000_000,
      stateSyncRefusal: null,
    };
    const delegate = (amount: string, denom = 'ubeam'): Action => ({
      id: 'd',
      issuedAt: 1,
      type: 'delegate',
      amount: { denom, amount },
    });
    expect(refusal(delegate('50'), ctx)).toBeNull();
    expect(refusal(delegate('60'), ctx)).toMatch(/max_delegate_per_day/);
    expect(refusal(delegate('101'), { ...ctx, delegatedToday: 0n })).toMatch(/max_delegate_per_action/);
    expect(refusal(delegate('1', 'uatom'), ctx)).toMatch(/denom/);
    expect(refusal({ id: 'w', issuedAt: 1, type: 'withdraw-rewards', commission: true }, ctx)).toMatch(
      /allow_withdraw/,
    );
    expect(refusal({ id: 'p', issuedAt: 1, type: 'demote', epoch: 1 }, { ...ctx, role: 'sentry' })).toMatch(
      /validator/,
    );
    expect(refusal(vote, ctx)).toBeNull();
    const upgrade: Action = { id: 'u', issuedAt: 1, type: 'rollback-pilot', version: '0.1.0' };
    expect(refusal(upgrade, ctx)).toMatch(/limits\.allow_upgrade/);
    expect(refusal(upgrade, { ...ctx, allowUpgrade: true })).toBeNull();
    // The hot key's fees: a transaction that would take the day over limits.max_fee_per_day is refused.
    expect(refusal(vote, { ...ctx, feesToday: 20_000n })).toBeNull();
    expect(refusal(vote, { ...ctx, feesToday: 20_001n })).toMatch(
      /fee 10000 would exceed limits\.max_fee_per_day 30000 \(already 20001 today\)/,
    );
    expect(refusal(delegate('50'), { ...ctx, feesToday: 25_000n })).toMatch(/max_fee_per_day/);
    const unjail: Action = { id: 'j', issuedAt: 1, type: 'unjail' };
    expect(refusal(unjail, ctx)).toBeNull();
    expect(refusal(unjail, { ...ctx, allowUnjail: false })).toMatch(/limits\.allow_unjail/);
    expect(refusal(unjail, { ...ctx, signer: false })).toMatch(
      /unjail needs chain\.hot_mnemonic_file, validator\.account_address and validator\.operator_address/,
    );
    expect(refusal(unjail, { ...ctx, feesToday: 25_000n })).toMatch(/max_fee_per_day/);
    const window = (until: number | null): Action => ({
      id: 'm',
      issuedAt: 1,
      type: 'maintenance',
      until,
      reason: '',
    });
    expect(refusal(window(ctx.now + 3_600_000), ctx)).toBeNull();
    expect(refusal(window(null), ctx)).toBeNull();
    expect(refusal(window(ctx.now), ctx)).toMatch(/is not in the future: send until null to end a window/);
    expect(refusal(window(ctx.now + 8 * 86_400_000), ctx)).toMatch(/more than 7 days away/);
  });

  it('prices a transaction as cosmjs does and counts fees per UTC day', () => {
    expect(feePerTx('0.025uatom', 400_000)).toEqual({ amount: 10_000n, denom: 'uatom' });
    expect(feePerTx('0.0025ubeam', 200_001)).toEqual({ amount: 501n, denom: 'ubeam' }); // rounded up
    expect(feePerTx('1ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2', 3)).toEqual({
      amount: 3n,
      denom: 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2',
    });
    const state = { feesSpent: null } as unknown as PilotState;
    const day = Date.UTC(2026, 0, 5, 23, 0);
    countFee(state, 10_000n, day);
    countFee(state, 10_000n, day + 30 * 60_000);
    expect(feesOn(state, '2026-01-05')).toBe(20_000n);
    countFee(state, 10_000n, day + 2 * 3_600_000); // the next UTC day starts from zero
    expect(feesOn(state, '2026-01-06')).toBe(10_000n);
    expect(feesOn(state, '2026-01-05')).toBe(0n);
  });

  it('counts the lease on the monotonic clock from the send time, minus the margin', () => {
    let now = 1000;
    const clock = new LeaseClock(500, () => now);
    expect(clock.expired()).toBe(true);
    clock.grant({ epoch: 3, holder: true, expiresAt: 50_000 }, 40_000, 900);
    expect(clock.remainingMs()).toBe(900 + 10_000 - 500 - 1000);
    clock.grant({ epoch: 2, holder: false, expiresAt: 0 }, 0, 0); // stale epoch: ignored
    expect(clock.remainingMs()).toBe(9400);
    now = 11_000;
    expect(clock.expired()).toBe(true);
    expect(shouldFence({ holdsKey: true, running: true, leaseExpired: true, freshSignature: false })).toBe(
      true,
    );
    expect(shouldFence({ holdsKey: true, running: true, leaseExpired: true, freshSignature: true })).toBe(
      false,
    );
  });

  it('backs off exponentially with jitter', () => {
    expect(backoffDelay(1, 100, 1000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 1000, () => 1)).toBe(400);
    expect(backoffDelay(10, 100, 1000, () => 0)).toBe(500);
  });

  it('prints the authz grant commands', () => {
    const lines = grantCommands({
      bin: 'gaiad',
      from: 'val',
      grantee: 'cosmos1hot',
      valoper: 'cosmosvaloper1own',
      chainId: 'c-1',
      gasPrices: '0.1uatom',
    });
    expect(lines[0]).toBe(
      'gaiad tx authz grant cosmos1hot generic --msg-type /cosmos.gov.v1.MsgVote --from val --chain-id c-1 --gas auto --gas-adjustment 1.5 --gas-prices 0.1uatom',
    );
    expect(lines.at(-1)).toMatch(/delegate --allowed-validators cosmosvaloper1own/);
  });

  it('plans standalone announcements and auto-bonds within the caps', () => {
    const proposal = (id: string, status: 'voting' | 'passed') => ({
      id,
      title: `p${id}`,
      summary: '',
      status,
      votingStart: null,
      votingEnd: null,
    });
    const chain = {
      proposals: [proposal('1', 'voting'), proposal('2', 'voting'), proposal('3', 'passed')],
      balances: [{ denom: 'ubeam', amount: '1000' }],
    };
    const policy = { denom: 'ubeam', threshold: 500n, feeReserve: 100n, withdrawFirst: true, canSign: true };
    const caps = { maxDelegatePerAction: 10_000n, maxDelegatePerDay: 10_000n, delegatedToday: 0n };
    const plan = planStandalone(chain, new Set(['1']), policy, caps);
    expect(plan.announce.map((p) => p.id)).toEqual(['2']);
    expect(plan).toMatchObject({ withdraw: true, bond: 900n });
    expect(planStandalone(chain, new Set(), policy, { ...caps, maxDelegatePerAction: 300n }).bond).toBe(300n);
    expect(planStandalone(chain, new Set(), policy, { ...caps, delegatedToday: 9_950n }).bond).toBe(50n);
    expect(planStandalone(chain, new Set(), { ...policy, threshold: 1000n }, caps)).toMatchObject({
      bond: 0n,
      withdraw: false,
    });
    expect(planStandalone(chain, new Set(), { ...policy, canSign: false }, caps).bond).toBe(0n);
  });
});
