import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { Server } from 'node:http';
import pino from 'pino';
import type {
  Action,
  ConfigPatch,
  KeyCustody,
  LeaseGrant,
  MaintenanceFact,
  Report,
} from '../protocol/index.js';
import { type AlertTargets, Latch, sendAlert } from './alerts.js';
import { BinaryKeeper, binarySpec } from './binary-install.js';
import { type AllowContext, refusal, utcDay } from './allowlist.js';
import type { ChainCollector } from './chain.js';
import { collectUpgrade, type UpgradeReading } from './chain-upgrade.js';
import type { PilotConfig } from './config.js';
import { type CosmovisorSettings, cosmovisorEnv, cosmovisorSettings } from './cosmovisor.js';
import { Custody } from './custody.js';
import { DoubleSignCheck } from './double-sign-check.js';
import { collectCommits, collectDaemon, hasFreshSignature, StallTracker } from './facts.js';
import { DEFAULT_FEE_TXS_PER_DAY, feePerTx, feesOn } from './fees.js';
import { collectHost } from './host.js';
import { fetchInstanceIdentity } from './identity.js';
import { ActionExecutor } from './executor.js';
import { ActionLedger } from './ledger.js';
import { LeaseClock, monoNow, shouldFence } from './lease.js';
import { serveLocal } from './localhttp.js';
import { describeMaintenance, readMaintenance } from './maintenance.js';
import { SignerCustody } from './signing.js';
import { Bootstrap, snapshotInterval } from './state-sync.js';
import { planStandalone } from './standalone.js';
import { PilotMetrics } from './metrics.js';
import { readTcpTables, summarizeInbound } from './procnet.js';
import { takeActions } from './reply-actions.js';
import { backoffDelay, sendEnroll, sendReport } from './reporter.js';
import { CometRpc, wrongNetwork } from './rpc.js';
import { readSecret, StateStore, writeSecret } from './state.js';
import { ProcessSupervisor, type Supervisor, SystemdSupervisor } from './supervisor.js';
import type { HotSigner } from './tx.js';
import { PilotReleases } from './upgrade.js';
import { UpgradeHalt } from './upgrade-halt.js';
import { PILOT_VERSION } from './version.js';

export { PILOT_VERSION };

const GUARD_INTERVAL_MS = 250;
/** Consecutive guard checks that must agree before fencing (worst-case delay ≈ 3 × 250 ms + RPC time). */
const FENCE_CONFIRMATIONS = 3;

export type Logger = pino.Logger;

/**
 * The node agent: supervises the daemon, collects facts, reports to the commander (or runs the
 * standalone policies), executes actions at most once, and guards the validator key.
 */
export class Pilot {
  readonly metrics: PilotMetrics;
  private readonly rpc: CometRpc;
  private readonly ledger: ActionLedger;
  private readonly executor: ActionExecutor;
  /** File mode: the key file moves into the daemon home on promote. */
  private readonly custody: Custody | null;
  /** Validator nodes: double_sign_check_height through chain upgrades. */
  private readonly checkHeight: DoubleSignCheck | null;
  private readonly halt: UpgradeHalt;
  private readonly cosmovisor: CosmovisorSettings | null;
  /** `[daemon.binary]`: the chain binary put in place before the daemon starts. */
  private readonly binary: BinaryKeeper | null;
  /** State sync of a node that starts with an empty block store. */
  private readonly bootstrap: Bootstrap;
  /** The daemon's latest height seen (kept while its RPC is down). */
  private lastHeight: number | null = null;
  /** The maintenance window last seen (its start and end are logged). */
  private maintenance: MaintenanceFact | null = null;
  private readonly stall: StallTracker;
  private signer: HotSigner | null = null;
  private secret: { nodeId: string; secret: string } | null = null;
  private lastReport: Report | null = null;
  private lastAcceptedAt: number | null = null;
  private lastReplyMono = monoNow();
  private lastLoopMono = monoNow();
  private holdsKey = false;
  private fenced = false;
  private fencing = false;
  private fenceVotes = 0;
  private failures = 0;
  private tickAgeMs = 0;
  /** The daemon's /status named node.chain_id once: checked until it does (the daemon may start later). */
  private networkChecked = false;
  /** Why this pilot stopped: its daemon runs another chain (see wrongNetwork). */
  private refused: string | null = null;
  private closed = false;
  private reportTimer: NodeJS.Timeout | null = null;
  /** The report loop and guard check running now: close() waits for them, so nothing is left half-written. */
  private readonly inFlight = new Set<Promise<void>>();
  private guardTimer: NodeJS.Timeout | null = null;
  private server: Server | null = null;
  private readonly deadMan = new Latch();
  private readonly alertTargets: AlertTargets | null;
  /** Set once `current` names another release: new actions wait for the restarted pilot. */
  private switched = false;
  private onSwitched: () => void = () => undefined;
  /**
   * Resolves when this process should give way to the release `current` now names: its runner
   * (cli.ts `start`) closes the pilot and exits, and the service manager starts the new bundle.
   */
  readonly releaseSwitched = new Promise<void>((resolve) => {
    this.onSwitched = resolve;
  });
  url = '';

  private constructor(
    readonly cfg: PilotConfig,
    readonly store: StateStore,
    readonly supervisor: Supervisor,
    readonly log: Logger,
    private readonly chain: ChainCollector | null,
    private readonly lease: LeaseClock,
    /** Signer mode: the pilot is the daemon's remote signer. */
    private readonly signing: SignerCustody | null,
    metrics: PilotMetrics,
    configFile: string | null,
  ) {
    this.metrics = metrics;
    const v = cfg.validator;
    this.rpc = new CometRpc(cfg.daemon.rpc_url);
    this.ledger = new ActionLedger(store);
    this.custody =
      cfg.node.role === 'validator' && v?.key_mode === 'file' && v.key_file
        ? new Custody({ home: cfg.daemon.home, keyFile: v.key_file, stateDir: cfg.node.state_dir })
        : null;
    this.stall = new StallTracker(v?.stall_after_ms ?? 15_000);
    this.cosmovisor = cosmovisorSettings(cfg);
    this.halt = new UpgradeHalt({ store, daemonHome: cfg.daemon.home, supervisor });
    const binary = binarySpec(cfg);
    this.binary = binary
      ? new BinaryKeeper(binary, { info: (msg) => log.info(msg), error: (msg) => log.error(msg) })
      : null;
    this.bootstrap = new Bootstrap({
      home: cfg.daemon.home,
      enabled: cfg.bootstrap.state_sync,
      store,
      log: (msg) => log.info(msg),
    });
    this.checkHeight =
      cfg.node.role === 'validator'
        ? new DoubleSignCheck({
            store,
            daemonHome: cfg.daemon.home,
            writeConfig: (patch) => this.executor.writeConfig(patch),
            log: (msg) => log.info(msg),
          })
        : null;
    this.executor = new ActionExecutor({
      cfg,
      supervisor,
      rpc: this.rpc,
      store,
      custody: this.custody,
      signing,
      checkHeight: this.checkHeight,
      signer: () => this.signer,
      legacyGov: () => this.chain?.govV1 === false,
      lease: this.lease,
      lastHeight: () => this.lastReport?.daemon.height ?? 0,
      onKeyChange: (holds) => {
        this.holdsKey = holds;
      },
      releases: new PilotReleases({
        installDir: cfg.upgrade.install_dir,
        configFile,
        downloadTimeoutMs: cfg.upgrade.download_timeout_ms,
      }),
      onReleaseSwitched: () => {
        this.switched = true;
        this.onSwitched();
      },
      bootstrap: this.bootstrap,
      binaryProblem: () => this.binary?.problem ?? null,
    });
    const a = cfg.alerts;
    this.alertTargets = a
      ? {
          slackWebhookUrl: a.slack_webhook_url,
          telegramApiUrl: a.telegram_api_url,
          telegramTokenFile: a.telegram_bot_token_file,
          telegramChatId: a.telegram_chat_id,
        }
      : null;
  }

  /** `configFile`: the file `cfg` came from; a new release must accept it before the pilot switches to it. */
  static async create(
    cfg: PilotConfig,
    log: Logger = pino({ name: 'beam-pilot' }),
    options: { configFile?: string } = {},
  ): Promise<Pilot> {
    const store = await StateStore.open(cfg.node.state_dir);
    const d = cfg.daemon;
    const cosmovisor = cosmovisorSettings(cfg);
    // The supervisor asks the pilot (created below) before it starts the daemon on its own.
    let pilot: Pilot | null = null;
    const common = {
      desired: store.get().desiredDaemon,
      onDesired: (desired: 'running' | 'stopped') =>
        store.update((s) => {
          s.desiredDaemon = desired;
        }),
      backoffMs: d.restart_backoff_ms,
      backoffMaxMs: d.restart_backoff_max_ms,
      stopTimeoutMs: d.stop_timeout_ms,
      log: (msg: string) => log.info(msg),
      hold: () => pilot?.daemonHold() ?? Promise.resolve(null),
      ...(cosmovisor ? { env: cosmovisorEnv(cosmovisor) } : {}),
    };
    const supervisor =
      d.mode === 'systemd'
        ? new SystemdSupervisor(d.unit as string, common)
        : new ProcessSupervisor(d.command as string[], cfg.node.state_dir, common);
    const v = cfg.validator;
    // The Cosmos libraries are loaded only where chain queries or the hot key need them: a sentry's
    // pilot's resident memory is about 12 MB smaller without them.
    const chain =
      cfg.chain?.query_chain && v
        ? new (await import('./chain.js')).ChainCollector({
            rpcUrl: d.rpc_url,
            prefix: cfg.chain.bech32_prefix,
            consensusAddress: v.consensus_address,
            operatorAddress: v.operator_address ?? null,
            accountAddress: v.account_address ?? null,
            granteeAddress: null,
          })
        : null;
    const lease = new LeaseClock(v?.fence_margin_ms ?? 0);
    const metrics = new PilotMetrics(cfg, PILOT_VERSION, () => lease.remainingMs());
    const signing =
      cfg.node.role === 'validator' && v?.key_mode === 'signer'
        ? await SignerCustody.open({
            cfg,
            store,
            lease,
            log: log.child({ part: 'signer' }),
            onSigned: (event) => metrics.observeSign(event),
          })
        : null;
    pilot = new Pilot(
      cfg,
      store,
      supervisor,
      log,
      chain,
      lease,
      signing,
      metrics,
      options.configFile ?? null,
    );
    return pilot;
  }

  /** Safe boot, supervision, local HTTP, and the report and guard loops. */
  async start(): Promise<void> {
    // Before anything touches the daemon or the key: a running daemon of another chain is refused.
    const wrong = await this.checkNetwork();
    if (wrong) throw new Error(`refusing to start: ${wrong}`);
    const running = await this.supervisor.probe();
    // Before the supervisor may start the daemon: its binary (installed in the background, the daemon
    // held meanwhile), and whether it waits for state sync.
    this.binary?.begin();
    await this.bootstrap.begin(running);
    const saved = this.store.get().lease;
    if (saved?.holder && saved.expiresAtWall > Date.now())
      this.lease.restore(saved.epoch, saved.expiresAtWall, Date.now());
    this.lease.epoch = Math.max(this.lease.epoch, this.store.get().highestEpoch);
    if (this.custody) {
      this.holdsKey = await this.custody.holdsValidatorKey();
      // Safe boot: a stopped daemon never starts with the real key unless we hold a valid lease.
      // Standalone (no commander) has no lease: a solo validator keeps its key.
      if (!running && this.holdsKey && this.cfg.commander && this.lease.expired()) {
        await this.custody.restoreOwnKey();
        this.holdsKey = false;
        this.log.warn(
          'safe boot: the home held the validator key without a valid lease; restored the node key',
        );
      }
    }
    if (this.signing) {
      // The signer dials first and redials until the daemon listens: the daemon asks for its key at start.
      const reconfigured = await this.signing.configureDaemon();
      this.signing.start();
      await this.supervisor.begin();
      if (reconfigured && running) {
        this.log.warn(
          'signer mode: priv_validator_laddr changed in the daemon config; restarting the daemon',
        );
        await this.supervisor.restart();
      }
    } else await this.supervisor.begin();
    await this.initSigner();
    const local = await serveLocal(this.cfg.http.listen, {
      status: () => this.status(),
      healthy: () => monoNow() - this.lastLoopMono < 3 * this.intervalMs() + 5000,
      metrics: async () => ({
        contentType: this.metrics.registry.contentType,
        body: await this.metrics.registry.metrics(),
      }),
    });
    this.server = local.server;
    this.url = local.url;
    if (this.custody && this.cfg.commander) {
      this.guardTimer = setInterval(() => this.track('guard', this.guard()), GUARD_INTERVAL_MS);
    }
    this.schedule(0);
  }

  private intervalMs(): number {
    return this.cfg.commander?.report_interval_ms ?? this.cfg.standalone?.interval_ms ?? 5000;
  }

  private async initSigner(): Promise<void> {
    const c = this.cfg.chain;
    const v = this.cfg.validator;
    if (!c?.hot_mnemonic_file || !v?.account_address || !v.operator_address) return;
    try {
      const [{ DirectSecp256k1HdWallet }, { HotSigner }] = await Promise.all([
        import('@cosmjs/proto-signing'),
        import('./tx.js'),
      ]);
      const mnemonic = (await fs.readFile(c.hot_mnemonic_file, 'utf8')).trim();
      const [acct] = await (
        await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: c.bech32_prefix })
      ).getAccounts();
      if (this.chain && acct) this.chain.w.granteeAddress = acct.address;
      this.signer = new HotSigner({
        rpcUrl: this.cfg.daemon.rpc_url,
        mnemonicFile: c.hot_mnemonic_file,
        prefix: c.bech32_prefix,
        gasPrice: c.gas_price,
        gasLimit: c.gas_limit,
        broadcastPollIntervalMs: c.broadcast_poll_interval_ms,
        broadcastTimeoutMs: c.broadcast_timeout_ms,
        granter: v.account_address,
        valoper: v.operator_address,
      });
    } catch (error) {
      this.log.error(`hot key unusable (${(error as Error).message}); votes and delegations are disabled`);
    }
  }

  /** Stops the loops and the local server; the daemon is left as it is. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reportTimer) clearTimeout(this.reportTimer);
    if (this.guardTimer) clearInterval(this.guardTimer);
    await Promise.all(this.inFlight);
    await this.signing?.stop();
    this.supervisor.detach();
    this.chain?.disconnect();
    this.signer?.disconnect();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  status() {
    return {
      node: this.cfg.node.name,
      role: this.cfg.node.role,
      mode: this.cfg.commander ? 'commander' : 'standalone',
      enrolled: this.secret !== null,
      lastAcceptedAt: this.lastAcceptedAt,
      leaseRemainingMs: this.lease.remainingMs(),
      refused: this.refused,
      /** Why the daemon is left down although it should run (maintenance, an upgrade halt). */
      daemonHeld: this.supervisor.held,
      report: this.lastReport,
    };
  }

  /**
   * Why the supervisor must not start the daemon on its own now: a maintenance window, or (without
   * cosmovisor, which switches binaries itself) an upgrade halt with the same binary still in place.
   */
  private async daemonHold(): Promise<string | null> {
    const window = await this.currentMaintenance();
    if (window) return describeMaintenance(window);
    const waiting = this.binary?.problem ?? this.bootstrap.hold();
    if (waiting) return waiting;
    return this.cosmovisor ? null : this.halt.hold(this.lastHeight);
  }

  /** The maintenance window running now, from its file (read each time: the CLI writes it). */
  private async currentMaintenance(): Promise<MaintenanceFact | null> {
    const window = await readMaintenance(this.cfg.node.state_dir, Date.now()).catch((error: Error) => {
      this.log.warn(error.message);
      return null;
    });
    if (window?.until !== this.maintenance?.until)
      this.log.info(window ? describeMaintenance(window) : 'maintenance window over');
    this.maintenance = window;
    return window;
  }

  /** After each round's facts: forget a halt the node got past; double_sign_check_height for upgrades. */
  private async followUpgrade(upgrade: UpgradeReading, height: number | null): Promise<void> {
    await this.halt.observe(height);
    await this.checkHeight?.step(upgrade, height);
  }

  /** The daemon's chain against node.chain_id, once its RPC answers: a problem, or null (agrees, or not up yet). */
  private async checkNetwork(): Promise<string | null> {
    if (this.networkChecked) return null;
    const status = await this.rpc.status().catch(() => null);
    if (!status) return null;
    const wrong = wrongNetwork(status, this.cfg.node.chain_id, this.cfg.daemon.rpc_url);
    this.networkChecked = wrong === null;
    return wrong;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.reportTimer = setTimeout(() => this.track('loop', this.loop()), ms);
  }

  private track(what: 'loop' | 'guard', run: Promise<void>): void {
    const settled = run
      .catch((error: Error) => this.log.error(`${what}: ${error.message}`))
      .finally(() => this.inFlight.delete(settled));
    this.inFlight.add(settled);
  }

  private async loop(): Promise<void> {
    // A daemon started (or replaced) after the pilot: its first answer decides. The pilot then
    // reports and acts no more (/status says why; /healthz goes stale); the daemon is left as it is.
    const wrong = await this.checkNetwork();
    if (wrong) {
      this.refused = wrong;
      this.log.error(`stopped reporting and acting: ${wrong}`);
      return;
    }
    let next = this.intervalMs();
    try {
      this.binary?.retryIfDue();
      const { report, upgrade } = await this.gather();
      await this.followUpgrade(upgrade, report.daemon.height).catch((error: Error) =>
        this.log.warn(`chain upgrade: ${error.message}`),
      );
      this.lastReport = report;
      this.metrics.update(report);
      if (this.cfg.commander) next = await this.reportOnce(report);
      else await this.standalone(report);
      this.lastLoopMono = monoNow();
    } catch (error) {
      this.log.error(`loop: ${(error as Error).message}`);
    }
    if (this.cfg.commander) await this.checkDeadMan();
    this.schedule(next);
  }

  /** Gathers every fact of one report (seq and results are filled in when sending). */
  async collect(): Promise<Report> {
    return (await this.gather()).report;
  }

  private async gather(): Promise<{ report: Report; upgrade: UpgradeReading }> {
    const cfg = this.cfg;
    // Read before any await: the guard may fence meanwhile, and a report must never say
    // "fenced" next to daemon facts from before the stop.
    const fenced = this.fenced;
    const running = await this.supervisor.isRunning();
    const daemon = await collectDaemon(this.rpc, {
      running,
      desired: this.supervisor.desired,
      restarts: this.supervisor.restarts,
    });
    this.stall.observe(daemon.height);
    if (daemon.height !== null) this.lastHeight = daemon.height;
    daemon.stateSyncRpcUrl = cfg.daemon.state_sync_rpc_url ?? null;
    daemon.snapshotInterval = await snapshotInterval(cfg.daemon.home);
    await this.bootstrap
      .observe(daemon, this.store.get().beamPeers)
      .catch((error: Error) => this.log.warn(`state sync: ${error.message}`));
    const upgrade = await collectUpgrade({
      rpc: this.rpc,
      rpcReachable: daemon.rpcReachable,
      daemonHome: cfg.daemon.home,
      cosmovisor: this.cosmovisor,
      height: this.lastHeight,
    });
    let chain: Report['chain'] = null;
    const v = cfg.validator;
    if (v) {
      const commits =
        daemon.height !== null
          ? await collectCommits(this.rpc, daemon.height, v.recent_commits, v.consensus_address)
          : { recentCommits: [], networkSignedShare: null };
      const base = {
        validatorAddress: v.consensus_address,
        ...commits,
        operatorAddress: v.operator_address ?? null,
        signingInfo: null,
        validator: null,
        balances: [],
        rewards: [],
        commission: [],
        proposals: [],
        grants: null,
        errors: [] as string[],
      };
      const extra =
        this.chain && daemon.rpcReachable
          ? await this.chain
              .collect()
              .catch((e: Error) => ({ errors: [`chain queries: ${e.message.slice(0, 300)}`] }))
          : {};
      chain = { ...base, ...extra };
      chain.errors = [...chain.errors, ...upgrade.errors].slice(0, 20);
    }
    const sockets = summarizeInbound(
      await readTcpTables(),
      cfg.daemon.p2p_port,
      {
        inboundTotal: cfg.sockets.flood_inbound_total,
        synRecv: cfg.sockets.flood_syn_recv,
        perRemote: cfg.sockets.flood_per_remote,
      },
      cfg.daemon.p2p_host,
    );
    const remaining = this.lease.remainingMs();
    const leaseExpiresAt = remaining === null ? null : Math.max(0, Date.now() + remaining);
    let custody: KeyCustody | null = null;
    if (this.signing) custody = this.signing.facts(leaseExpiresAt);
    else if (cfg.validator?.key_mode === 'external') {
      // Horcrux or TMKMS signs: Beam only watches (the commander checks the fleet agrees).
      custody = {
        mode: 'external',
        holdsValidatorKey: false,
        highestEpoch: this.store.get().highestEpoch,
        leaseExpiresAt: null,
        fenced: false,
        signMark: null,
        signerConnected: null,
      };
    } else if (this.custody) {
      this.holdsKey = await this.custody.holdsValidatorKey().catch(() => this.holdsKey);
      custody = {
        mode: 'file',
        holdsValidatorKey: this.holdsKey,
        highestEpoch: this.store.get().highestEpoch,
        leaseExpiresAt,
        fenced,
        signMark: null,
        signerConnected: null,
      };
    }
    const report: Report = {
      nodeId: cfg.node.name,
      seq: this.store.get().seq + 1,
      sentAt: Date.now(),
      pilotVersion: PILOT_VERSION,
      role: cfg.node.role,
      chainId: cfg.node.chain_id,
      daemon,
      chain,
      host: await collectHost(cfg.daemon.home),
      sockets,
      custody,
      upgrade: upgrade.facts,
      maintenance: await this.currentMaintenance(),
      bootstrap: this.bootstrap.facts(),
      configVersion: this.store.get().configVersion,
      results: this.ledger.pending().slice(-100),
    };
    return { report, upgrade };
  }

  /** One signed report; returns the delay before the next. Enrolls first when there is no secret. */
  private async reportOnce(report: Report): Promise<number> {
    const c = this.cfg.commander!;
    this.secret ??= await readSecret(this.cfg.node.state_dir);
    if (!this.secret) return this.enroll(report);
    try {
      const seq = await this.store.update((s) => ++s.seq);
      const sentMono = monoNow();
      const sentWall = Date.now();
      const body: Report = { ...report, seq, sentAt: sentWall, results: this.ledger.pending().slice(-100) };
      const reply = await sendReport(c.url, this.secret.secret, body, c.request_timeout_ms, sentWall);
      this.failures = 0;
      this.lastAcceptedAt = Date.now();
      this.lastReplyMono = monoNow();
      if (body.custody?.fenced) {
        this.fenced = false;
        this.signing?.fenceReported();
      }
      await this.ledger.acknowledge(reply.ackedResults);
      await this.applyLease(reply.lease, reply.commanderTime, sentMono, sentWall);
      // Each action on its own: a bad one is refused alone, the others and the lease still apply.
      const taken = await takeActions(
        reply.actions,
        this.ledger,
        (action) => this.runAction(action, reply.commanderTime, sentMono, sentWall),
        this.log,
      );
      const keyAction = taken.some(
        ({ action, result }) => result !== null && (action.type === 'promote' || action.type === 'demote'),
      );
      this.tickAgeMs = reply.lastTickAt === null ? 0 : reply.commanderTime - reply.lastTickAt;
      this.metrics.replied(this.tickAgeMs);
      // A key action's result goes back at once: a switchover's promote waits on the demote's.
      return keyAction ? 0 : Math.min(reply.nextReportMs, c.report_interval_ms);
    } catch (error) {
      this.failures++;
      this.log.warn(`report failed (${this.failures}): ${(error as Error).message}`);
      return backoffDelay(this.failures, c.report_interval_ms, Math.max(c.report_interval_ms, 60_000));
    }
  }

  private async enroll(report: Report): Promise<number> {
    const c = this.cfg.commander!;
    if (!c.enrollment_token_file) {
      this.log.error('no node secret and no commander.enrollment_token_file: cannot enroll');
      return 30_000;
    }
    try {
      const claim =
        this.store.get().claim ??
        (await this.store.update((s) => {
          s.claim = randomBytes(32).toString('hex');
          return s.claim;
        }));
      const token = (await fs.readFile(c.enrollment_token_file, 'utf8')).trim();
      const identity =
        this.cfg.node.identity === 'ec2'
          ? await fetchInstanceIdentity(this.cfg.node.imds_url, c.request_timeout_ms)
          : null;
      const reply = await sendEnroll(
        c.url,
        {
          enrollmentToken: token,
          name: this.cfg.node.name,
          role: this.cfg.node.role,
          chainId: this.cfg.node.chain_id,
          pilotVersion: PILOT_VERSION,
          claim,
          cometNodeId: report.daemon.cometNodeId,
          p2pAddress: this.cfg.daemon.p2p_host
            ? `${this.cfg.daemon.p2p_host}:${this.cfg.daemon.p2p_port}`
            : null,
          instanceId: identity ? identity.instanceId : (this.cfg.node.instance_id ?? null),
          ...(identity
            ? { instanceIdentity: { document: identity.document, signature: identity.signature } }
            : {}),
        },
        c.request_timeout_ms,
      );
      if (reply.status === 'pending') {
        this.log.info(`enrollment pending approval as ${reply.nodeId}`);
        return Math.min(reply.retryAfterMs, 60_000);
      }
      await writeSecret(this.cfg.node.state_dir, reply.nodeId, reply.secret);
      this.secret = { nodeId: reply.nodeId, secret: reply.secret };
      await this.store.update((s) => {
        s.claim = null;
      });
      this.log.info(`enrolled as ${reply.nodeId}`);
      await this.dropEnrollmentToken(c.enrollment_token_file);
      return 0;
    } catch (error) {
      this.failures++;
      this.log.warn(`enrollment failed: ${(error as Error).message}`);
      return backoffDelay(this.failures, c.report_interval_ms, 60_000);
    }
  }

  /**
   * The fleet token is worth something to an attacker on this machine only until the node has its own
   * secret: it goes as soon as the secret is safely written.
   */
  private async dropEnrollmentToken(file: string): Promise<void> {
    try {
      await fs.rm(file, { force: true });
    } catch (error) {
      this.log.warn(
        `enrolled, but the enrollment token file ${file} could not be deleted (${(error as Error).message}): delete it by hand`,
      );
    }
  }

  private async applyLease(
    grant: LeaseGrant | null,
    commanderTime: number,
    sentMono: number,
    sentWall: number,
  ) {
    if (!grant || grant.epoch < this.store.get().highestEpoch) return;
    this.lease.grant(grant, commanderTime, sentMono);
    await this.store.update((s) => {
      s.highestEpoch = Math.max(s.highestEpoch, grant.epoch);
      s.lease = {
        epoch: grant.epoch,
        holder: grant.holder,
        expiresAtWall: sentWall + (grant.expiresAt - commanderTime),
      };
      // A grant never enables signing (a promote does, above its floor); losing the lease disables it.
      if (!grant.holder) s.signing = false;
    });
  }

  private allowContext(): AllowContext {
    const s = this.store.get();
    const l = this.cfg.limits;
    const now = Date.now();
    const today = utcDay(now);
    const c = this.cfg.chain;
    const fee = c ? feePerTx(c.gas_price, c.gas_limit).amount : 0n;
    return {
      role: this.cfg.node.role,
      custody: this.custody !== null || this.signing !== null,
      signer: this.signer !== null,
      denom: this.cfg.chain?.denom ?? null,
      maxDelegatePerAction: BigInt(l.max_delegate_per_action),
      maxDelegatePerDay: BigInt(l.max_delegate_per_day),
      delegatedToday: s.delegated?.day === today ? BigInt(s.delegated.amount) : 0n,
      allowVotes: l.allow_votes,
      allowWithdraw: l.allow_withdraw,
      allowUpgrade: l.allow_upgrade,
      allowUnjail: l.allow_unjail,
      feePerTx: fee,
      maxFeePerDay:
        l.max_fee_per_day !== undefined ? BigInt(l.max_fee_per_day) : fee * DEFAULT_FEE_TXS_PER_DAY,
      feesToday: feesOn(s, today),
      now,
      stateSyncRefusal: this.binary?.failed ?? this.bootstrap.refusal(),
    };
  }

  /** Executes one action at most once (see ActionLedger), after the epoch fence and the allow-list. */
  async runAction(action: Action, commanderTime: number, sentMono = monoNow(), sentWall = Date.now()) {
    // Not run, not recorded: the commander sends it again, and the restarted pilot runs it.
    if (this.switched) return null;
    const refuse = () => {
      if (action.type === 'promote' || action.type === 'demote') {
        const highest = this.store.get().highestEpoch;
        if (action.epoch < highest) return `stale epoch ${action.epoch}: highest seen is ${highest}`;
      }
      return refusal(action, this.allowContext());
    };
    const result = await this.ledger.execute(action, refuse, () =>
      this.executor.perform(action, commanderTime, sentMono, sentWall),
    );
    if (result)
      this.log.info({ action: action.type, id: action.id, ok: result.ok, msg: result.message }, 'action');
    return result;
  }

  /** Changes only the Beam-owned keys of config.toml; keeps every other byte. Returns the changed keys. */
  writeConfig(patch: ConfigPatch): Promise<string[]> {
    return this.executor.writeConfig(patch);
  }

  /** Self-fencing: runs often, independent of the commander's reachability. */
  private async guard(): Promise<void> {
    // A check still waiting for a hung daemon's RPC must not reset the votes of the ones before it,
    // or a hung daemon (every check slower than the interval) would never be fenced.
    if (this.fencing) return;
    if (this.closed || !this.holdsKey || !this.lease.expired()) {
      this.fenceVotes = 0;
      return;
    }
    const running = await this.supervisor.isRunning();
    if (!running) return;
    this.fencing = true;
    try {
      const v = this.cfg.validator!;
      const status = await this.rpc.status().catch(() => null);
      const height = status ? Number(status.sync_info.latest_block_height) : null;
      this.stall.observe(height);
      const commits =
        height !== null
          ? (await collectCommits(this.rpc, height, v.fresh_commits, v.consensus_address)).recentCommits
          : [];
      const fresh = hasFreshSignature(commits, v.fresh_commits, this.stall.stalled());
      if (
        !shouldFence({
          holdsKey: this.holdsKey,
          running,
          leaseExpired: this.lease.expired(),
          freshSignature: fresh,
        })
      ) {
        this.fenceVotes = 0;
        return;
      }
      this.log.debug({ height, commits, stalled: this.stall.stalled() }, 'guard: no fresh signature');
      // One failed RPC read is not proof of a stall: fence when consecutive checks agree.
      if (++this.fenceVotes < FENCE_CONFIRMATIONS) return;
      this.fenceVotes = 0;
      this.log.warn('lease expired and no fresh signature on our node: fencing (stopping the daemon)');
      await this.supervisor.stop();
      this.fenced = true;
    } catch (error) {
      this.log.error(`guard: ${(error as Error).message}`);
    } finally {
      this.fencing = false;
    }
  }

  /** Dead-man: the commander has not answered, or its scheduled tick is stale, for longer than the limit. */
  private async checkDeadMan(): Promise<void> {
    const limit = this.cfg.commander!.dead_man_after_ms;
    const silent = monoNow() - this.lastReplyMono > limit;
    const staleTick = this.tickAgeMs > limit;
    const change = this.deadMan.set(silent || staleTick);
    if (change) {
      await this.alert(
        change === 'raised'
          ? `beam-pilot ${this.cfg.node.name}: dead-man — the commander ${silent ? 'has not answered' : 'tick is stale'} for over ${Math.round(limit / 1000)} s`
          : `beam-pilot ${this.cfg.node.name}: the commander is back`,
      );
    }
  }

  private async alert(text: string): Promise<void> {
    if (!this.alertTargets) return;
    const failures = await sendAlert(this.alertTargets, text).catch((e: Error) => [e.message]);
    for (const f of failures) this.log.warn(`alert not delivered: ${f}`);
  }

  /** Standalone policies (see planStandalone), executed through the same ledger and allow-list. */
  private async standalone(report: Report): Promise<void> {
    const chain = report.chain;
    const denom = this.cfg.chain?.denom;
    if (!chain || !denom) return;
    const sa = this.cfg.standalone;
    const plan = planStandalone(
      chain,
      new Set(this.store.get().announcedProposals),
      {
        denom,
        threshold: sa?.auto_bond_threshold ? BigInt(sa.auto_bond_threshold) : null,
        feeReserve: BigInt(sa?.fee_reserve ?? '0'),
        withdrawFirst: sa?.withdraw_before_bond ?? false,
        canSign: this.signer !== null,
      },
      this.allowContext(),
    );
    for (const p of plan.announce) {
      const end = p.votingEnd ? new Date(p.votingEnd).toISOString() : 'unknown';
      await this.alert(`New proposal #${p.id} in voting: ${p.title || '(untitled)'} — voting ends ${end}`);
    }
    if (plan.announce.length > 0) {
      await this.store.update((s) => {
        s.announcedProposals = [...s.announcedProposals, ...plan.announce.map((p) => p.id)].slice(-500);
      });
    }
    const stamp = Date.now();
    if (plan.withdraw) {
      const w: Action = {
        id: `auto-withdraw-${stamp}`,
        issuedAt: stamp,
        type: 'withdraw-rewards',
        commission: true,
      };
      await this.runAction(w, stamp);
    }
    if (plan.bond === 0n) return;
    const amount = { denom, amount: plan.bond.toString() };
    const r = await this.runAction(
      { id: `auto-bond-${stamp}`, issuedAt: stamp, type: 'delegate', amount },
      stamp,
    );
    const outcome = r?.ok ? `tx ${r.txHash}` : r?.message;
    if (r) await this.alert(`beam-pilot ${this.cfg.node.name}: auto-bond ${plan.bond}${denom}: ${outcome}`);
  }
}
