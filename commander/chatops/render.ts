/** Chat messages for command results: compact, monospace where it is a table. */
import type { ChatButton, ChatMessage } from '../../bots/model.js';
import { fmtDuration } from '../domain/health.js';
import { COMMAND_NAMES, COMMANDS, type CommandName, isCommandName } from './commands.js';
import type {
  AuditEntry,
  BondPreview,
  FleetStatus,
  NodeConfigView,
  NodeDetail,
  NodeSummary,
  OperationResult,
  PolicyEntry,
  ProposalView,
} from './ports.js';

/** Lays out rows as left-aligned columns (numbers right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.]*$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const num = (n: number | undefined) => (n === undefined ? '-' : String(n));
/** Config versions are content hashes: the first 10 characters tell them apart. */
const ver = (v: string | undefined) => (v === undefined ? '-' : `v${v.slice(0, 10)}`);

/** `2026-01-05 14:00 UTC`: when a maintenance window ends. */
const untilText = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function stateCell(n: NodeSummary): string {
  const seen = n.reportAgeMs === undefined ? '' : ` (seen ${fmtDuration(n.reportAgeMs)} ago)`;
  const maintenance =
    n.maintenanceUntil === undefined ? '' : `, maintenance until ${untilText(n.maintenanceUntil)}`;
  return `${n.state}${seen}${maintenance}`;
}

function nodeRows(nodes: NodeSummary[]): string {
  return table(
    ['NODE', 'ROLE', 'STATE', 'HEIGHT', 'LAG', 'PEERS'],
    nodes.map((n) => [
      `${n.name}${n.signing ? ' *' : ''}`,
      n.role,
      stateCell(n),
      num(n.height),
      num(n.lag),
      num(n.peers),
    ]),
  );
}

/** The fleet's status; `pinnedBy` when it is the pinned message, edited in place as the fleet changes. */
export function statusMessage(status: FleetStatus, pinnedBy?: string): ChatMessage {
  if (status.nodes.length === 0) {
    return {
      title: 'No approved nodes yet',
      severity: 'info',
      text: 'A node joins when its pilot enrolls and someone approves it (`approve <node>`).',
      fields: [{ label: 'Open alerts', value: String(status.openAlerts) }],
    };
  }
  const { missed, window } = status.missedBlocks;
  const down = status.nodes.filter((n) => n.state === 'down').length;
  const severity =
    !status.signer || missed > window / 10 ? 'critical' : missed > 0 || down > 0 ? 'warning' : 'ok';
  return {
    title: `Fleet ${status.chainId} at ${num(status.height)}`,
    severity,
    fields: [
      {
        label: 'Signing',
        value: status.signer ? `${status.signer} (epoch ${num(status.leaseEpoch)})` : 'nobody',
      },
      {
        label: 'Missed blocks',
        value: window > 0 ? `${missed} of the last ${window}` : 'none: no signature of ours seen yet',
      },
      { label: 'Failover', value: status.failoverMode },
      { label: 'Open alerts', value: String(status.openAlerts) },
    ],
    preformatted: nodeRows(status.nodes),
    context: pinnedBy
      ? `* holds the signing lease · pinned by ${pinnedBy}: edited in place as the fleet changes (\`status unpin\` stops it)`
      : '* holds the signing lease',
  };
}

export function nodesMessage(nodes: NodeSummary[]): ChatMessage {
  return {
    title: `${nodes.length} nodes`,
    preformatted: nodeRows(nodes),
    context: '* holds the signing lease',
  };
}

export function nodeMessage(node: NodeDetail, now: number): ChatMessage {
  const fields = [
    { label: 'Role', value: node.role },
    { label: 'State', value: node.state + (node.signing ? ', signing' : '') },
    { label: 'Height', value: `${num(node.height)} (lag ${num(node.lag)})` },
    { label: 'Peers', value: num(node.peers) },
  ];
  if (node.catchingUp !== undefined)
    fields.push({ label: 'Catching up', value: node.catchingUp ? 'yes' : 'no' });
  if (node.maintenanceUntil !== undefined)
    fields.push({ label: 'Maintenance', value: `until ${untilText(node.maintenanceUntil)}` });
  if (node.publicIp) fields.push({ label: 'Public IP', value: node.publicIp });
  if (node.diskFreePercent !== undefined)
    fields.push({ label: 'Disk free', value: `${node.diskFreePercent}%` });
  if (node.lastReportAt !== undefined) {
    fields.push({ label: 'Last report', value: `${Math.round((now - node.lastReportAt) / 1000)} s ago` });
  }
  if (node.desiredConfigVersion !== undefined) {
    fields.push({
      label: 'Config',
      value: `${ver(node.desiredConfigVersion)} (applied ${ver(node.appliedConfigVersion)})`,
    });
  }
  return {
    title: `Node ${node.name}`,
    fields,
    ...(node.cometNodeId ? { context: `node id ${node.cometNodeId}` } : {}),
  };
}

export function configMessage(config: NodeConfigView): ChatMessage {
  const entries = Object.entries(config.settings).sort(([a], [b]) => a.localeCompare(b));
  return {
    title: `Config of ${config.node} (${ver(config.version)})`,
    preformatted: entries.map(([k, v]) => `${k} = ${v}`).join('\n') || '(nothing managed)',
  };
}

export function proposalMessage(proposal: ProposalView, buttons: ChatButton[]): ChatMessage {
  return {
    title: `Proposal ${proposal.id}: ${proposal.title}`,
    fields: [
      { label: 'Voting ends', value: new Date(proposal.votingEnd).toISOString() },
      { label: 'Our vote', value: proposal.ourVote ?? 'none yet' },
    ],
    buttons,
    ...(proposal.links?.length ? { links: proposal.links } : {}),
  };
}

export function bondPreviewMessage(preview: BondPreview): ChatMessage {
  return {
    title: `Auto-bond preview for ${preview.validator}`,
    fields: [
      { label: 'Liquid', value: preview.liquid },
      { label: 'Fee reserve', value: preview.reserve },
      { label: 'Would delegate', value: preview.wouldDelegate },
    ],
    context: '`bond now` delegates it',
  };
}

export function policyMessage(entries: PolicyEntry[]): ChatMessage {
  return {
    title: 'Policy',
    preformatted: table(
      ['KEY', 'VALUE', 'MEANING'],
      entries.map((e) => [e.key, e.value, e.description ?? '']),
    ),
    context: 'change one with `policy <key> <value>` (admin)',
  };
}

export function auditMessage(entries: AuditEntry[]): ChatMessage {
  return {
    title: `Audit: last ${entries.length}`,
    preformatted: table(
      ['WHEN', 'WHO', 'ACTION', 'RESULT'],
      entries.map((e) => [
        new Date(e.at).toISOString().slice(0, 19).replace('T', ' '),
        `${e.platform}:${e.userId}`,
        e.count && e.count > 1 ? `${e.action} ×${e.count}` : e.action,
        `${e.allowed ? 'allowed' : 'refused'}${e.reason ? `: ${e.reason}` : ''}`,
      ]),
    ),
  };
}

export function helpMessage(topic?: string): ChatMessage {
  if (topic && isCommandName(topic)) {
    const spec = COMMANDS[topic];
    return { title: `help ${topic}`, text: spec.summary, preformatted: spec.usage };
  }
  const width = Math.max(...COMMAND_NAMES.map((c: CommandName) => COMMANDS[c].usage.length));
  return {
    title: topic ? `No command "${topic}"; Beam commands` : 'Beam commands',
    preformatted: COMMAND_NAMES.map((c) => `${COMMANDS[c].usage.padEnd(width)}  ${COMMANDS[c].summary}`).join(
      '\n',
    ),
    context: 'Slack: /beam <command> · Telegram: /<command> · console: type it',
  };
}

export function errorMessage(error: string, usage?: string): ChatMessage {
  return {
    title: 'Not understood',
    severity: 'warning',
    text: error,
    ...(usage ? { preformatted: `usage: ${usage}` } : {}),
  };
}

/** The one showing of a new enrollment token (sent privately; Beam keeps only its hash). */
export function tokenMessage(token: string): ChatMessage {
  return {
    title: 'New fleet enrollment token',
    severity: 'warning',
    text: "The previous token is refused from now on. Put this one where new pilots read it (the sentries' launch template or secret, `commander.enrollment_token_file`); it is not shown again.",
    preformatted: token,
  };
}

export function refusalMessage(reason: string): ChatMessage {
  return { title: 'Not allowed', severity: 'warning', text: reason };
}

export function operationMessage(what: string, result: OperationResult, by: string): ChatMessage {
  return {
    title: `${what}: ${result.accepted ? 'accepted' : 'refused'}`,
    severity: result.accepted ? 'info' : 'warning',
    text: result.summary,
    context: `requested by ${by}${result.operationId ? ` · operation ${result.operationId}` : ''}`,
  };
}

export function confirmationMessage(
  commandLine: string,
  by: string,
  buttons: ChatButton[],
  expiresAt: number,
): ChatMessage {
  return {
    title: `Confirm: ${commandLine}`,
    severity: 'warning',
    text: `${by} asked for \`${commandLine}\`. The requester or an admin can confirm.`,
    buttons,
    context: `expires ${new Date(expiresAt).toISOString().slice(11, 19)} UTC`,
  };
}
