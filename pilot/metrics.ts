import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Report } from '../protocol/index.js';
import type { PilotConfig } from './config.js';
import { monoNow } from './lease.js';
import type { SignEvent } from './signer/index.js';

/**
 * The pilot's Prometheus registry (`/metrics`). Every series carries `chain`, `node` and `role` (the
 * registry's default labels), so one Prometheus scrapes a whole fleet; names follow Prometheus'
 * conventions (base units in the name, `_total` for counters). The dashboard and alert rules in
 * ops/ name these metrics: test/ops checks that each one they use exists with its labels.
 */
export class PilotMetrics {
  readonly registry = new Registry();
  private readonly gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name: `beam_pilot_${name}`, help, labelNames, registers: [this.registry] });
  private readonly height = this.gauge('height', 'Latest block height seen by the daemon');
  private readonly lag = this.gauge('block_lag_seconds', 'Age of the latest block seen by the daemon');
  private readonly peers = this.gauge('peers', 'Connected peers');
  private readonly inbound = this.gauge('inbound_connections', 'Inbound p2p connections by TCP state', [
    'state',
  ]);
  private readonly flooded = this.gauge('flooded', '1 when inbound connections exceed the flood thresholds');
  private readonly running = this.gauge('daemon_running', '1 when the daemon process is up');
  private readonly desired = this.gauge(
    'daemon_desired_running',
    '1 when the daemon should run (0: kept stopped on purpose, e.g. fenced or by an action)',
  );
  private readonly restarts = new Counter({
    name: 'beam_pilot_daemon_restarts_total',
    help: 'Daemon restarts after crashes since the pilot started',
    registers: [this.registry],
  });
  private restartsSeen = 0;
  private readonly sign = new Histogram({
    name: 'beam_pilot_sign_duration_seconds',
    help: 'Remote signer: time from a sign request to its reply, by message kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5],
    registers: [this.registry],
  });
  /** Validator nodes only: a sentry watches no validator, and a 0 there would read as "not signing". */
  private readonly validator: { missed: Gauge; signed: Gauge } | null;
  private repliedAtMono = monoNow();
  private tickAgeMs = 0;

  /** `leaseRemainingMs` is read at scrape time: the lease by the pilot's clock, null when it holds none. */
  constructor(cfg: PilotConfig, version: string, leaseRemainingMs: () => number | null) {
    this.registry.setDefaultLabels({ chain: cfg.node.chain_id, node: cfg.node.name, role: cfg.node.role });
    // Process and runtime metrics (CPU, memory, event loop lag, GC). The event-loop monitor samples
    // every 100 ms instead of every 10: an idle pilot should not wake a hundred times a second for it.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.gauge('build_info', 'The running pilot version (always 1)', ['version']).set({ version }, 1);
    new Gauge({
      name: 'beam_pilot_lease_remaining_seconds',
      help: 'Signing lease time left by the pilot clock: 0 once expired, -1 when this node holds none',
      registers: [this.registry],
      collect() {
        const ms = leaseRemainingMs();
        this.set(ms === null ? -1 : Math.max(0, ms) / 1000);
      },
    });
    this.validator = cfg.validator
      ? {
          missed: this.gauge(
            'missed_blocks',
            "The validator's missed blocks in the chain's signing window (its slashing signing info)",
          ),
          signed: this.gauge('latest_commit_signed', '1 when the validator signed the latest commit seen'),
        }
      : null;
    if (cfg.commander) {
      // The dead-man alert's two inputs; standalone pilots have no commander to be silent.
      const metrics = this;
      new Gauge({
        name: 'beam_pilot_commander_reply_age_seconds',
        help: 'Seconds since the commander last accepted a report (since the pilot started, before the first)',
        registers: [this.registry],
        collect() {
          this.set((monoNow() - metrics.repliedAtMono) / 1000);
        },
      });
      new Gauge({
        name: 'beam_pilot_commander_tick_age_seconds',
        help: "Age of the commander's last scheduled tick, as its latest reply said",
        registers: [this.registry],
        collect() {
          this.set(metrics.tickAgeMs / 1000);
        },
      });
    }
  }

  observeSign(e: SignEvent): void {
    this.sign.observe({ kind: e.kind, outcome: e.refused === null ? 'signed' : 'refused' }, e.ms / 1000);
  }

  /** The commander accepted a report; its last tick was `tickAgeMs` old. */
  replied(tickAgeMs: number): void {
    this.repliedAtMono = monoNow();
    this.tickAgeMs = tickAgeMs;
  }

  /** Refreshes the gauges from a collected report. */
  update(r: Report): void {
    const d = r.daemon;
    if (d.height !== null) this.height.set(d.height);
    if (d.latestBlockTime !== null) this.lag.set(Math.max(0, (r.sentAt - d.latestBlockTime) / 1000));
    this.peers.set(d.peers ?? 0);
    this.running.set(d.running ? 1 : 0);
    this.desired.set(d.desired === 'running' ? 1 : 0);
    // The supervisor counts from the pilot's start; the counter adds what is new.
    if (d.restarts > this.restartsSeen) this.restarts.inc(d.restarts - this.restartsSeen);
    this.restartsSeen = d.restarts;
    if (this.validator && r.chain) {
      if (r.chain.signingInfo) this.validator.missed.set(r.chain.signingInfo.missedBlocksCounter);
      this.validator.signed.set(r.chain.recentCommits[0]?.signed ? 1 : 0);
    }
    this.inbound.reset();
    for (const [state, n] of Object.entries(r.sockets?.inboundByState ?? {})) this.inbound.set({ state }, n);
    this.flooded.set(r.sockets?.flooded ? 1 : 0);
  }
}
