/**
 * Sentry replacement end to end, timed: a sentry's machine is killed, the commander's sentry defence
 * terminates its instance in the EC2 emulation, the autoscaling group launches a new one with an
 * empty home, whose pilot installs the chain binary from a loopback URL (sha256 checked), enrolls on
 * its instance identity, waits for the commander's state-sync action, and whose daemon restores a
 * snapshot and blocksyncs; done when every validator node has it as a peer and it is at the tip.
 *
 * The settings Beam ships: the commander's defaults (self-hosted tick every 15 s, reports every 5 s,
 * `settings.sentry` defaults, state sync's trust period) and bundled pilots as installed, on 6 s
 * blocks; but `replaceAfterMs`, 10 minutes shipped, is shortened (a policy wait, not work): the figure
 * says what the shipped value adds.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSentrySettings, type SentrySettings } from '../commander/sentry/settings.js';
import { buildPilot } from '../pilot/build.js';
import {
  describeTimeline,
  followReplacement,
  pastRetention,
  type ReplacementFleet,
  type ReplacementTimeline,
  startReplacementFleet,
} from '../test/e2e/replacement-kit.js';
import { waitFor } from '../test/helpers/wait.js';
import { quantile, round } from './stats.js';

/** What a replacement may take beyond the replaceAfterMs wait. */
export const REPLACEMENT_GOAL_S = 300;

/** The steps of one replacement, in seconds; each from the step before it unless said otherwise. */
export interface ReplacementSteps {
  /** Kill → the instance terminated: the silence (freshReportMs, then replaceAfterMs) and a tick. */
  termination: number;
  /** Termination → the group's new instance launched. */
  launch: number;
  /** Launch → enrolled and approved on its instance identity (the pilot's start included). */
  enrollment: number;
  /** Launch → the chain binary downloaded, checked and in place (beside the enrollment). */
  binaryInstall: number | null;
  /** Enrolled → the state-sync action queued by a tick (the pilot's first reports included). */
  stateSyncAction: number;
  /** Action → the pilot wrote [statesync] and started the daemon (the next report's reply). */
  daemonStart: number;
  /** Daemon started → a snapshot restored (discovery_time 15 s, then the restore). */
  stateSync: number | null;
  /** Snapshot restored → blocksynced to the tip, in consensus. */
  catchUp: number | null;
  /** Caught up → every validator node peered with it and it at the tip, not catching up. */
  serving: number;
}

export interface ReplacementRun {
  victim: string;
  replacement: string;
  /** Kill → serving peers at the tip. */
  totalS: number;
  /** The same without the replaceAfterMs wait. */
  afterWaitS: number;
  steps: ReplacementSteps;
  snapshotHeight: number | null;
}

export interface ReplacementBench {
  runs: ReplacementRun[];
  totalS: { p50: number; min: number; max: number };
  /** Median of each step over the runs. */
  stepsP50: Record<keyof ReplacementSteps, number | null>;
  replaceAfterMs: number;
  shippedReplaceAfterMs: number;
  /** The median total with the shipped replaceAfterMs in place of the shortened one. */
  shippedTotalS: number;
  goal: { afterWaitS: number; met: boolean };
  settings: {
    blockTimeMs: number;
    snapshotInterval: number;
    retainBlocks: number;
    reportIntervalMs: number;
    tick: string;
    freshReportMs: number;
    replacementDelayMs: number;
    fleet: string;
    binaryBytes: number;
  };
}

const BLOCK_TIME_MS = 6000;
/**
 * Every 3 blocks (18 s; a snapshot lives 36 s, past the 15 s discovery): the devnet restores only a
 * snapshot at or above the trust height (the tip when the action is made), where CometBFT verifies an
 * older one backwards, so a fleet's usual interval (1000 blocks) would wait for the next one here.
 */
const SNAPSHOT_INTERVAL = 3;
const RETAIN_BLOCKS = 20;
const TICK = '*/15 * * * * *';
const REPORT_INTERVAL_MS = 5000;
const REPLACE_AFTER_MS = 30_000;
const REPLACEMENT_DELAY_MS = 1000;
const SENTRIES = 3;

const secs = (from: number | null, to: number | null) =>
  from === null || to === null ? null : round((to - from) / 1000, 1);

function stepsOf(t: ReplacementTimeline): ReplacementSteps {
  return {
    termination: secs(t.killedAt, t.terminatedAt)!,
    launch: secs(t.terminatedAt, t.launchedAt)!,
    enrollment: secs(t.launchedAt, t.approvedAt)!,
    binaryInstall: secs(t.launchedAt, t.binaryInstalledAt),
    stateSyncAction: secs(t.approvedAt, t.stateSyncActionAt)!,
    daemonStart: secs(t.stateSyncActionAt, t.daemonStartedAt)!,
    stateSync: secs(t.daemonStartedAt, t.snapshotRestoredAt),
    catchUp: secs(t.snapshotRestoredAt, t.caughtUpAt),
    serving: secs(t.caughtUpAt ?? t.daemonStartedAt, t.servingAt)!,
  };
}

export async function measureSentryReplacement(options: {
  runs: number;
  log: (line: string) => void;
}): Promise<ReplacementBench> {
  const shipped = parseSentrySettings({});
  // The in-process commander logs its warnings only (the pilots log at info, for the binary's time).
  const logLevel = process.env.BEAM_LOG_LEVEL;
  process.env.BEAM_LOG_LEVEL = 'warn';
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-bench-replacement-'));
  let fleet: ReplacementFleet | undefined;
  try {
    fleet = await startFleet(dir);
    return await measure(fleet, shipped, options);
  } finally {
    await fleet?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    if (logLevel === undefined) delete process.env.BEAM_LOG_LEVEL;
    else process.env.BEAM_LOG_LEVEL = logLevel;
  }
}

async function startFleet(dir: string): Promise<ReplacementFleet> {
  const bundle = await buildPilot(path.join(dir, 'dist', 'beam-pilot.mjs'));
  return startReplacementFleet({
    dir,
    blockTimeMs: BLOCK_TIME_MS,
    // Fast blocks until the chain is past what every node keeps (a new node must state-sync).
    startBlockTimeMs: 200,
    standby: 1,
    sentries: SENTRIES,
    retainBlocks: RETAIN_BLOCKS,
    snapshotInterval: SNAPSHOT_INTERVAL,
    reportIntervalMs: REPORT_INTERVAL_MS,
    tick: TICK,
    replacementDelayMs: REPLACEMENT_DELAY_MS,
    pilotBundle: bundle,
    settings: { sentry: { replaceAfterMs: REPLACE_AFTER_MS } },
  });
}

async function measure(
  fleet: ReplacementFleet,
  shipped: SentrySettings,
  options: { runs: number; log: (line: string) => void },
): Promise<ReplacementBench> {
  const sentries = () =>
    fleet.devnet.info.nodes
      .filter((n) => n.role === 'sentry' && fleet.pilots.get(n.name)?.running)
      .map((n) => n.name);
  await pastRetention(fleet, 120_000);
  fleet.devnet.hub.setBlockTime(BLOCK_TIME_MS);
  const runs: ReplacementRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    // Every node fresh and following at 6 s blocks, each sentry serving: the fleet as it runs.
    await waitFor(
      async () => {
        const nodes = (await fleet.commander.deps.store.listNodes()).map((n) => n.value);
        const now = Date.now();
        return sentries().every((name) => {
          const node = nodes.find((n) => n.id === name);
          const d = node?.lastReport?.daemon;
          return (
            node?.status === 'approved' &&
            node.lastSeen !== null &&
            now - node.lastSeen < REPORT_INTERVAL_MS + 1000 &&
            d?.running &&
            d.catchingUp === false &&
            (d.peers ?? 0) > 0
          );
        });
      },
      'every sentry reporting and serving',
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await new Promise((r) => setTimeout(r, 2 * BLOCK_TIME_MS));
    const victim = sentries()[0]!;
    options.log(`  killing ${victim}`);
    const killedAt = await fleet.kill(victim);
    const t = await followReplacement(fleet, victim, killedAt, {
      timeoutMs: shipped.freshReportMs + REPLACE_AFTER_MS + 240_000,
      intervalMs: 250,
    });
    options.log(`  ${describeTimeline(t)}`);
    const totalS = secs(t.killedAt, t.servingAt)!;
    runs.push({
      victim,
      replacement: t.replacement,
      totalS,
      afterWaitS: round(totalS - REPLACE_AFTER_MS / 1000, 1),
      steps: stepsOf(t),
      snapshotHeight: t.snapshotHeight,
    });
  }
  const totals = runs.map((r) => r.totalS);
  const p50 = (values: (number | null)[]) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length ? round(quantile(known, 0.5)!, 1) : null;
  };
  const stepNames = Object.keys(runs[0]!.steps) as (keyof ReplacementSteps)[];
  const totalP50 = p50(totals)!;
  return {
    runs,
    totalS: { p50: totalP50, min: Math.min(...totals), max: Math.max(...totals) },
    stepsP50: Object.fromEntries(stepNames.map((k) => [k, p50(runs.map((r) => r.steps[k]))])) as Record<
      keyof ReplacementSteps,
      number | null
    >,
    replaceAfterMs: REPLACE_AFTER_MS,
    shippedReplaceAfterMs: shipped.replaceAfterMs,
    shippedTotalS: round(totalP50 + (shipped.replaceAfterMs - REPLACE_AFTER_MS) / 1000, 1),
    goal: {
      afterWaitS: REPLACEMENT_GOAL_S,
      met: runs.every((r) => r.afterWaitS <= REPLACEMENT_GOAL_S),
    },
    settings: {
      blockTimeMs: BLOCK_TIME_MS,
      snapshotInterval: SNAPSHOT_INTERVAL,
      retainBlocks: RETAIN_BLOCKS,
      reportIntervalMs: REPORT_INTERVAL_MS,
      tick: TICK,
      freshReportMs: shipped.freshReportMs,
      replacementDelayMs: REPLACEMENT_DELAY_MS,
      fleet: `${fleet.validators.length} validator nodes (signer mode), ${SENTRIES} sentries`,
      binaryBytes: (await fs.stat(fleet.launches[0]!.binaryPath)).size,
    },
  };
}
