/**
 * What the chain-upgrade end-to-end tests share (upgrade.signer.test.ts, upgrade.file.test.ts): a
 * devnet whose 20 background validators hold 95 % of the power, two validator nodes (val-a, val-b)
 * whose pilots (real processes) run their daemons through cosmovisor, the real self-hosted commander
 * with a recording chat, and a tap between each pilot and the commander that keeps every report and
 * reply: what the pilots said (fenced, upgrade facts, versions) and every action and lease they got.
 *
 * The upgrade (`upgradeThroughChat`): both nodes get the new binary staged, 7 background validators
 * are held on the old one (the rest is then short of 2/3 without Beam's validator), a gov proposal
 * with a MsgSoftwareUpgrade is voted from chat, and at the block before the plan height an 8th
 * background validator goes down, so that the halt lasts, with both binaries switched, until the test
 * brings it back: longer than a lease and than the halt thresholds, as a real halt does. Then the
 * chain resumes with Beam's validator, the held ones are released, and `expectQuietUpgrade` checks
 * what Beam said and did.
 */
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { ChatMessage, MessageRef } from '../../bots/model.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { requestFailover } from '../../commander/app/failover-ops.js';
import type { ChatOps } from '../../commander/chatops/chatops.js';
import type { FailoverSettingsInput } from '../../commander/failover/index.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { type Devnet, type KeyMode, startDevnet } from '../../devnet/index.js';
import { PilotProcess } from '../../local/pilot-process.js';
import type { Report, ReportReply } from '../../protocol/index.js';
import { RecordingTransport } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase, type PilotSetup, pilotConfigFor } from '../pilot/harness.js';
import { FailoverProbe } from './failover-kit.js';

process.env.BEAM_LOG_LEVEL ??= 'error';

export const BLOCK_MS = 300;
export const NODES = ['val-a', 'val-b'] as const;
/** The upgrade's name and the version its binary reports (`abci_info`). */
export const UPGRADE = 'v2';
export const NEW_VERSION = 'v2.0.0';
const INFO = '{"binaries":{"linux/amd64":"https://example.com/devnetd-v2"}}';
/** Background validators kept on the old binary: without Beam's validator the rest is short of 2/3. */
export const HELD = 7;
/** The pilots' `double_sign_check_height` (test/pilot/harness.ts). */
export const CHECK_HEIGHT = '4';
const ACTOR = { kind: 'console' as const, id: 'e2e' };
const OPERATOR = { id: 'alice', name: 'Alice' };

/**
 * How long a height may stand still before a node counts as stalled (or the chain as halted). While
 * the held third of the network is on its old binary, every round one of them should propose fails
 * (a third of the rounds): blocks then come a second or more apart now and then.
 */
const STILL_MS = 4_000;
/** The health alert for a halted chain (`thresholds.chainHaltedMs`): shorter than the test's halt. */
const CHAIN_HALTED_MS = 5_000;

/** Timings for a 500 ms report loop on one machine, per key mode (as signer.test.ts and failover.test.ts). */
const FAILOVER: Record<'signer' | 'file', FailoverSettingsInput> = {
  signer: {
    keyMode: 'signer',
    reportIntervalMs: 500,
    leaseDurationMs: 3_000,
    renewMarginMs: 2_000,
    silentAfterMs: 1_500,
    chainHaltAfterMs: STILL_MS,
    startupGraceMs: 6_000,
    pilotFenceDelayMs: 500,
    maxClockSkewMs: 500,
    graceMs: 2_000,
    missedCommitsForFailover: 3,
    mode: 'auto',
  },
  // A promote restarts the daemon, here through cosmovisor (two Node processes to boot on a loaded
  // machine): the new holder is renewed only once its daemon answers, so the lease outlasts that.
  file: {
    keyMode: 'file',
    reportIntervalMs: 500,
    leaseDurationMs: 12_000,
    renewMarginMs: 8_000,
    silentAfterMs: 1_500,
    chainHaltAfterMs: STILL_MS,
    startupGraceMs: 20_000,
    pilotFenceDelayMs: 13_000,
    maxClockSkewMs: 500,
    graceMs: 14_000,
    missedCommitsForFailover: 3,
    mode: 'auto',
  },
};

/** One report a pilot sent through the tap, and the commander's reply to it. */
export interface Exchange {
  node: string;
  at: number;
  report: Report;
  reply: ReportReply | null;
}

/** Forwards a pilot's requests to the commander and keeps every report with its reply. */
export class ReportTap {
  readonly exchanges: Exchange[] = [];
  private server: Server | null = null;
  url = '';
  constructor(
    private readonly node: string,
    private readonly target: () => string,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        try {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
          const body = chunks.length ? Buffer.concat(chunks) : null;
          const reply = await fetch(`${this.target()}${req.url}`, {
            method: req.method ?? 'POST',
            headers,
            body,
          });
          const text = Buffer.from(await reply.arrayBuffer());
          if (req.url === '/v1/pilot/report' && body) {
            this.exchanges.push({
              node: this.node,
              at: Date.now(),
              report: JSON.parse(body.toString('utf8')) as Report,
              reply: reply.status === 200 ? (JSON.parse(text.toString('utf8')) as ReportReply) : null,
            });
          }
          // The commander's reply signature travels in headers: pass them all on.
          const replyHeaders: Record<string, string> = {};
          reply.headers.forEach((value, key) => {
            if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(key))
              replyHeaders[key] = value;
          });
          res.writeHead(reply.status, replyHeaders);
          res.end(text);
        } catch {
          req.socket.destroy();
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  last(): Exchange | undefined {
    return this.exchanges.at(-1);
  }

  since(at: number): Exchange[] {
    return this.exchanges.filter((e) => e.at >= at);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The text of a chat message, title to context, for matching. */
export const textOf = (m: ChatMessage) =>
  [m.title, m.text, m.preformatted, ...(m.fields ?? []).map((f) => `${f.label}: ${f.value}`), m.context]
    .filter(Boolean)
    .join('\n');

/**
 * A devnet validator (val-a primary, val-b standby) in `mode`, both nodes' daemons under cosmovisor
 * and supervised by real pilot processes, the commander with a console chat where `alice` is an
 * operator, and val-a promoted as the first signer.
 */
export class UpgradeWorld {
  readonly chat = new RecordingTransport('console');
  readonly pilots = new Map<string, PilotProcess>();
  readonly taps = new Map<string, ReportTap>();
  readonly setups = new Map<string, PilotSetup>();
  dir = '';
  devnet!: Devnet;
  commander!: RunningCommander;
  chatops!: ChatOps;
  probe!: FailoverProbe;

  constructor(readonly mode: 'signer' | 'file') {}

  get failover(): FailoverSettingsInput {
    return FAILOVER[this.mode];
  }

  height(): number {
    return this.devnet.hub.chain.height();
  }

  home(node: string): string {
    return this.devnet.info.nodes.find((n) => n.name === node)!.home;
  }

  tap(node: string): ReportTap {
    return this.taps.get(node)!;
  }

  /** The latest report `node` sent. */
  report(node: string): Report | undefined {
    return this.tap(node).last()?.report;
  }

  async start(): Promise<void> {
    this.dir = await fs.mkdtemp(path.join(os.tmpdir(), `beam-e2e-upgrade-${this.mode}-`));
    this.devnet = await startDevnet({
      dir: this.dir,
      blockTimeMs: BLOCK_MS,
      standby: 1,
      sentries: 0,
      startNodes: false,
      portBase: await freePortBase(),
      reset: true,
      keyMode: this.mode satisfies KeyMode,
      // Restarts miss blocks: a long window keeps the validator from being jailed during the test.
      params: { slashing: { signedBlocksWindow: 5_000 } },
    });
    expect(this.devnet.hub.background.list()).toHaveLength(20);
    this.probe = new FailoverProbe(
      this.devnet,
      this.devnet.info.validators[0]!.consensusAddress,
      () => this.commander,
    );
    const token = `e2e-upgrade-${this.mode}-token-0123456789`;
    this.commander = await serve(
      ServeConfig.parse({
        listen: '127.0.0.1:0',
        stateDir: path.join(this.dir, 'commander'),
        tick: '* * * * * *',
        settings: {
          enrollmentToken: token,
          reportIntervalMs: 500,
          enrollRetryMs: 200,
          chat: [{ platform: 'console', chat: 'ops' }],
          access: { console: { users: { alice: 'operator' }, chats: ['ops'] } },
          failover: this.failover,
          // Reports every 500 ms: the default 3 silent intervals (1.5 s) would call a pilot on a
          // loaded machine silent now and then, an alert of this test's pace, not of the upgrade.
          thresholds: { chainHaltedMs: CHAIN_HALTED_MS, silentIntervals: 10 },
          // The validators have no sentries here, so no peers: a condition of this test's world,
          // not of the upgrade, and one that would fire a minute in.
          alerts: { pendingMs: { 'low-peers': 3_600_000 } },
          // No reminders: the proposal's one message is all governance says here.
          governance: { reminderOffsetsMs: [], actionTimeoutMs: 60_000, autoBond: { withdraw: false } },
        },
      }),
      { transports: { console: this.chat } },
    );
    // The commander's own chat wiring: a button press runs `vote <id> <option>` through FleetOps.
    this.chatops = createChatOps(this.commander.deps);
    const tokenFile = path.join(this.dir, 'enrollment-token');
    await fs.writeFile(tokenFile, token, { mode: 0o600 });
    for (const name of NODES) {
      const tap = new ReportTap(name, () => this.commander.url);
      await tap.start();
      this.taps.set(name, tap);
      const setup = await pilotConfigFor(this.devnet.info, name, this.dir, {
        commanderUrl: tap.url,
        enrollmentTokenFile: tokenFile,
        cosmovisor: true,
        extra: {
          commander: { request_timeout_ms: 1_000 },
          ...(this.mode === 'file' ? { daemon: { stop_timeout_ms: 1_000 } } : {}),
        },
      });
      expect(setup.config.validator?.key_mode).toBe(this.mode);
      expect(setup.config.daemon.cosmovisor).toEqual({ name: 'devnetd' });
      this.setups.set(name, setup);
      const pilot = new PilotProcess(
        name,
        setup.file,
        setup.stateDir,
        path.join(this.dir, `pilot-${name}.log`),
        setup.config.upgrade.install_dir,
      );
      this.pilots.set(name, pilot);
      pilot.start();
    }
    await approveOnEnrollment(this.commander.deps, [...NODES]);
  }

  /** Both nodes up as standbys, then the first promotion: val-a signs. */
  async promoteFirst(): Promise<void> {
    for (const name of NODES)
      await waitFor(
        () => {
          const r = this.report(name);
          return (
            r?.daemon.running &&
            r.daemon.rpcReachable &&
            r.daemon.catchingUp === false &&
            r.upgrade?.cosmovisor === true &&
            r.custody?.holdsValidatorKey === false &&
            (this.mode === 'file' || r.custody.signerConnected === true)
          );
        },
        `${name} up as a standby under cosmovisor`,
        { timeoutMs: 60_000 },
      );
    const from = this.height();
    // Accepted once the commander sees val-a synced and following new blocks.
    await waitFor(
      async () => (await requestFailover(this.commander.deps, { to: 'val-a', actor: ACTOR })).accepted,
      'the first promotion accepted',
    );
    await this.probe.signingAgain('val-a', from, 60_000);
    await waitFor(async () => (await this.probe.state()).op?.phase === 'done', 'the first promotion done');
  }

  async control<T>(route: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.devnet.info.hub.controlUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /**
   * Stages the new binary on both nodes, holds `HELD` background validators on the old one and
   * submits the upgrade proposal, its plan `marginMs` of blocks after the voting period.
   */
  async proposeUpgrade(votingPeriodMs: number, marginMs: number): Promise<{ id: string; height: number }> {
    for (const name of NODES) this.devnet.stageUpgrade(name, UPGRADE, NEW_VERSION);
    await this.control('/background/hold', { count: HELD });
    // A block takes at least BLOCK_MS: the chain is below the plan height when the voting ends.
    const height = this.height() + Math.ceil((votingPeriodMs + marginMs) / BLOCK_MS);
    const { proposalId } = await this.control<{ proposalId: string }>('/proposals', {
      title: `Upgrade to ${UPGRADE}`,
      summary: `devnetd ${NEW_VERSION}`,
      votingPeriodMs,
      upgrade: { name: UPGRADE, height, info: INFO },
    });
    return { id: proposalId, height };
  }

  /** The proposal's message, once posted. */
  proposalMessage(id: string): Promise<{ ref: MessageRef; message: ChatMessage }> {
    return waitFor(
      () => this.chat.posts.find((p) => p.message.title.startsWith(`Proposal #${id}:`)),
      `the message of proposal ${id}`,
    );
  }

  /** Alice presses [Yes] on the proposal's message; returns what chat answered her. */
  async pressYes(post: { ref: MessageRef; message: ChatMessage }): Promise<string> {
    const yes = post.message.buttons?.find((b) => b.label === 'Yes');
    expect(yes, 'a Yes button on the proposal').toBeDefined();
    const replies = await this.chatops.handle({
      kind: 'button',
      platform: 'console',
      chat: 'ops',
      user: OPERATOR,
      buttonId: yes!.id,
      message: post.ref,
    });
    return JSON.stringify(replies);
  }

  /** Alice types `vote <id> yes`; returns what chat answered her. */
  async typeVote(id: string): Promise<string> {
    const replies = await this.chatops.handle({
      kind: 'command',
      platform: 'console',
      chat: 'ops',
      user: OPERATOR,
      text: `vote ${id} yes`,
    });
    return JSON.stringify(replies);
  }

  /** The upgrade thread's first post (`Chain upgrade v2 …`). */
  threadPosts() {
    return this.chat.posts.filter((p) => p.message.title.startsWith(`Chain upgrade ${UPGRADE}`));
  }

  /** Every version of the thread (its post, then its edits), oldest first. */
  thread(): ChatMessage[] {
    const post = this.threadPosts()[0];
    if (!post) return [];
    return [
      post.message,
      ...this.chat.updates.filter((u) => u.ref.messageId === post.ref.messageId).map((u) => u.message),
    ];
  }

  async configCheckHeight(node: string): Promise<string | undefined> {
    const toml = await fs.readFile(path.join(this.home(node), 'config', 'config.toml'), 'utf8');
    return /^double_sign_check_height = (\d+)$/m.exec(toml)?.[1];
  }

  /** The daemon's output under the pilot (process mode): cosmovisor's and the node's lines. */
  daemonLog(node: string): Promise<string> {
    return fs.readFile(path.join(this.setups.get(node)!.stateDir, 'daemon.log'), 'utf8');
  }

  async stop(): Promise<void> {
    await this.control('/background/up', {}).catch(() => {});
    await this.control('/background/release', {}).catch(() => {});
    for (const p of this.pilots.values()) await p.stop(2_000);
    for (const t of this.taps.values()) await t.stop();
    await this.commander?.close();
    await this.devnet?.stop();
    if (!process.env.KEEP_E2E_DIR) await fs.rm(this.dir, { recursive: true, force: true });
    else console.log(`kept ${this.dir}`);
  }
}

/**
 * Samples what must not change while the chain upgrades: the commander's failover state (lease,
 * operation, outbox, pause) and, in file mode, each node's double_sign_check_height.
 */
export class UpgradeWatch {
  readonly leases = new Set<string>();
  readonly ops = new Set<string>();
  readonly outbox: string[] = [];
  readonly alerts = new Set<string>();
  readonly pauses: string[] = [];
  /** Alert items (health and failover) seen meanwhile: key → the states they were in (`pending held by …`, `open`). */
  readonly alertItems = new Map<string, Set<string>>();
  readonly checkHeights = new Map<string, string[]>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private startedAt = 0;

  constructor(private readonly world: UpgradeWorld) {}

  start(): void {
    this.startedAt = Date.now();
    this.timer = setInterval(() => void this.sample(), 100);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const s = await this.world.probe.state();
      this.leases.add(`${s.lease.holder}@${s.lease.epoch}`);
      this.ops.add(s.op ? `${s.op.id}:${s.op.phase}` : 'none');
      for (const e of s.outbox) this.outbox.push(`${e.nodeId}:${e.action.type}:${e.action.id}`);
      for (const a of s.alerts) this.alerts.add(a);
      const pause = s.pause
        ? `${s.pause.upgrade}@${s.pause.height}${s.pause.resumedAt ? ' resumed' : ''}`
        : 'none';
      if (this.pauses.at(-1) !== pause) this.pauses.push(pause);
      for (const { value: a } of await this.world.commander.deps.store.listAlerts()) {
        if (a.since < this.startedAt && a.state !== 'open') continue;
        const states = this.alertItems.get(a.key) ?? new Set<string>();
        states.add(a.state === 'pending' && a.heldBy ? `pending held by ${a.heldBy}` : a.state);
        this.alertItems.set(a.key, states);
      }
      if (this.world.mode === 'file')
        for (const node of NODES) {
          const value = (await this.world.configCheckHeight(node)) ?? '?';
          const seen = this.checkHeights.get(node) ?? [];
          if (seen.at(-1) !== value) seen.push(value);
          this.checkHeights.set(node, seen);
        }
    } catch {
      // the next sample
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** What one upgrade through chat left behind, for the assertions. */
export interface UpgradeRun {
  proposal: { id: string; height: number };
  /** When the proposal was submitted. */
  startedAt: number;
  /** Chat posts and edits before the proposal. */
  postsBefore: number;
  updatesBefore: number;
  lease: { holder: string | null; epoch: number };
  opBefore: string;
  /** The daemon process each pilot supervised before the upgrade (cosmovisor), and its restarts. */
  pids: Record<string, number | null>;
  restarts: Record<string, number>;
  /** The proposal message's Vote field once it showed the transaction. */
  vote: string;
  watch: UpgradeWatch;
}

/** Long enough for the vote to land on a loaded machine: the message, the press, the pilot's tx. */
const VOTING_PERIOD_MS = 20_000;
const PLAN_MARGIN_MS = 9_000;

/**
 * The upgrade as the issue tells it: a proposal, a vote from chat, the halt, cosmovisor switching
 * binaries, the chain resuming; returns once the thread says done and the validator signs above
 * the plan height again.
 */
export async function upgradeThroughChat(
  world: UpgradeWorld,
  { vote: how }: { vote: 'button' | 'typed' },
): Promise<UpgradeRun> {
  const before = await world.probe.state();
  expect(before.op?.phase).toBe('done');
  const watch = new UpgradeWatch(world);
  watch.start();
  const postsBefore = world.chat.posts.length;
  const updatesBefore = world.chat.updates.length;
  const startedAt = Date.now();
  const pids = Object.fromEntries(NODES.map((n) => [n, world.pilots.get(n)!.daemonPid()]));
  const restarts = Object.fromEntries(NODES.map((n) => [n, world.report(n)!.daemon.restarts]));
  const proposal = await world.proposeUpgrade(VOTING_PERIOD_MS, PLAN_MARGIN_MS);
  // The halt: at the block before the plan height the nodes' pre-blocker stops them. A real halt
  // lasts minutes (operators, migrations): one more background validator goes down for it, so that
  // the chain stands still until the test lets it go, with both binaries switched, for longer than
  // a lease and than the failover's and health's halt thresholds. Armed now, whatever the chat does.
  const stopped = waitFor(
    () => world.height() >= proposal.height - 1,
    'the chain at the block before the plan',
    {
      timeoutMs: 90_000,
      intervalMs: 20,
    },
  ).then(() => world.control('/background/down', { count: HELD + 1 }));
  stopped.catch(() => {});
  return world.probe.diagnosed(async () => {
    // The vote from chat, [Yes] on the proposal's message or typed; the holder's pilot casts it with
    // its hot key.
    const post = await world.proposalMessage(proposal.id);
    const answer = how === 'button' ? await world.pressYes(post) : await world.typeVote(proposal.id);
    expect(answer).toContain(`voting Yes on proposal ${proposal.id}`);
    const vote = await waitFor(
      () =>
        world.chat.updates
          .filter((u) => u.ref.messageId === post.ref.messageId)
          .map((u) => u.message.fields?.find((f) => f.label === 'Vote')?.value)
          .find((v) => v && /tx [0-9A-F]{64}/.test(v)),
      'the proposal message showing our vote on chain',
    );
    const votedAfterMs = Date.now() - startedAt;
    await waitFor(() => world.threadPosts().length > 0, 'the upgrade thread', { timeoutMs: 60_000 });
    await stopped;
    await waitFor(
      () => world.thread().some((m) => /upgrade in progress/.test(m.title)),
      'the thread saying the upgrade is in progress',
    );
    for (const node of NODES)
      await waitFor(() => world.report(node)?.daemon.version === NEW_VERSION, `${node} on ${NEW_VERSION}`);
    const halt = await waitFor(async () => {
      const s = await world.probe.state();
      const long = Math.max(world.failover.leaseDurationMs!, STILL_MS, CHAIN_HALTED_MS) + 2_000;
      return s.pause && Date.now() - s.pause.since > long ? s.pause : null;
    }, 'a long halt');
    expect(world.height()).toBe(proposal.height - 1);
    // Beam's validator still decides: the held third of the network stays on its old binary.
    await world.control('/background/up', {});
    await waitFor(() => world.height() > proposal.height, 'the chain past the upgrade height');
    const haltMs = Date.now() - halt.since;
    // The rest of the network upgrades too.
    await world.control('/background/release', {});
    await waitFor(() => world.height() > proposal.height + 3, 'the chain moving on');
    await waitFor(
      () => world.thread().some((m) => m.title.startsWith(`Chain upgrade ${UPGRADE} done`)),
      'the thread saying done',
      { timeoutMs: 60_000 },
    );
    await waitFor(
      () => world.probe.signedBy('val-a', proposal.height).length >= 3,
      'val-a signing above the upgrade height',
    );
    // A few ticks more: nothing held back during the upgrade may fire right after it.
    const ticked = Date.now();
    await waitFor(
      async () => (await world.commander.deps.store.getLastTickAt())! > ticked + 3_000,
      'three more ticks',
    );
    watch.stop();
    const audit = (await world.commander.deps.store.listAudit(500))
      .filter((a) => a.at >= startedAt && a.action.startsWith('failover.'))
      .map((a) => `${new Date(a.at).toISOString()} ${a.action} ${a.detail}`)
      .reverse();
    console.log(
      JSON.stringify({
        audit,
        mode: world.mode,
        plan: proposal.height,
        thread: world.thread().map((m) => m.title),
        pauses: watch.pauses,
        alertItems: Object.fromEntries([...watch.alertItems].map(([k, v]) => [k, [...v]])),
        checkHeights: Object.fromEntries(watch.checkHeights),
        halted: NODES.map(
          (n) =>
            world
              .tap(n)
              .since(startedAt)
              .filter((e) => e.report.upgrade?.halted).length,
        ),
        votedAfterSeconds: votedAfterMs / 1000,
        haltSeconds: haltMs / 1000,
        seconds: (Date.now() - startedAt) / 1000,
      }),
    );
    return {
      proposal,
      startedAt,
      postsBefore,
      updatesBefore,
      lease: { holder: before.lease.holder, epoch: before.lease.epoch },
      opBefore: before.op!.id,
      pids,
      restarts,
      vote,
      watch,
    };
  });
}

/**
 * The promise: the thread, posted once and edited in place (announce → in progress →
 * done), and nothing else about the upgrade — the same lease holder and epoch throughout, no fence,
 * no demote or promote, no failover, no alert — and the validator signing above the plan height
 * without a double sign.
 */
export async function expectQuietUpgrade(world: UpgradeWorld, run: UpgradeRun): Promise<void> {
  const { height } = run.proposal;
  // One thread, edited in place through its phases.
  expect(world.threadPosts()).toHaveLength(1);
  const titles = world.thread().map((m) => m.title);
  expect(titles[0]).toMatch(new RegExp(`^Chain upgrade ${UPGRADE} at height ${height} \\(`));
  const progress = titles.findIndex((t) => t.includes(`upgrade in progress — halted at ${height}`));
  const done = titles.findIndex((t) => t.startsWith(`Chain upgrade ${UPGRADE} done`));
  expect(progress).toBeGreaterThan(0);
  expect(done).toBeGreaterThan(progress);
  const signingSince = Number(/signing again since height (\d+)/.exec(titles[done]!)?.[1]);
  expect(titles[done]).toBe(
    `Chain upgrade ${UPGRADE} done: every node runs ${NEW_VERSION}, signing again since height ${signingSince}`,
  );
  expect(signingSince).toBeGreaterThan(height);
  // Announced with both binaries staged for cosmovisor (a node whose report did not name the plan
  // yet may show as not reported, never as an older pilot or as not staged): nobody needs to act.
  const scheduled = world.thread().filter((m) => m.title.startsWith(`Chain upgrade ${UPGRADE} at height`));
  for (const m of scheduled) {
    expect(m.severity).toBe('info');
    expect(textOf(m)).not.toMatch(/does not tell|NOT staged|not under cosmovisor/);
  }
  expect(scheduled.at(-1)).toMatchObject({ text: 'Every node has the binary staged.' });
  expect(scheduled.at(-1)!.preformatted).toMatch(
    /✓ val-a\s+v1\.0\.0, binary staged\n✓ val-b\s+v1\.0\.0, binary staged/,
  );

  // Posted meanwhile: the proposal's message and the thread, nothing else (no alert, no failover).
  const posted = world.chat.posts.slice(run.postsBefore).map((p) => p.message);
  expect(posted.map((m) => m.title)).toEqual([
    expect.stringMatching(new RegExp(`^Proposal #${run.proposal.id}: Upgrade to ${UPGRADE}$`)),
    expect.stringMatching(new RegExp(`^Chain upgrade ${UPGRADE} at height ${height} `)),
  ]);
  // Nor was any other message edited into an alert or a failover.
  const edited = world.chat.updates
    .slice(run.updatesBefore)
    .map((u) => u.message)
    .filter(
      (m) => !m.title.startsWith(`Chain upgrade ${UPGRADE}`) && !m.title.includes(`#${run.proposal.id}:`),
    );
  expect(edited.map(textOf).join('\n')).not.toMatch(/halted|failover|failing|fenc|stray|missed/i);

  // The lease: same holder, same epoch, throughout; no operation, no key action, no failover alert.
  const lease = `${run.lease.holder}@${run.lease.epoch}`;
  expect(run.lease.holder).toBe('val-a');
  expect([...run.watch.leases]).toEqual([lease]);
  expect([...run.watch.ops]).toEqual([`${run.opBefore}:done`]);
  expect(run.watch.outbox).toEqual([]);
  expect([...run.watch.alerts]).toEqual([]);
  // Health alerts may have waited on the upgrade (held); none fired.
  const fired = [...run.watch.alertItems].filter(([, states]) => states.has('open')).map(([key]) => key);
  expect(fired).toEqual([]);
  // The failover pause saw the upgrade coming and let the holder keep its lease through it.
  expect(run.watch.pauses).toContain(`${UPGRADE}@${height}`);
  expect(run.watch.pauses.at(-1)).toBe('none');
  const audit = (await world.commander.deps.store.listAudit(500)).filter(
    (a) => a.at >= run.startedAt && a.action.startsWith('failover.'),
  );
  expect(audit.filter((a) => a.action !== 'failover.pause').map((a) => `${a.action} ${a.detail}`)).toEqual(
    [],
  );

  for (const node of NODES) {
    const exchanges = world.tap(node).since(run.startedAt);
    expect(exchanges.length).toBeGreaterThan(20);
    // No pilot fenced (its lease never ran out), none was sent a key action.
    expect(exchanges.filter((e) => e.report.custody?.fenced)).toEqual([]);
    const keyActions = exchanges.flatMap((e) =>
      (e.reply?.actions ?? []).filter((a) => a.type === 'promote' || a.type === 'demote'),
    );
    expect(keyActions).toEqual([]);
    if (node === 'val-a') {
      // The holder kept the key, and its lease never lapsed: each grant outlived the next reply.
      expect(exchanges.filter((e) => e.report.custody?.holdsValidatorKey !== true)).toEqual([]);
      const lapses: string[] = [];
      let granted = Number.POSITIVE_INFINITY;
      for (const e of exchanges) {
        if (e.at >= granted)
          lapses.push(`${new Date(granted).toISOString()} before ${new Date(e.at).toISOString()}`);
        granted = e.reply?.lease?.expiresAt ?? granted;
      }
      expect(lapses).toEqual([]);
    }
    // The commander answered every report with the same lease: val-a holds it at the same epoch.
    const grants = new Set(
      exchanges.map((e) => (e.reply?.lease ? `${e.reply.lease.holder}@${e.reply.lease.epoch}` : 'none')),
    );
    expect([...grants]).toEqual([`${node === 'val-a'}@${run.lease.epoch}`]);
    // Through the upgrade, the pilot reported the plan, the staged binary under cosmovisor and the halt.
    expect(
      exchanges.some(
        (e) =>
          e.report.upgrade?.cosmovisor &&
          e.report.upgrade.plan?.name === UPGRADE &&
          e.report.upgrade.plan.height === height &&
          e.report.upgrade.staged === true,
      ),
    ).toBe(true);
    expect(exchanges.some((e) => e.report.upgrade?.halted?.name === UPGRADE)).toBe(true);
    // cosmovisor switched the binary in its own process: the pilot restarted nothing.
    expect(world.pilots.get(node)!.daemonPid()).toBe(run.pids[node]);
    expect(world.report(node)!.daemon).toMatchObject({
      running: true,
      desired: 'running',
      version: NEW_VERSION,
      restarts: run.restarts[node],
    });
    expect(await world.daemonLog(node)).toContain('upgrade detected, relaunching');
  }
  world.probe.noDoubleSign();
}
