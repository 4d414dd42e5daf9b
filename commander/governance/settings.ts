import * as z from 'zod';
import { type ExplorerPages, NO_EXPLORER } from '../domain/explorer.js';
import { VoteOption } from '../../protocol/index.js';

const HOUR = 3_600_000;
const Ms = z.number().int().min(0);
const Amount = z.string().regex(/^\d+$/, 'use a whole amount in base units, e.g. "5000000"');

const AutoVoteFields = {
  /** Cast `option` when no vote of ours is on chain `thresholdMs` before voting ends. */
  enabled: z.boolean(),
  option: VoteOption,
  thresholdMs: Ms,
  /** The "auto-vote soon" warning (with a [Hold] button) comes this long before the auto-vote. */
  warnBeforeMs: Ms,
};

const AutoBondFields = {
  /** Delegate all but `feeReserve` to the own validator when the liquid balance exceeds `threshold`. */
  enabled: z.boolean(),
  threshold: Amount,
  feeReserve: Amount,
  /** Bond denom; by default the only denom of the validator account's balances. */
  denom: z.string().regex(/^[a-zA-Z][a-zA-Z0-9/:._-]{1,127}$/, 'use a denom such as uatom'),
  /** Withdraw rewards and commission every `withdrawEveryMs` (before bonding). */
  withdraw: z.boolean(),
  withdrawEveryMs: Ms,
  /** After a failed bond or withdrawal, wait this long before trying again. */
  retryAfterMs: Ms,
  /** Never delegate more than this in one action (the pilot's limits.* bound it too). */
  maxPerBond: Amount,
};

/** Any subset of the policy: the commander's settings per chain, or what `policy <key> <value>` changed. */
export const PolicyOverrides = z.strictObject({
  /** Reminders before voting ends while we have not voted, e.g. [86400000] for T−24 h. */
  reminderOffsetsMs: z.array(Ms).max(10).optional(),
  autoVote: z.strictObject(AutoVoteFields).partial().optional(),
  autoBond: z.strictObject(AutoBondFields).partial().optional(),
  /** Warn when an authz grant the hot key needs expires within this. */
  grantWarnBeforeMs: Ms.optional(),
  /** A vote, withdrawal or delegation without a result from the pilot after this counts as failed. */
  actionTimeoutMs: z.number().int().min(1000).optional(),
});
export type PolicyOverrides = z.infer<typeof PolicyOverrides>;

/** `settings.governance`: defaults for every chain, then per chain id. */
export const GovernanceSettings = PolicyOverrides.extend({
  /** Proposal tracking, votes, auto-vote and auto-bond; false turns the whole subsystem off. */
  enabled: z.boolean().default(true),
  chains: z.record(z.string(), PolicyOverrides).default({}),
});
export type GovernanceSettings = z.infer<typeof GovernanceSettings>;

export interface GovernancePolicy {
  /** The chain's explorer pages (`settings.explorers`, not changeable per proposal policy). */
  explorer: ExplorerPages;
  reminderOffsetsMs: number[];
  autoVote: { enabled: boolean; option: VoteOption; thresholdMs: number; warnBeforeMs: number };
  autoBond: {
    enabled: boolean;
    threshold: string;
    feeReserve: string;
    denom: string | null;
    withdraw: boolean;
    withdrawEveryMs: number;
    retryAfterMs: number;
    maxPerBond: string | null;
  };
  grantWarnBeforeMs: number;
  actionTimeoutMs: number;
}

export const DEFAULT_POLICY: GovernancePolicy = {
  explorer: NO_EXPLORER,
  reminderOffsetsMs: [24 * HOUR],
  autoVote: { enabled: false, option: 'abstain', thresholdMs: 6 * HOUR, warnBeforeMs: HOUR },
  autoBond: {
    enabled: false,
    threshold: '10000000',
    feeReserve: '1000000',
    denom: null,
    withdraw: true,
    withdrawEveryMs: 24 * HOUR,
    retryAfterMs: HOUR,
    maxPerBond: null,
  },
  grantWarnBeforeMs: 7 * 24 * HOUR,
  actionTimeoutMs: 10 * 60_000,
};

function apply(policy: GovernancePolicy, o: PolicyOverrides | undefined): GovernancePolicy {
  if (!o) return policy;
  const defined = <T extends object>(x: T | undefined) =>
    Object.fromEntries(Object.entries(x ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    explorer: policy.explorer,
    reminderOffsetsMs: o.reminderOffsetsMs ?? policy.reminderOffsetsMs,
    autoVote: { ...policy.autoVote, ...defined(o.autoVote) },
    autoBond: { ...policy.autoBond, ...defined(o.autoBond) },
    grantWarnBeforeMs: o.grantWarnBeforeMs ?? policy.grantWarnBeforeMs,
    actionTimeoutMs: o.actionTimeoutMs ?? policy.actionTimeoutMs,
  };
}

/** Built-in defaults ← settings ← settings.chains[chainId] ← changes made from chat (stored per chain). */
export function resolvePolicy(
  settings: GovernanceSettings,
  chainId: string,
  changed: PolicyOverrides = {},
  explorer: ExplorerPages = NO_EXPLORER,
): GovernancePolicy {
  const { enabled: _e, chains, ...base } = settings;
  return apply(apply(apply({ ...DEFAULT_POLICY, explorer }, base), chains[chainId]), changed);
}

/** Merges a chat change into the stored overrides. */
export function mergeOverrides(a: PolicyOverrides, b: PolicyOverrides): PolicyOverrides {
  return {
    ...a,
    ...b,
    ...(a.autoVote || b.autoVote ? { autoVote: { ...a.autoVote, ...b.autoVote } } : {}),
    ...(a.autoBond || b.autoBond ? { autoBond: { ...a.autoBond, ...b.autoBond } } : {}),
  };
}

// Chat policy keys -----------------------------------------------------------------------------

interface PolicyKeySpec {
  description: string;
  show(p: GovernancePolicy): string;
  /** The override a chat value means, or a message saying what to write. */
  parse(value: string): PolicyOverrides | string;
}

const hours = (ms: number) => `${Number((ms / HOUR).toFixed(6))}`;

/** `6`, `0.5` (hours) or `30s`, `15m`, `6h`, `1d`. */
export function parseHours(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value.trim());
  if (!m) return null;
  const unit = { '': HOUR, s: 1000, m: 60_000, h: HOUR, d: 24 * HOUR }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const ms = Math.round(Number(m[1]) * unit);
  return Number.isFinite(ms) && ms <= 365 * 24 * HOUR ? ms : null;
}

const bool = (key: string, wrap: (v: boolean) => PolicyOverrides) => (value: string) => {
  const v = value.trim().toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(v)) return wrap(true);
  if (['false', 'off', 'no', '0'].includes(v)) return wrap(false);
  return `${key}: use on or off`;
};
const duration = (key: string, wrap: (ms: number) => PolicyOverrides) => (value: string) => {
  const ms = parseHours(value);
  return ms === null ? `${key}: use hours (e.g. 6 or 0.5) or a duration such as 30s, 15m, 6h, 1d` : wrap(ms);
};
const amount = (key: string, wrap: (a: string) => PolicyOverrides) => (value: string) =>
  /^\d{1,30}$/.test(value.trim())
    ? wrap(value.trim())
    : `${key}: use a whole amount in base units, e.g. 5000000`;

export const POLICY_KEYS: Record<string, PolicyKeySpec> = {
  'autoVote.enabled': {
    description: 'cast the default option when we have not voted by the threshold',
    show: (p) => (p.autoVote.enabled ? 'on' : 'off'),
    parse: bool('autoVote.enabled', (enabled) => ({ autoVote: { enabled } })),
  },
  'autoVote.option': {
    description: 'the option an auto-vote casts (yes, no, abstain, no_with_veto)',
    show: (p) => p.autoVote.option,
    parse: (value) => {
      const option = VoteOption.safeParse(value.trim().toLowerCase());
      return option.success
        ? { autoVote: { option: option.data } }
        : 'autoVote.option: use yes, no, abstain or no_with_veto';
    },
  },
  'autoVote.thresholdHours': {
    description: 'auto-vote this many hours before voting ends',
    show: (p) => hours(p.autoVote.thresholdMs),
    parse: duration('autoVote.thresholdHours', (thresholdMs) => ({ autoVote: { thresholdMs } })),
  },
  'autoVote.warnHours': {
    description: 'warn (with a Hold button) this many hours before the auto-vote',
    show: (p) => hours(p.autoVote.warnBeforeMs),
    parse: duration('autoVote.warnHours', (warnBeforeMs) => ({ autoVote: { warnBeforeMs } })),
  },
  reminderHours: {
    description: 'reminders before voting ends while we have not voted (comma-separated hours)',
    show: (p) => p.reminderOffsetsMs.map(hours).join(',') || 'none',
    parse: (value) => {
      if (value.trim() === 'none' || value.trim() === '') return { reminderOffsetsMs: [] };
      const list = value.split(',').map((v) => parseHours(v));
      if (list.some((v) => v === null) || list.length > 10)
        return 'reminderHours: use up to 10 comma-separated hours, e.g. 24,2 (or none)';
      return { reminderOffsetsMs: list as number[] };
    },
  },
  'autoBond.enabled': {
    description: 'delegate the liquid balance above the threshold to the own validator',
    show: (p) => (p.autoBond.enabled ? 'on' : 'off'),
    parse: bool('autoBond.enabled', (enabled) => ({ autoBond: { enabled } })),
  },
  'autoBond.threshold': {
    description: 'bond when the liquid balance exceeds this (base units)',
    show: (p) => p.autoBond.threshold,
    parse: amount('autoBond.threshold', (threshold) => ({ autoBond: { threshold } })),
  },
  'autoBond.feeReserve': {
    description: 'left liquid after a bond (base units)',
    show: (p) => p.autoBond.feeReserve,
    parse: amount('autoBond.feeReserve', (feeReserve) => ({ autoBond: { feeReserve } })),
  },
  'autoBond.withdraw': {
    description: 'withdraw rewards and commission on a schedule before bonding',
    show: (p) => (p.autoBond.withdraw ? 'on' : 'off'),
    parse: bool('autoBond.withdraw', (withdraw) => ({ autoBond: { withdraw } })),
  },
  'autoBond.withdrawHours': {
    description: 'how often to withdraw rewards and commission',
    show: (p) => hours(p.autoBond.withdrawEveryMs),
    parse: duration('autoBond.withdrawHours', (withdrawEveryMs) => ({ autoBond: { withdrawEveryMs } })),
  },
};

/** The chat change `key value` means, or why it is refused (naming the key and the fix). */
export function parsePolicyChange(key: string, value: string): PolicyOverrides | string {
  const spec = POLICY_KEYS[key];
  if (!spec) return `unknown policy key ${key}: use one of ${Object.keys(POLICY_KEYS).join(', ')}`;
  return spec.parse(value);
}
