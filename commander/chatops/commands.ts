/** Beam's chat command language (docs/architecture.md, Chat): one grammar for Slack, Telegram and the console. */
import * as z from 'zod';
import { NodeId, PilotVersion, VoteOption } from '../../protocol/index.js';
import type { AccessRole } from './ports.js';

const UNITS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DAY = UNITS.d;

/** `30s`, `15m`, `2h`, `1d` in milliseconds. */
const durationMs = (text: string) => Number(text.slice(0, -1)) * UNITS[text.slice(-1) as keyof typeof UNITS];

/** Milliseconds as the largest unit that writes them whole (`7200000` → `2h`). */
function formatDuration(ms: number): string {
  const [unit, size] = Object.entries(UNITS).find(([, size]) => ms % size === 0) ?? ['s', 1_000];
  return `${Math.round(ms / size)}${unit}`;
}

const Duration = z
  .string()
  .regex(/^\d+[smhd]$/, 'use a number and a unit: 30s, 15m, 2h or 1d')
  .transform(durationMs)
  .refine((ms) => ms > 0 && ms <= 30 * DAY, 'use a duration between 1s and 30d');

/** A maintenance window's length (at most a week: a forgotten window must end), or `off` (null). */
const MaintenanceSpan = z
  .string()
  .regex(/^(off|\d+[smhd])$/, 'use a duration such as 30m, 2h or 1d, or `off`')
  .transform((text) => (text === 'off' ? null : durationMs(text)))
  .refine((ms) => ms === null || (ms > 0 && ms <= 7 * DAY), 'use a duration between 1s and 7d');

const UnjailTarget = z
  .string()
  .regex(
    /^[A-Za-z0-9-]{1,128}$/,
    "use a node name, the validator's consensus address (40 hex) or its valoper address",
  );

const ProposalId = z.string().regex(/^\d{1,12}$/, 'use the numeric proposal id, e.g. 42');
const AlertKey = z.string().regex(/^[A-Za-z0-9:._-]{1,128}$/, 'use the alert key shown in the alert message');
const OperationId = z
  .string()
  .regex(/^[A-Za-z0-9:._-]{1,96}$/, 'use the operation id shown in the failover message, e.g. fo-12');
const PolicyKey = z.string().regex(/^[a-zA-Z][a-zA-Z0-9.]{0,63}$/, 'use a policy key as `policy` lists it');

export const CommandSchema = z.discriminatedUnion('name', [
  z.object({
    name: z.literal('status'),
    pin: z.enum(['pin', 'unpin'], { error: 'use `status`, `status pin` or `status unpin`' }).optional(),
  }),
  z.object({ name: z.literal('nodes') }),
  z.object({ name: z.literal('node'), node: NodeId }),
  z.object({ name: z.literal('proposals') }),
  z.object({
    name: z.literal('vote'),
    proposalId: ProposalId,
    option: VoteOption,
    memo: z.string().max(256, 'keep the memo under 256 characters').optional(),
  }),
  z.object({ name: z.literal('failover'), to: NodeId.optional() }),
  z.object({ name: z.literal('switchover') }),
  z.object({ name: z.literal('confirm-failover'), opId: OperationId }),
  z.object({ name: z.literal('decline-failover'), opId: OperationId }),
  z.object({ name: z.literal('rotate-ip'), sentry: NodeId }),
  z.object({ name: z.literal('replace'), sentry: NodeId }),
  z.object({ name: z.literal('restart'), node: NodeId }),
  z.object({
    name: z.literal('maintenance'),
    node: NodeId,
    span: MaintenanceSpan,
    reason: z.string().max(200, 'keep the reason under 200 characters').optional(),
  }),
  z.object({ name: z.literal('unjail'), target: UnjailTarget }),
  z.object({ name: z.literal('config'), node: NodeId }),
  z.object({ name: z.literal('approve'), node: NodeId }),
  z.object({ name: z.literal('reject'), node: NodeId }),
  z.object({ name: z.literal('remove'), node: NodeId }),
  z.object({ name: z.literal('token'), verb: z.literal('rotate', { error: 'the only verb is rotate' }) }),
  z.object({
    name: z.literal('upgrade'),
    what: z.literal('pilots', { error: 'write `upgrade pilots <version>`' }),
    version: PilotVersion,
  }),
  z.object({ name: z.literal('bond'), now: z.boolean() }),
  z.object({ name: z.literal('policy'), key: PolicyKey.optional(), value: z.string().max(256).optional() }),
  z.object({ name: z.literal('mute'), target: AlertKey, duration: Duration }),
  z.object({ name: z.literal('ack'), alert: AlertKey }),
  z.object({ name: z.literal('hold'), proposalId: ProposalId }),
  z.object({
    name: z.literal('audit'),
    limit: z.coerce
      .number()
      .int('use a whole number')
      .min(1)
      .max(100, 'show at most 100 entries')
      .default(10),
  }),
  z.object({ name: z.literal('help'), topic: z.string().optional() }),
]);
export type Command = z.output<typeof CommandSchema>;
export type CommandName = Command['name'];

interface CommandSpec {
  usage: string;
  summary: string;
  /** Maps the words after the command name to the fields zod checks, or says what is wrong. */
  fields(words: string[]): Record<string, unknown> | string;
  /** The least role allowed to run it. */
  role(command: Command): AccessRole;
  /** Dangerous commands run only after a [Confirm] press. */
  dangerous(command: Command): boolean;
}

const viewer = () => 'viewer' as const;
const operator = () => 'operator' as const;
const admin = () => 'admin' as const;
const never = () => false;
const always = () => true;

/** Takes exactly the named positional words (optional ones end in `?`). */
function positional(...names: string[]) {
  return (words: string[]): Record<string, unknown> | string => {
    const required = names.filter((n) => !n.endsWith('?')).length;
    if (words.length < required) return `missing ${names[words.length]!.replace('?', '')}`;
    if (words.length > names.length) return `unexpected "${words.slice(names.length).join(' ')}"`;
    return Object.fromEntries(words.map((w, i) => [names[i]!.replace('?', ''), w]));
  };
}

export const COMMANDS: Record<CommandName, CommandSpec> = {
  status: {
    usage: 'status [pin|unpin]',
    summary:
      'fleet status: nodes, signer, missed blocks; `status pin` keeps one message up to date in place (operator)',
    fields: positional('pin?'),
    role: (c) => (c.name === 'status' && c.pin ? 'operator' : 'viewer'),
    dangerous: never,
  },
  nodes: { usage: 'nodes', summary: 'list the nodes', fields: positional(), role: viewer, dangerous: never },
  node: {
    usage: 'node <name>',
    summary: 'one node in detail',
    fields: positional('node'),
    role: viewer,
    dangerous: never,
  },
  proposals: {
    usage: 'proposals',
    summary: 'governance proposals in voting period, with vote buttons',
    fields: positional(),
    role: viewer,
    dangerous: never,
  },
  vote: {
    usage: 'vote <id> <yes|no|abstain|no_with_veto> [memo…]',
    summary: 'record a vote; the active validator casts it through authz',
    fields: (words) => {
      const [proposalId, option, ...memo] = words;
      if (!proposalId) return 'missing proposal id';
      if (!option) return 'missing vote option';
      return { proposalId, option: option.toLowerCase(), ...(memo.length ? { memo: memo.join(' ') } : {}) };
    },
    role: operator,
    dangerous: never,
  },
  failover: {
    usage: 'failover [to <node>]',
    summary: 'move signing to a standby (asks for confirmation)',
    fields: (words) => {
      if (words.length === 0) return {};
      if (words[0] !== 'to') return `expected "to <node>", got "${words.join(' ')}"`;
      return words.length === 2
        ? { to: words[1] }
        : words.length < 2
          ? 'missing node after "to"'
          : `unexpected "${words.slice(2).join(' ')}"`;
    },
    role: operator,
    dangerous: always,
  },
  switchover: {
    usage: 'switchover',
    summary: 'planned switchover to the standby: demote first, then promote (asks for confirmation)',
    fields: positional(),
    role: operator,
    dangerous: always,
  },
  'confirm-failover': {
    usage: 'confirm-failover <operation>',
    summary: 'approve a failover the commander proposes (its [Confirm] button runs this)',
    fields: positional('opId'),
    role: operator,
    dangerous: never,
  },
  'decline-failover': {
    usage: 'decline-failover <operation>',
    summary: 'refuse a failover the commander proposes; nothing moves',
    fields: positional('opId'),
    role: operator,
    dangerous: never,
  },
  'rotate-ip': {
    usage: 'rotate-ip <sentry>',
    summary: 'give a sentry a new public IP (asks for confirmation)',
    fields: positional('sentry'),
    role: operator,
    dangerous: always,
  },
  replace: {
    usage: 'replace <sentry>',
    summary: 'terminate a sentry so its autoscaling group replaces it (asks for confirmation)',
    fields: positional('sentry'),
    role: operator,
    dangerous: always,
  },
  restart: {
    usage: 'restart <node>',
    summary: "restart a node's daemon (asks for confirmation)",
    fields: positional('node'),
    role: operator,
    dangerous: always,
  },
  maintenance: {
    usage: 'maintenance <node> <duration|off> [reason…]',
    summary:
      "maintenance for 30m/2h/1d (at most 7d): the node's pilot leaves a daemon you stop alone, its alerts wait, it is no failover target; ends by itself, or with `off` (asks for confirmation)",
    fields: (words) => {
      const [node, span, ...reason] = words;
      if (!node) return 'missing node';
      if (!span) return 'missing duration (e.g. 2h) or off';
      return { node, span: span.toLowerCase(), ...(reason.length ? { reason: reason.join(' ') } : {}) };
    },
    role: operator,
    // Like a restart: a typo leaves another node's daemon unsupervised. Ending a window is safe.
    dangerous: (c) => c.name === 'maintenance' && c.span !== null,
  },
  unjail: {
    usage: 'unjail <validator|node>',
    summary:
      "unjail a jailed validator: a validator node's pilot sends MsgExec(MsgUnjail) with its hot key (asks for confirmation)",
    fields: positional('target'),
    role: operator,
    dangerous: always,
  },
  config: {
    usage: 'config <node>',
    summary: 'the config.toml settings Beam manages for a node',
    fields: positional('node'),
    role: viewer,
    dangerous: never,
  },
  approve: {
    usage: 'approve <node>',
    summary: 'let a pending node join the fleet (admin)',
    fields: positional('node'),
    role: admin,
    dangerous: never,
  },
  reject: {
    usage: 'reject <node>',
    summary: 'turn a pending node away (admin)',
    fields: positional('node'),
    role: admin,
    dangerous: never,
  },
  remove: {
    usage: 'remove <node>',
    summary:
      'remove a node: its record, secret and queued actions; its name can enroll again (admin; asks for confirmation)',
    fields: positional('node'),
    role: admin,
    dangerous: always,
  },
  token: {
    usage: 'token rotate',
    summary:
      'replace the fleet enrollment token: the new one is shown once, to you only; the old one is refused (admin)',
    fields: positional('verb'),
    role: admin,
    dangerous: never,
  },
  upgrade: {
    usage: 'upgrade pilots <version>',
    summary:
      'roll a release out to every pilot, one node at a time, the signer last; a node that fails is rolled back and the roll-out stops (admin; asks for confirmation)',
    fields: positional('what', 'version'),
    role: admin,
    dangerous: always,
  },
  bond: {
    usage: 'bond [now]',
    summary: 'preview auto-bond; `bond now` delegates (asks for confirmation)',
    fields: (words) =>
      words.length === 0
        ? { now: false }
        : words.length === 1 && words[0] === 'now'
          ? { now: true }
          : `expected "now", got "${words.join(' ')}"`,
    role: (c) => (c.name === 'bond' && c.now ? 'operator' : 'viewer'),
    dangerous: (c) => c.name === 'bond' && c.now,
  },
  policy: {
    usage: 'policy [<key> <value>]',
    summary: 'show the policy, or change one key (admin; asks for confirmation)',
    fields: (words) => {
      if (words.length === 0) return {};
      if (words.length === 1) return `missing value for ${words[0]}`;
      return { key: words[0], value: words.slice(1).join(' ') };
    },
    role: (c) => (c.name === 'policy' && c.key !== undefined ? 'admin' : 'viewer'),
    dangerous: (c) => c.name === 'policy' && c.key !== undefined,
  },
  mute: {
    usage: 'mute <alert|node> <duration>',
    summary: 'silence an alert, or every alert of a node, for 30s/15m/2h/1d',
    fields: positional('target', 'duration'),
    role: operator,
    dangerous: never,
  },
  ack: {
    usage: 'ack <alert>',
    summary: 'acknowledge an alert',
    fields: positional('alert'),
    role: operator,
    dangerous: never,
  },
  hold: {
    usage: 'hold <proposal>',
    summary: 'stop the auto-vote for a proposal (vote by hand, or not at all)',
    fields: positional('proposalId'),
    role: operator,
    dangerous: never,
  },
  audit: {
    usage: 'audit [n]',
    summary: 'the last n commands and clicks (10 by default)',
    fields: positional('limit?'),
    role: operator,
    dangerous: never,
  },
  help: {
    usage: 'help [command]',
    summary: 'this list, or one command',
    fields: positional('topic?'),
    role: viewer,
    dangerous: never,
  },
};

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

export function isCommandName(word: string): word is CommandName {
  return Object.hasOwn(COMMANDS, word);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string; usage?: string };

/** Parses a command line such as `vote 42 yes looks good`. Errors say what was wrong and show the usage. */
export function parseCommand(line: string): ParseResult {
  const [first, ...words] = line.trim().split(/\s+/).filter(Boolean);
  if (!first) return { ok: false, error: 'no command given; try `help`' };
  const name = first.toLowerCase();
  if (!isCommandName(name)) {
    const near = COMMAND_NAMES.filter((c) => editDistance(name, c) <= 2);
    const hint = near.length ? ` Did you mean ${near.map((c) => `\`${c}\``).join(' or ')}?` : '';
    return { ok: false, error: `unknown command "${first}".${hint} Commands: ${COMMAND_NAMES.join(', ')}.` };
  }
  const spec = COMMANDS[name];
  const fields = spec.fields(words);
  if (typeof fields === 'string') return { ok: false, error: `${name}: ${fields}`, usage: spec.usage };
  const parsed = CommandSchema.safeParse({ name, ...fields });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.') || name;
      const given = issue.path.length
        ? (fields as Record<string, unknown>)[String(issue.path[0])]
        : undefined;
      return `${field}: ${issue.message}${given !== undefined ? ` (got "${String(given)}")` : ''}`;
    });
    return { ok: false, error: `${name}: ${problems.join('; ')}`, usage: spec.usage };
  }
  return { ok: true, command: parsed.data };
}

/** The command line that re-creates a command, stored behind confirmation buttons. */
export function formatCommand(command: Command): string {
  switch (command.name) {
    case 'failover':
      return command.to ? `failover to ${command.to}` : 'failover';
    case 'rotate-ip':
    case 'replace':
      return `${command.name} ${command.sentry}`;
    case 'restart':
    case 'approve':
    case 'reject':
    case 'remove':
      return `${command.name} ${command.node}`;
    case 'confirm-failover':
    case 'decline-failover':
      return `${command.name} ${command.opId}`;
    case 'hold':
      return `hold ${command.proposalId}`;
    case 'maintenance':
      return [
        'maintenance',
        command.node,
        command.span === null ? 'off' : formatDuration(command.span),
        ...(command.reason ? [command.reason] : []),
      ].join(' ');
    case 'unjail':
      return `unjail ${command.target}`;
    case 'token':
      return `token ${command.verb}`;
    case 'upgrade':
      return `upgrade pilots ${command.version}`;
    case 'bond':
      return command.now ? 'bond now' : 'bond';
    case 'policy':
      return command.key ? `policy ${command.key} ${command.value ?? ''}`.trim() : 'policy';
    default:
      return command.name;
  }
}
