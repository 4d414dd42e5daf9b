/**
 * Failover glue: the failover state of each validator key in the store, the pure decisions of
 * commander/failover applied to reports, ticks and chat answers, and their effects (chat with
 * buttons, alerts, audit) performed after the conditional write. docs/failover.md is the protocol.
 */
import type { Report } from '../../protocol/index.js';
import { KEYS, type Store, type Versioned, withRetry } from '../adapters/store/store.js';
import type { FinishedOp } from '../alerting/digest.js';
import { type Hold, failoverHolds } from '../alerting/holds.js';
import { type AlertKind, isAlertKind } from '../alerting/kinds.js';
import type { Finding } from '../domain/health.js';
import {
  type FailoverEffect,
  type FailoverEvent,
  type FailoverOutput,
  type FailoverSettings,
  type FailoverState,
  type ValidatorKey,
  decideFailover,
  failoverSubject,
  initialFailoverState,
  parseFailoverSettings,
} from '../failover/index.js';
import type { ChatAction } from '../notify/notifier.js';
import type { CommanderSettings } from '../settings.js';
import { sameData } from '../sentry/persistence.js';
import type { CommanderDeps } from './context.js';

/** What an open failover alert says, kept with the state so the tick can keep it open. */
export interface FailoverAlertInfo {
  nodeId: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  text: string;
}

/** The stored item (`FAILOVER / <chainId>#<validator>`): the state plus the text of its open alerts. */
export interface StoredFailoverItem {
  state: FailoverState;
  alertInfo: Record<string, FailoverAlertInfo>;
}

export interface StoredFailover extends StoredFailoverItem {
  /** null while the item does not exist yet. */
  version: number | null;
}

export const failoverStateKey = (key: ValidatorKey) => KEYS.failover(key.chainId, key.validator);

const settingsCache = new WeakMap<CommanderSettings, FailoverSettings>();

/**
 * The failover settings in force: the `failover` block checked against the commander's own report
 * interval, which is what the pilots really report at; timings left out take their key mode's
 * defaults, stretched where a long report interval needs it. Throws, naming the field, when the
 * block does not fit.
 */
export function failoverSettingsOf(settings: CommanderSettings): FailoverSettings {
  let parsed = settingsCache.get(settings);
  if (!parsed) {
    const i = settings.reportIntervalMs;
    try {
      parsed = parseFailoverSettings({ ...(settings.failover ?? {}), reportIntervalMs: i });
    } catch (error) {
      throw new Error(`${(error as Error).message} (with the commander's reportIntervalMs ${i})`);
    }
    settingsCache.set(settings, parsed);
  }
  return parsed;
}

/**
 * The validator key a report is about, read from the raw body before it is verified: it only picks
 * which item to load with the node in one BatchGet. The verified report must name the same key.
 */
export function peekValidatorKey(body: string): ValidatorKey | null {
  try {
    const raw = JSON.parse(body) as {
      role?: unknown;
      chainId?: unknown;
      chain?: { validatorAddress?: unknown };
    };
    const validator = raw?.chain?.validatorAddress;
    if (raw?.role !== 'validator' || typeof raw.chainId !== 'string' || typeof validator !== 'string')
      return null;
    if (raw.chainId.length > 64 || !/^[0-9A-F]{40}$/.test(validator)) return null;
    return { chainId: raw.chainId, validator };
  } catch {
    return null;
  }
}

/** The key of a verified report, or null when the node watches no validator. */
export function validatorKeyOf(report: Report): ValidatorKey | null {
  const validator = report.chain?.validatorAddress;
  return report.role === 'validator' && validator ? { chainId: report.chainId, validator } : null;
}

export function fromItem(key: ValidatorKey, item: Versioned<unknown> | null): StoredFailover {
  if (!item) return { state: initialFailoverState(key), alertInfo: {}, version: null };
  const value = item.value as StoredFailoverItem;
  return { state: value.state, alertInfo: value.alertInfo ?? {}, version: item.version };
}

export async function loadFailover(store: Store, key: ValidatorKey): Promise<StoredFailover> {
  return fromItem(key, await store.get(failoverStateKey(key)));
}

export async function listFailovers(store: Store): Promise<StoredFailover[]> {
  const items = await store.query<StoredFailoverItem>('FAILOVER');
  return items.map((i) => ({ state: i.value.state, alertInfo: i.value.alertInfo ?? {}, version: i.version }));
}

/** The alert texts after these effects: raised ones added, resolved ones dropped. */
function nextAlertInfo(
  state: FailoverState,
  info: Record<string, FailoverAlertInfo>,
  effects: readonly FailoverEffect[],
): Record<string, FailoverAlertInfo> {
  const next = { ...info };
  const prefix = `${failoverSubject(state)}:`;
  for (const fx of effects) {
    if (fx.type !== 'alert') continue;
    if (fx.resolved) delete next[fx.key];
    else {
      // `<kind>:<node>` (a stray, a key mode) is about that node; anything else about the holder.
      const [, node] = fx.key.slice(prefix.length).split(':');
      const nodeId = node ?? state.lease.holder ?? state.validator;
      next[fx.key] = {
        nodeId,
        severity: fx.severity === 'ok' ? 'info' : fx.severity,
        title: fx.title,
        text: fx.text,
      };
    }
  }
  return next;
}

/**
 * Decides on a loaded state and writes the result with a conditional put, only when it changed.
 * Throws VersionConflict on a lost race: the caller reloads and decides again (withRetry).
 */
export async function decideAndWrite(
  store: Store,
  stored: StoredFailover,
  event: FailoverEvent,
  now: number,
  settings: FailoverSettings,
): Promise<FailoverOutput> {
  const out = decideFailover(stored.state, event, now, settings);
  const alertInfo = nextAlertInfo(out.state, stored.alertInfo, out.effects);
  const item: StoredFailoverItem = { state: out.state, alertInfo };
  if (stored.version === null || !sameData(item, { state: stored.state, alertInfo: stored.alertInfo })) {
    await store.put(failoverStateKey(out.state), 'failover', item, stored.version);
  }
  return out;
}

/** Load → decide → conditional write, deciding again on a lost race. Perform the effects afterwards. */
export function decideAndSave(
  deps: CommanderDeps,
  key: ValidatorKey,
  event: FailoverEvent,
): Promise<FailoverOutput> {
  const settings = failoverSettingsOf(deps.settings);
  return withRetry(async () => {
    const stored = await loadFailover(deps.store, key);
    return decideAndWrite(deps.store, stored, event, deps.now(), settings);
  });
}

/** The chat command lines behind the failover buttons (owned by chatops). */
export function buttonCommand(name: 'confirm' | 'reject', opId: string): string {
  return `${name === 'confirm' ? 'confirm-failover' : 'decline-failover'} ${opId}`;
}

/**
 * Performs what a written decision asks for: chat (posted or updated in place, with buttons), audit
 * entries. Returns the notices (answers for the requester). Alerts are the tick's: the state keeps
 * their texts, and the alert machinery judges them like health findings (pending times included).
 * One failing effect never stops the others: the state is written already.
 */
export async function performFailoverEffects(
  deps: CommanderDeps,
  effects: readonly FailoverEffect[],
): Promise<string[]> {
  const notices: string[] = [];
  const attempt = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      deps.log.warn({ err: (error as Error).message, effect: what }, 'failover effect failed');
    }
  };
  for (const fx of effects) {
    switch (fx.type) {
      case 'chat': {
        const actions: ChatAction[] = fx.buttons.map((b) => ({
          label: b.label,
          command: buttonCommand(b.name, b.opId),
          ...(b.style ? { style: b.style } : {}),
        }));
        await attempt('chat', () =>
          fx.mode === 'post'
            ? deps.chat.post(fx.subject, fx.message, actions)
            : deps.chat.update(fx.subject, fx.message, actions),
        );
        break;
      }
      case 'audit':
        await attempt('audit', () =>
          deps.store.appendAudit({
            at: fx.at,
            actor: fx.actor,
            action: fx.action,
            target: fx.subject,
            outcome: 'ok',
            detail: fx.detail,
          }),
        );
        break;
      case 'alert':
        deps.log[fx.resolved ? 'info' : 'warn']({ alert: fx.key }, fx.title || 'failover alert resolved');
        break;
      case 'notice':
        notices.push(fx.text);
        break;
      case 'action':
        break; // already in the state's outbox: replies carry it until its result arrives
    }
  }
  return notices;
}

/** The alert's kind from its key (`failover:<chain>:<validator>:<kind>[:<node>]`). */
function kindOf(state: FailoverState, key: string): AlertKind {
  const kind = key.slice(failoverSubject(state).length + 1).split(':')[0] ?? '';
  return isAlertKind(kind) ? kind : 'stray';
}

function findingOf(state: FailoverState, key: string, info: FailoverAlertInfo): Finding {
  return {
    key,
    kind: kindOf(state, key),
    nodeId: info.nodeId,
    chainId: state.chainId,
    severity: info.severity,
    title: info.title,
    detail: info.text,
  };
}

/** The operation that ended, for the digest (the state keeps the last one). */
function finishedOp(state: FailoverState): FinishedOp[] {
  const op = state.op;
  const at = op?.phaseAt.done ?? op?.phaseAt.aborted;
  if (!op || at === undefined) return [];
  return [{ id: op.id, chainId: state.chainId, kind: op.kind, ok: op.phase === 'done', at }];
}

export interface FailoverTickSummary {
  keys: number;
  /** Open failover alerts, as findings: the tick's alert reconciliation raises and keeps them. */
  findings: Finding[];
  /** What running operations hold back (alerting/holds.ts). */
  holds: Hold[];
  /** Operations that ended, for the digest. */
  finished: FinishedOp[];
  errors: number;
}

/**
 * The tick's share: for every validator key, detection of silent holders, auto-approval of
 * unanswered questions and grace expiry (the `tick` event), then the effects. Never throws: a
 * failure is logged and counted, and the other keys and subsystems carry on.
 */
export async function runFailoverTick(deps: CommanderDeps): Promise<FailoverTickSummary> {
  const summary: FailoverTickSummary = { keys: 0, findings: [], holds: [], finished: [], errors: 0 };
  let stored: StoredFailover[];
  try {
    stored = await listFailovers(deps.store);
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'failover tick: listing states failed');
    return { ...summary, errors: 1 };
  }
  const settings = failoverSettingsOf(deps.settings);
  for (const item of stored) {
    summary.keys++;
    const key = { chainId: item.state.chainId, validator: item.state.validator };
    let info = item.alertInfo;
    let state = item.state;
    try {
      let first = true;
      const out = await withRetry(async () => {
        const current = first ? item : await loadFailover(deps.store, key);
        first = false;
        const decided = await decideAndWrite(deps.store, current, { type: 'tick' }, deps.now(), settings);
        info = nextAlertInfo(decided.state, current.alertInfo, decided.effects);
        return decided;
      });
      state = out.state;
      await performFailoverEffects(deps, out.effects);
    } catch (error) {
      summary.errors++;
      deps.log.error({ err: (error as Error).message, ...key }, 'failover tick failed');
    }
    for (const [k, i] of Object.entries(info)) summary.findings.push(findingOf(state, k, i));
    summary.holds.push(...failoverHolds(state));
    summary.finished.push(...finishedOp(state));
  }
  return summary;
}
