import { Gauge, Histogram, Registry } from 'prom-client';
import type { Report } from '../protocol/index.js';
import type { SignEvent } from './signer/index.js';

/** The pilot's Prometheus registry, refreshed from each collected report. */
export class PilotMetrics {
  readonly registry = new Registry();
  private g = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name: `beam_pilot_${name}`, help, labelNames, registers: [this.registry] });
  private readonly height = this.g('height', 'Latest block height seen by the daemon');
  private readonly lag = this.g('block_lag_seconds', 'Age of the latest block');
  private readonly peers = this.g('peers', 'Connected peers');
  private readonly missed = this.g('missed_blocks', 'Missed blocks counter of the watched validator');
  private readonly signing = this.g('signing', '1 when the validator signed the latest commit seen');
  private readonly inbound = this.g('inbound_connections', 'Inbound p2p connections by TCP state', ['state']);
  private readonly flooded = this.g('flooded', '1 when inbound connections exceed the flood thresholds');
  private readonly reportAge = this.g(
    'last_report_age_seconds',
    'Seconds since the commander accepted a report',
  );
  private readonly restarts = this.g(
    'daemon_restarts',
    'Daemon restarts after crashes since the pilot started',
  );
  private readonly running = this.g('daemon_running', '1 when the daemon process is up');
  private readonly lease = this.g('lease_remaining_seconds', 'Lease time left by the pilot clock (-1: none)');

  private readonly sign = new Histogram({
    name: 'beam_pilot_sign_duration_seconds',
    help: 'Remote signer: time from a sign request to its reply, by message kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5],
    registers: [this.registry],
  });

  observeSign(e: SignEvent): void {
    this.sign.observe({ kind: e.kind, outcome: e.refused === null ? 'signed' : 'refused' }, e.ms / 1000);
  }

  update(r: Report, lastAcceptedAt: number | null, leaseRemainingMs: number | null): void {
    const d = r.daemon;
    if (d.height !== null) this.height.set(d.height);
    if (d.latestBlockTime !== null) this.lag.set(Math.max(0, (r.sentAt - d.latestBlockTime) / 1000));
    this.peers.set(d.peers ?? 0);
    this.running.set(d.running ? 1 : 0);
    this.restarts.set(d.restarts);
    if (r.chain?.signingInfo) this.missed.set(r.chain.signingInfo.missedBlocksCounter);
    const latest = r.chain?.recentCommits[0];
    this.signing.set(latest?.signed ? 1 : 0);
    this.inbound.reset();
    for (const [state, n] of Object.entries(r.sockets?.inboundByState ?? {})) this.inbound.set({ state }, n);
    this.flooded.set(r.sockets?.flooded ? 1 : 0);
    this.reportAge.set(lastAcceptedAt === null ? -1 : (Date.now() - lastAcceptedAt) / 1000);
    this.lease.set(leaseRemainingMs === null ? -1 : leaseRemainingMs / 1000);
  }
}
