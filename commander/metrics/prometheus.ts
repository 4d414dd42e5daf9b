/**
 * The self-hosted commander's Prometheus metrics (`GET /metrics`): the fleet figures of the latest
 * tick, report handling latency, store errors, and the process and Node runtime metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CountingSender } from '../adapters/store/client.js';
import type { Route } from '../handlers/router.js';
import { FAILOVER_PHASES, type FleetFigures, SEVERITIES } from './figures.js';

export class CommanderMetrics {
  readonly registry = new Registry();
  private readonly nodes = new Gauge({
    name: 'beam_commander_nodes',
    help: 'Fleet nodes by chain, role and state (healthy, warning, critical: worst open alert; pending, rejected)',
    labelNames: ['chain', 'role', 'state'],
    registers: [this.registry],
  });
  private readonly alerts = new Gauge({
    name: 'beam_commander_alerts_open',
    help: 'Open (fired, unresolved) alerts by severity',
    labelNames: ['severity'],
    registers: [this.registry],
  });
  private readonly phase = new Gauge({
    name: 'beam_commander_failover_phase',
    help: "Each validator's failover phase: 1 for the current one (idle when no operation runs), 0 for the others",
    labelNames: ['chain', 'validator', 'phase'],
    registers: [this.registry],
  });
  private readonly reports = new Histogram({
    name: 'beam_commander_report_duration_seconds',
    help: 'Time to handle a pilot report (POST /v1/pilot/report), by HTTP status',
    labelNames: ['status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly lastTick = new Gauge({
    name: 'beam_commander_last_tick_timestamp_seconds',
    help: 'When the latest scheduled tick finished (Unix seconds)',
    registers: [this.registry],
  });
  private readonly tickDuration = new Gauge({
    name: 'beam_commander_tick_duration_seconds',
    help: 'How long the latest scheduled tick took',
    registers: [this.registry],
  });

  constructor(calls: CountingSender) {
    collectDefaultMetrics({ register: this.registry });
    let seen = calls.errors;
    new Counter({
      name: 'beam_commander_store_errors_total',
      help: 'DynamoDB calls that failed (a lost conditional write is not a failure)',
      registers: [this.registry],
      collect() {
        // The sender counts for the process (a test may reset it): the counter adds what is new.
        if (calls.errors > seen) this.inc(calls.errors - seen);
        seen = calls.errors;
      },
    });
    for (const severity of SEVERITIES) this.alerts.set({ severity }, 0);
  }

  observeReport(seconds: number, status: number): void {
    this.reports.observe({ status: String(status) }, seconds);
  }

  observeTick(figures: FleetFigures, at: number, durationMs: number): void {
    this.nodes.reset();
    for (const n of figures.nodes) this.nodes.set({ chain: n.chain, role: n.role, state: n.state }, n.count);
    for (const severity of SEVERITIES) this.alerts.set({ severity }, figures.alertsOpen[severity]);
    this.phase.reset();
    for (const f of figures.failover) {
      for (const phase of FAILOVER_PHASES)
        this.phase.set({ chain: f.chain, validator: f.validator, phase }, phase === f.phase ? 1 : 0);
    }
    this.lastTick.set(at / 1000);
    this.tickDuration.set(durationMs / 1000);
  }

  /** `GET /metrics` in the Prometheus text format. */
  route(): Route {
    return {
      method: 'GET',
      path: '/metrics',
      handle: async () => ({
        statusCode: 200,
        headers: { 'content-type': this.registry.contentType },
        body: await this.registry.metrics(),
      }),
    };
  }
}
