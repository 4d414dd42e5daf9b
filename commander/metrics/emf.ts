/**
 * The commander's figures on Lambda, where nothing can scrape it: CloudWatch embedded metric format
 * (EMF) lines on stdout, which CloudWatch Logs turns into metrics of namespace `Beam` (dimension
 * `Service`). One line per tick (fleet figures) and one per batch of reports (latencies).
 * An EMF line has one value per dimension, so the labelled figures go into the metric names
 * (`Nodes.validator.healthy`, summed over chains) and, in full, into the line's own fields
 * (`nodes`, `failover`), which Logs Insights can query.
 */
import type { CountingSender } from '../adapters/store/client.js';
import { FAILOVER_PHASES, type FleetFigures, NODE_STATES, SEVERITIES } from './figures.js';

export const NAMESPACE = 'Beam';
const SERVICE = 'beam-commander';
const ROLES = ['validator', 'sentry'] as const;

type Unit = 'Count' | 'Milliseconds';
export type WriteLine = (line: string) => void;

/** One EMF document: `metrics` become CloudWatch metrics, `fields` stay queryable log fields. */
function emfLine(
  at: number,
  metrics: Record<string, { value: number | number[]; unit: Unit }>,
  fields: Record<string, unknown>,
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: NAMESPACE,
          Dimensions: [['Service']],
          Metrics: Object.entries(metrics).map(([Name, m]) => ({ Name, Unit: m.unit })),
        },
      ],
    },
    Service: SERVICE,
    ...fields,
    ...Object.fromEntries(Object.entries(metrics).map(([name, m]) => [name, m.value])),
  });
}

/** Store round trips that failed since the last call (the sender counts for the whole process). */
function storeErrorsSince(calls: CountingSender): () => number {
  let seen = calls.errors;
  return () => {
    const delta = Math.max(0, calls.errors - seen);
    seen = calls.errors;
    return delta;
  };
}

/** Writes the tick's line: fleet figures, the tick's duration and the store errors since the last tick. */
export class TickEmf {
  private readonly storeErrors: () => number;

  constructor(
    calls: CountingSender,
    private readonly write: WriteLine,
  ) {
    this.storeErrors = storeErrorsSince(calls);
  }

  tick(figures: FleetFigures, at: number, durationMs: number): void {
    const metrics: Record<string, { value: number; unit: Unit }> = {};
    for (const role of ROLES) {
      for (const state of NODE_STATES) {
        const value = figures.nodes
          .filter((n) => n.role === role && n.state === state)
          .reduce((sum, n) => sum + n.count, 0);
        metrics[`Nodes.${role}.${state}`] = { value, unit: 'Count' };
      }
    }
    for (const severity of SEVERITIES)
      metrics[`AlertsOpen.${severity}`] = { value: figures.alertsOpen[severity], unit: 'Count' };
    metrics.FailoversInProgress = {
      value: figures.failover.filter((f) => f.phase !== FAILOVER_PHASES[0]).length,
      unit: 'Count',
    };
    metrics.TickDuration = { value: durationMs, unit: 'Milliseconds' };
    metrics.StoreErrors = { value: this.storeErrors(), unit: 'Count' };
    this.write(emfLine(at, metrics, { event: 'tick', nodes: figures.nodes, failover: figures.failover }));
  }
}

/**
 * Report latencies, written as one line per batch: when 100 are collected (EMF's limit of values per
 * metric) or the batch is `maxAgeMs` old, checked as each report ends. A container Lambda retires
 * takes its last unwritten batch with it: at most `maxAgeMs` of figures.
 */
export class ReportEmf {
  private durationsMs: number[] = [];
  private statuses: Record<string, number> = {};
  private startedAt = 0;
  private readonly storeErrors: () => number;

  constructor(
    calls: CountingSender,
    private readonly write: WriteLine,
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs = 10_000,
  ) {
    this.storeErrors = storeErrorsSince(calls);
  }

  observe(seconds: number, status: number): void {
    if (this.durationsMs.length === 0) this.startedAt = this.now();
    this.durationsMs.push(Math.round(seconds * 1e6) / 1e3);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (this.durationsMs.length >= 100 || this.now() - this.startedAt >= this.maxAgeMs) this.flush();
  }

  private flush(): void {
    const serverErrors = Object.entries(this.statuses)
      .filter(([status]) => Number(status) >= 500)
      .reduce((sum, [, n]) => sum + n, 0);
    this.write(
      emfLine(
        this.now(),
        {
          ReportDuration: { value: this.durationsMs, unit: 'Milliseconds' },
          Reports: { value: this.durationsMs.length, unit: 'Count' },
          ReportServerErrors: { value: serverErrors, unit: 'Count' },
          StoreErrors: { value: this.storeErrors(), unit: 'Count' },
        },
        { event: 'reports', statuses: this.statuses },
      ),
    );
    this.durationsMs = [];
    this.statuses = {};
  }
}

/** Lambda writes stdout to CloudWatch Logs: one line is one log event. */
export const stdoutLine: WriteLine = (line) => {
  process.stdout.write(`${line}\n`);
};
