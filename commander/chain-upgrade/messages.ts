/** The chain upgrade thread: one message per plan (subject `chain-upgrade:<chain>:<name>`), edited in place. */
import type { ChatMessage, Severity } from '../../bots/model.js';
import { fmtDuration } from '../domain/health.js';
import type { Laggard, NodeProgress, TrackedUpgrade } from './state.js';

export const chainUpgradeSubject = (chainId: string, name: string) => `chain-upgrade:${chainId}:${name}`;
/** Reminders are short posts of their own: the thread itself stays one message. */
export const reminderSubject = (chainId: string, name: string) => `chain-upgrade:${chainId}:${name}:reminder`;

/** `2026-01-06 14:05 UTC`: an estimate needs no seconds. */
export const atMinute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * How long until the estimated time, coarse enough that the thread is not edited every tick: days,
 * hours, 5-minute steps below two hours, minutes in the last quarter of an hour.
 */
export function roughSpan(ms: number): string {
  const min = ms / 60_000;
  if (min >= 2 * 24 * 60) return `${Math.round(min / (24 * 60))} d`;
  if (min < 15) return `${Math.max(1, Math.ceil(min))} min`;
  const steps = Math.round(min / 5) * 5;
  return steps >= 120 ? `${Math.round(min / 60)} h` : `${steps} min`;
}

/** `(about 2026-01-06 14:05 UTC, in 3 h)`, `due now`, or that it is not known yet. */
export function whenText(eta: number | null, now: number): string {
  if (eta === null) return 'time not known yet: estimated once blocks are seen';
  return eta > now ? `about ${atMinute(eta)}, in ${roughSpan(eta - now)}` : `about ${atMinute(eta)}, due now`;
}

const short = (validator: string) => validator.slice(0, 8);

const READY: Record<NodeProgress['ready'], string> = {
  staged: 'binary staged',
  'not-staged': 'binary NOT staged for cosmovisor',
  manual: 'not under cosmovisor: install the binary by hand at the halt',
  unreported: 'staging not reported yet',
  unknown: 'staging unknown (its pilot does not tell)',
};

const READY_MARK: Record<NodeProgress['ready'], string> = {
  staged: '✓',
  'not-staged': '✗',
  manual: '!',
  unreported: '…',
  unknown: '?',
};

const STEP_MARK: Record<NodeProgress['step'], string> = { done: '✓', new: '…', old: '·', silent: '?' };

function stepText(u: TrackedUpgrade, p: NodeProgress): string {
  const from = p.before ?? 'unknown version';
  switch (p.step) {
    case 'done':
      return p.version && p.version !== p.before ? `${from} → ${p.version}` : `past height ${u.height}`;
    case 'new':
      return `${from} → ${p.version ?? 'new binary'}, waiting for the chain`;
    case 'old':
      return `${from}, old binary`;
    case 'silent':
      return 'not reporting';
  }
}

function nodeLines(u: TrackedUpgrade): string {
  const entries = Object.entries(u.nodes).sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(0, ...entries.map(([id]) => id.length));
  return entries
    .map(([id, p]) =>
      u.phase === 'scheduled' || u.phase === 'cancelled'
        ? `${READY_MARK[p.ready]} ${id.padEnd(width)}  ${p.version ?? 'version unknown'}, ${READY[p.ready]}`
        : `${STEP_MARK[p.step]} ${id.padEnd(width)}  ${stepText(u, p)}`,
    )
    .join('\n');
}

/** Nodes that need someone before the halt, one sentence per reason. */
export function readinessWarnings(u: TrackedUpgrade): string[] {
  const by = (ready: NodeProgress['ready']) =>
    Object.entries(u.nodes)
      .filter(([, p]) => p.ready === ready)
      .map(([id]) => id)
      .sort();
  const missing = by('not-staged');
  const manual = by('manual');
  return [
    ...(missing.length
      ? [`Not staged: ${missing.join(', ')} (put the binary in cosmovisor/upgrades/${u.name}/bin).`]
      : []),
    ...(manual.length
      ? [`Not under cosmovisor: ${manual.join(', ')} (someone installs the binary when the chain halts).`]
      : []),
  ];
}

/**
 * What the thread and its reminders say about readiness: the warnings, the nodes whose staging is
 * not known yet, or that every node has the binary staged (only when that is what the nodes told).
 */
function readinessLines(u: TrackedUpgrade): string[] {
  const unknown = Object.entries(u.nodes)
    .filter(([, p]) => p.ready === 'unreported' || p.ready === 'unknown')
    .map(([id]) => id)
    .sort();
  const lines = [
    ...readinessWarnings(u),
    ...(unknown.length ? [`Staging not known yet: ${unknown.join(', ')}.`] : []),
  ];
  return lines.length ? lines : ['Every node has the binary staged.'];
}

/** `v2.0.0`, or `v2.0.0 (val-a, val-b), v2.0.1 (sentry-a)` when our nodes run several. */
function newVersions(u: TrackedUpgrade): string {
  const by = new Map<string, string[]>();
  for (const [id, p] of Object.entries(u.nodes)) {
    const version = p.version ?? 'an unknown version';
    by.set(version, [...(by.get(version) ?? []), id]);
  }
  if (by.size === 1) return [...by.keys()][0]!;
  return [...by]
    .map(([v, ids]) => `${v} (${ids.sort().join(', ')})`)
    .sort()
    .join(', ');
}

function laggardLine(l: Laggard): string {
  return l.validator ? `validator ${short(l.validator)}: ${l.why}` : `${l.node}: ${l.why}`;
}

function title(u: TrackedUpgrade, now: number, settleMs: number): string {
  const nodes = Object.values(u.nodes);
  const switched = nodes.filter((p) => p.step === 'new' || p.step === 'done').length;
  switch (u.phase) {
    case 'scheduled':
      return `Chain upgrade ${u.name} at height ${u.height} (${whenText(u.eta, now)})`;
    case 'upgrading':
      return `Chain upgrade ${u.name}: upgrade in progress — halted at ${u.height}, ${switched} of ${nodes.length} nodes on the new binary`;
    case 'incomplete':
      return `Chain upgrade ${u.name}: not through ${fmtDuration(settleMs)} after the halt at ${u.height}`;
    case 'done': {
      const signing = u.signingSince === null ? '' : `, signing again since height ${u.signingSince}`;
      const runs =
        nodes.length === 0 ? 'no node of ours left to upgrade' : `every node runs ${newVersions(u)}`;
      return `Chain upgrade ${u.name} done: ${runs}${signing}`;
    }
    case 'cancelled':
      return `Chain upgrade ${u.name} at height ${u.height}: cancelled`;
  }
}

function severity(u: TrackedUpgrade): Severity {
  if (u.phase === 'done') return 'ok';
  if (u.phase === 'incomplete') return 'warning';
  if (u.phase === 'scheduled' && readinessWarnings(u).length > 0) return 'warning';
  return 'info';
}

function body(u: TrackedUpgrade): string {
  switch (u.phase) {
    case 'scheduled':
      return readinessLines(u).join('\n');
    case 'upgrading':
      return "Health alerts of this chain's nodes wait while the chain upgrades: this message follows it.";
    case 'incomplete':
      return `${u.laggards.map(laggardLine).join('\n')}\nAlerts about these nodes are told again.`;
    case 'done':
      return 'Every node is past the upgrade height on its new binary.';
    case 'cancelled':
      return 'No node reports the plan any more: it was cancelled (or replaced) before its height.';
  }
}

export function renderChainUpgrade(
  chainId: string,
  u: TrackedUpgrade,
  now: number,
  settleMs: number,
): ChatMessage {
  const info = u.info.trim();
  const context = [
    chainId,
    `seen ${atMinute(u.seenAt)}`,
    ...(u.haltedAt !== null ? [`halted ${atMinute(u.haltedAt)}`] : []),
    ...(u.endedAt !== null && u.phase !== 'cancelled' ? [`through ${atMinute(u.endedAt)}`] : []),
  ].join(' · ');
  return {
    title: title(u, now, settleMs),
    severity: severity(u),
    text: body(u),
    ...(Object.keys(u.nodes).length ? { preformatted: nodeLines(u) } : {}),
    ...(info && u.phase === 'scheduled'
      ? { fields: [{ label: 'Plan info', value: info.length > 300 ? `${info.slice(0, 299)}…` : info }] }
      : {}),
    context,
  };
}

/** A short reminder before the halt; the thread is edited at the same time. */
export function renderReminder(chainId: string, u: TrackedUpgrade, now: number): ChatMessage {
  const warnings = readinessWarnings(u);
  return {
    title: `Reminder: chain upgrade ${u.name} ${u.eta !== null && u.eta > now ? `in about ${roughSpan(u.eta - now)}` : 'is due'}`,
    severity: warnings.length ? 'warning' : 'info',
    text: [
      `The chain halts for it at height ${u.height} (${whenText(u.eta, now)}).`,
      ...readinessLines(u),
    ].join('\n'),
    context: chainId,
  };
}
