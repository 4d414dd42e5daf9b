/** The optional daily summary per chain: signing uptime, misses, alerts, proposals voted, actions taken. */
import type { ChatMessage } from '../../bots/model.js';
import type { VoteOption } from '../../protocol/index.js';
import { OPTION_LABELS } from '../governance/messages.js';
import { type DigestProgress, newDigest } from './state.js';

/** An operation that ended: counted once in its chain's digest. */
export interface FinishedOp {
  id: string;
  chainId: string;
  kind: 'failover' | 'switchover' | 'rotation' | 'replacement' | 'restart';
  ok: boolean;
  /** When it ended; one that ended before the period is not the period's. */
  at: number;
}

/** A vote cast on chain in the period (governance state). */
export interface DigestVote {
  proposalId: string;
  option: VoteOption;
  auto: boolean;
}

const COUNTED_KEPT = 200;

/** Adds this tick's commits (above the last counted, from the genesis grace on), fired alerts and finished operations. */
export function observeDigest(
  progress: DigestProgress,
  input: {
    commits: readonly { height: number; signed: boolean }[];
    firstSignedHeight: number | null;
    fired: readonly { severity: string }[];
    finished: readonly FinishedOp[];
  },
): DigestProgress {
  const next = structuredClone(progress);
  const commits = [...input.commits].sort((a, b) => a.height - b.height);
  // The first commits seen only set the mark: they may be from before the period.
  if (next.lastHeight === null) next.lastHeight = commits.at(-1)?.height ?? null;
  for (const c of commits) {
    if (next.lastHeight !== null && c.height <= next.lastHeight) continue;
    next.lastHeight = c.height;
    if (input.firstSignedHeight === null || c.height < input.firstSignedHeight) continue;
    if (c.signed) next.signed++;
    else next.missed++;
  }
  next.alerts += input.fired.length;
  next.critical += input.fired.filter((a) => a.severity === 'critical').length;
  for (const op of input.finished) {
    if (op.at < next.since || next.counted.includes(op.id)) continue;
    const label = op.ok ? op.kind : `${op.kind} failed`;
    next.actions[label] = (next.actions[label] ?? 0) + 1;
    next.counted = [...next.counted, op.id].slice(-COUNTED_KEPT);
  }
  return next;
}

/** The first `hourUtc`:00 after `since`: when the digest of the period that began at `since` is due. */
export function digestDueAt(since: number, hourUtc: number): number {
  const d = new Date(since);
  const slot = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hourUtc);
  return slot > since ? slot : slot + 86_400_000;
}

/** The totals for the next period, keeping what must not be counted twice. */
export function nextPeriod(progress: DigestProgress, now: number): DigestProgress {
  return newDigest(now, progress.lastHeight, progress.counted);
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function share(part: number, whole: number): string {
  return `${(Math.floor((1000 * part) / whole) / 10).toFixed(1)}%`;
}

export function renderDigest(
  chainId: string,
  p: DigestProgress,
  votes: readonly DigestVote[],
  now: number,
): ChatMessage {
  const seen = p.signed + p.missed;
  const actions = Object.entries(p.actions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`);
  return {
    title: `Daily digest of ${chainId}${seen > 0 ? `: ${share(p.signed, seen)} signed` : ''}`,
    severity: 'info',
    fields: [
      { label: 'Period', value: `${iso(p.since)} to ${iso(now)}` },
      {
        label: 'Signed',
        value: seen > 0 ? `${p.signed} of ${seen} blocks seen (${share(p.signed, seen)})` : 'no blocks seen',
      },
      { label: 'Missed', value: String(p.missed) },
      { label: 'Alerts', value: p.alerts > 0 ? `${p.alerts} (${p.critical} critical)` : 'none' },
      {
        label: 'Proposals voted',
        value:
          votes.length > 0
            ? votes
                .map((v) => `#${v.proposalId} ${OPTION_LABELS[v.option]}${v.auto ? ' (auto-vote)' : ''}`)
                .join(', ')
            : 'none',
      },
      { label: 'Actions', value: actions.length > 0 ? actions.join(', ') : 'none' },
    ],
    context: 'daily digest · alerts.digest in the commander settings',
  };
}
