/**
 * Failover glue: the failover state of each validator key in the store, the pure decisions of
 * commander/failover applied to reports, ticks and chat answers, and their effects (chat with
 * buttons, alerts, audit) performed after the conditional write. docs/failover.md is the protocol.
 */
import type { Report } from '../../protocol/index.js';
import { KEYS, type Store, type Versioned, withRetry } from '../adapters/store/store.js';
import { alertSubject, renderAlert } from '../domain/alert-messages.js';
import { reconcileAlerts } from '../domain/alerts.js';
import type { Finding } from '../domain/health.js';
import {
  type FailoverEffect,
  type FailoverEvent,
  type FailoverOutput,
  type FailoverSettings,
  type FailoverState,
  type ValidatorKey,
  decideFailover,
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
  const strayPrefix = `failover:${state.chainId}:${state.validator}:stray:`;
  for (const fx of effects) {
    if (fx.type !== 'alert') continue;
    if (fx.resolved) delete next[fx.key];
    else {
      const nodeId = fx.key.startsWith(strayPrefix)
        ? fx.key.slice(strayPrefix.length)
        : (state.lease.holder ?? state.validator);
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
 * Performs what a written decision asks for: chat (posted or updated in place, with buttons), alerts
 * through the alert machinery, audit entries. Returns the notices (answers for the requester). One
 * failing effect never stops the others: the state is written already.
 */
export async function performFailoverEffects(
  deps: CommanderDeps,
  state: FailoverState,
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
      case 'alert': {
        const info = nextAlertInfo(state, {}, [fx])[fx.key];
        const finding = info ? findingOf(state, fx.key, info) : null;
        await attempt('alert', () => syncAlert(deps, fx.key, finding));
        break;
      }
      case 'notice':
        notices.push(fx.text);
        break;
      case 'action':
        break; // already in the state's outbox: replies carry it until its result arrives
    }
  }
  return notices;
}

function findingOf(state: FailoverState, key: string, info: FailoverAlertInfo): Finding {
  return {
    key,
    nodeId: info.nodeId,
    chainId: state.chainId,
    severity: info.severity,
    title: info.title,
    detail: info.text,
  };
}

/** Opens, re-notifies or resolves one alert right away, exactly as the tick does for health findings. */
async function syncAlert(deps: CommanderDeps, key: string, finding: Finding | null): Promise<void> {
  const now = deps.now();
  const notices = await withRetry(async () => {
    const stored = await deps.store.getAlert(key);
    const decision = reconcileAlerts(
      stored ? [stored.value] : [],
      finding ? [finding] : [],
      deps.settings.alerts,
      now,
    );
    for (const alert of decision.changed) await deps.store.putAlert(alert, stored?.version ?? null);
    return decision.notices;
  });
  for (const notice of notices) {
    const message = renderAlert(notice.alert, now);
    if (notice.kind === 'opened' || notice.kind === 'reminder')
      await deps.chat.post(alertSubject(notice.alert), message);
    else await deps.chat.update(alertSubject(notice.alert), message);
  }
}

export interface FailoverTickSummary {
  keys: number;
  /** Open failover alerts, as findings: the tick's alert reconciliation keeps them open. */
  findings: Finding[];
  errors: number;
}

/**
 * The tick's share: for every validator key, detection of silent holders, auto-approval of
 * unanswered questions and grace expiry (the `tick` event), then the effects. Never throws: a
 * failure is logged and counted, and the other keys and subsystems carry on.
 */
export async function runFailoverTick(deps: CommanderDeps): Promise<FailoverTickSummary> {
  const summary: FailoverTickSummary = { keys: 0, findings: [], errors: 0 };
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
      await performFailoverEffects(deps, out.state, out.effects);
    } catch (error) {
      summary.errors++;
      deps.log.error({ err: (error as Error).message, ...key }, 'failover tick failed');
    }
    for (const [k, i] of Object.entries(info)) summary.findings.push(findingOf(state, k, i));
  }
  return summary;
}
