/**
 * The kinds of alert Beam raises, and how long each condition must hold before anyone hears of it
 * (Prometheus' `for`). A kind whose condition clears within its pending time posts nothing.
 */

/** Node health (domain/health.ts): one alert per node and kind. */
export const NODE_KINDS = [
  'pilot-silent',
  'daemon-down',
  'rpc-unreachable',
  'catching-up',
  'height-lag',
  'chain-halted',
  'low-peers',
  'disk',
  'memory',
] as const;

/** The validator key's signing (domain/health.ts): one alert per validator and kind, whoever reports it. */
export const SIGNING_KINDS = ['tombstoned', 'jailed', 'inactive', 'missed-blocks', 'missed-window'] as const;

/** Failover's own problems (failover/machine.ts). */
export const FAILOVER_KINDS = [
  'mode',
  'stray',
  'unfenced',
  'signing-unreachable',
  'no-standby',
  'promote-failed',
] as const;

/** Sentry defence's problems (sentry/facts.ts). */
export const SENTRY_KINDS = ['flood-held', 'rotation-failed', 'replacement-failed'] as const;

/** Pilot versions (upgrade/versions.ts): a pilot behind the fleet's newest or its target version. */
export const UPGRADE_KINDS = ['pilot-version'] as const;

/** Chain upgrades (chain-upgrade/alerts.ts): a node that will not take a plan by itself, or is not through it. */
export const CHAIN_UPGRADE_KINDS = ['upgrade-not-staged', 'upgrade-incomplete'] as const;

/** A node waiting for state sync that the commander cannot start (sentry/bootstrap.ts). */
export const BOOTSTRAP_KINDS = ['state-sync-blocked'] as const;

export const ALERT_KINDS = [
  ...NODE_KINDS,
  ...SIGNING_KINDS,
  ...FAILOVER_KINDS,
  ...SENTRY_KINDS,
  ...UPGRADE_KINDS,
  ...CHAIN_UPGRADE_KINDS,
  ...BOOTSTRAP_KINDS,
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export function isAlertKind(value: string): value is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(value);
}

const MIN = 60_000;

/**
 * How long each condition must hold. Silence, a dead daemon, jail and Beam's own failures are
 * news at once; peers and lag wander for a minute whenever a neighbour restarts; a missed block is
 * news once it outlasts the time a failover (whose thread counts the misses) takes to start; disk
 * and memory move slowly; a stray signer Beam fences within a report or two is not worth a page.
 */
export const DEFAULT_PENDING_MS: Readonly<Record<AlertKind, number>> = {
  'pilot-silent': 0,
  'daemon-down': 0,
  'rpc-unreachable': 30_000,
  'catching-up': 2 * MIN,
  'height-lag': MIN,
  'chain-halted': 0,
  'low-peers': MIN,
  disk: 5 * MIN,
  memory: 5 * MIN,
  tombstoned: 0,
  jailed: 0,
  inactive: 0,
  'missed-blocks': 30_000,
  'missed-window': 0,
  mode: 0,
  stray: 15_000,
  unfenced: 15_000,
  'signing-unreachable': MIN,
  'no-standby': 30_000,
  'promote-failed': 0,
  'flood-held': 0,
  'rotation-failed': 0,
  'replacement-failed': 0,
  // A node upgraded by hand leaves the fleet mixed for minutes: drift is news once it stays.
  'pilot-version': 10 * MIN,
  // A plan is known days ahead and binaries are staged in the meantime: news once it stays an hour.
  'upgrade-not-staged': 60 * MIN,
  // Raised only past the upgrade's settle time, which was its wait.
  'upgrade-incomplete': 0,
  // A fleet just starting has no fresh report for a moment: news once it stays.
  'state-sync-blocked': MIN,
};

/** Something wrong with a node itself: other nodes' troubles that start meanwhile are blamed on it. */
export const CAUSE_KINDS: ReadonlySet<AlertKind> = new Set([
  'pilot-silent',
  'daemon-down',
  'rpc-unreachable',
]);

/**
 * Symptoms one cause raises on many nodes at once (a validator down lowers every sentry's peers):
 * they join the cause's message, or the open message of the same symptom on the chain.
 */
export const SYMPTOM_KINDS: ReadonlySet<AlertKind> = new Set([
  'low-peers',
  'height-lag',
  'catching-up',
  'chain-halted',
  'missed-blocks',
]);

/**
 * What a node starting up goes through: a report without any of these is "healthy", the end of its
 * start-up grace (peers, lag or a full disk do not keep a node in its grace for ever).
 */
export const STARTUP_KINDS: ReadonlySet<AlertKind> = new Set([
  'pilot-silent',
  'daemon-down',
  'rpc-unreachable',
  'catching-up',
]);
