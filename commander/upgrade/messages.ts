import type { ChatMessage, Severity } from '../../bots/model.js';
import { fmtDuration } from '../domain/health.js';
import type { PilotUpgrade, UpgradeStep } from './rollout.js';

/** The roll-out's one chat message, edited in place as it goes (subject `operation:<id>`). */
export const upgradeSubject = (u: PilotUpgrade) => `operation:${u.id}`;

const MARK: Record<UpgradeStep['phase'], string> = {
  waiting: '·',
  upgrading: '…',
  done: '✓',
  'rolling-back': '↩',
  'rolled-back': '↩',
  failed: '✗',
};

function line(u: PilotUpgrade, s: UpgradeStep, now: number): string {
  const who = `${s.node}${s.signer ? ' *' : ''}`;
  const since = s.since === null ? '' : ` (${fmtDuration(now - s.since)})`;
  const what: Record<UpgradeStep['phase'], string> = {
    waiting: u.status === 'running' ? 'waiting' : 'not started',
    upgrading: `installing ${u.release}, restarting${since}`,
    done: s.note ?? u.release,
    'rolling-back': `rolling back to ${s.from}${since}: ${s.note}`,
    'rolled-back': `rolled back: ${s.note}`,
    failed: `failed: ${s.note}`,
  };
  return `${MARK[s.phase]} ${who.padEnd(14)} ${what[s.phase]}`;
}

export function renderUpgrade(u: PilotUpgrade, now: number): ChatMessage {
  const done = u.steps.filter((s) => s.phase === 'done').length;
  const stopped = u.steps.find((s) => s.phase === 'failed' || s.phase === 'rolled-back');
  const title =
    u.status === 'running'
      ? `Pilot upgrade to ${u.release}: ${done}/${u.steps.length} done`
      : u.status === 'done'
        ? `Pilot upgrade to ${u.release}: done, ${u.steps.length} nodes`
        : `Pilot upgrade to ${u.release}: stopped at ${stopped?.node ?? '?'}`;
  const severity: Severity =
    u.status === 'running'
      ? 'info'
      : u.status === 'done'
        ? 'ok'
        : stopped?.phase === 'failed'
          ? 'critical'
          : 'warning';
  const after =
    u.status === 'halted'
      ? stopped?.phase === 'failed'
        ? `${stopped.node} needs a look; the nodes after it were not touched.`
        : `${stopped?.node} is back on its previous release; the nodes after it were not touched.`
      : 'One node at a time: sentries, standbys, the signer (*) last.';
  return {
    title,
    severity,
    preformatted: u.steps.map((s) => line(u, s, now)).join('\n'),
    text: after,
    context: `${u.id} · requested by ${u.requestedBy} · release sha256 ${u.sha256.slice(0, 12)}…`,
  };
}
