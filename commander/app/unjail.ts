/**
 * Unjailing from chat, pure: which validator a request names, whether the chain would take an unjail
 * now, which node's pilot sends it (`MsgExec(MsgUnjail)` with its hot key), and how the request
 * settles from that pilot's result. The glue is unjail-ops.ts.
 */
import { type ExplorerPages, explorerLinks } from '../domain/explorer.js';
import type { ChatMessage } from '../../bots/model.js';
import type { ActionResult } from '../../protocol/index.js';
import type { NodeRecord } from '../domain/registry.js';

export const UNJAIL_GRANT = '/cosmos.slashing.v1beta1.MsgUnjail';

/**
 * A pilot collects its actions with its next report and the tx lands in a block or two: with no
 * result by then, the pilot is gone (or its broadcast hangs) and the request counts as failed.
 */
export const UNJAIL_TIMEOUT_MS = 10 * 60_000;

export interface ValidatorRef {
  chainId: string;
  /** Consensus address, 40 uppercase hex characters (as reports and alerts name it). */
  validator: string;
}

/** The latest unjail asked for one validator (`UNJAIL/<chainId>#<validator>`). */
export interface UnjailRequest extends ValidatorRef {
  /** The `unjail` action's id, and the chat subject `operation:<id>` the outcome is told under. */
  id: string;
  node: string;
  requestedBy: string;
  at: number;
  status: 'queued' | 'done' | 'failed';
  txHash: string | null;
  height: number | null;
  message: string | null;
  finishedAt: number | null;
}

export const short = (validator: string) => validator.slice(0, 8);

const chainOf = (n: NodeRecord) => n.lastReport?.chain ?? null;

/** The validator a request names: a node (the validator it watches), a consensus address or a valoper address. */
export function resolveValidator(nodes: readonly NodeRecord[], target: string): ValidatorRef | string {
  const node = nodes.find((n) => n.id === target);
  if (node) {
    const validator = chainOf(node)?.validatorAddress;
    return validator
      ? { chainId: node.chainId, validator }
      : `${target} watches no validator (its latest report names none)`;
  }
  const address = target.toUpperCase();
  const refs = new Map<string, ValidatorRef>();
  for (const n of nodes) {
    const chain = chainOf(n);
    if (!chain?.validatorAddress) continue;
    if (chain.validatorAddress === address || chain.operatorAddress === target)
      refs.set(n.chainId, { chainId: n.chainId, validator: chain.validatorAddress });
  }
  const found = [...refs.values()];
  if (found.length === 1) return found[0]!;
  if (found.length > 1)
    return `${target} is a validator on several chains (${found.map((r) => r.chainId).join(', ')}): name one of its nodes`;
  return `no node of the fleet watches validator ${target}: name a node, a consensus address (40 hex) or a valoper address`;
}

const watchers = (nodes: readonly NodeRecord[], ref: ValidatorRef) =>
  nodes.filter(
    (n) =>
      n.chainId === ref.chainId &&
      n.status === 'approved' &&
      n.role === 'validator' &&
      chainOf(n)?.validatorAddress === ref.validator,
  );

/**
 * Why the chain would refuse an unjail now, from the freshest report that read the validator; null
 * when it would take one, or nobody could tell (the chain then answers through the pilot).
 */
export function unjailRefusal(nodes: readonly NodeRecord[], ref: ValidatorRef, now: number): string | null {
  const watcher = watchers(nodes, ref)
    .filter((n) => chainOf(n)?.validator || chainOf(n)?.signingInfo)
    .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))[0];
  const chain = watcher ? chainOf(watcher) : null;
  if (!watcher || !chain) return null;
  const who = `validator ${short(ref.validator)}`;
  if (chain.signingInfo?.tombstoned) return `${who} is tombstoned: it can never be unjailed`;
  if (chain.validator && !chain.validator.jailed) return `${who} is not jailed (as ${watcher.id} reports)`;
  const until = chain.signingInfo?.jailedUntil ?? null;
  if (until !== null && until > now)
    return `${who} is jailed until ${new Date(until).toISOString()}: the chain refuses an unjail before then`;
  return null;
}

/**
 * Whether the node's pilot can broadcast now, as its latest report shows: the hot key sends through
 * the node's own daemon, which must run and answer RPC.
 */
export function canBroadcast(n: NodeRecord): boolean {
  const daemon = n.lastReport?.daemon;
  return daemon?.running === true && daemon.rpcReachable === true;
}

/** Why a node's pilot cannot broadcast now, for people; null when it can. */
export function broadcastProblem(n: NodeRecord): string | null {
  if (canBroadcast(n)) return null;
  const daemon = n.lastReport?.daemon;
  if (!daemon) return 'it has not reported yet';
  return daemon.running ? 'its daemon does not answer RPC' : 'its daemon is down';
}

/**
 * The node whose pilot sends the unjail: the lease holder when known and its fresh report says its
 * daemon answers (a hung daemon slows its pilot's reports: the last one may predate the hang), else
 * the approved validator node with a hot key (its report reads grants) whose daemon answers, one
 * holding the unjail grant first, freshest first. A jailed validator's holder is often the node that
 * failed (a hung or stopped daemon): its pilot could not broadcast. With no node able to, the holder
 * (else the best node with a hot key) still gets it, and its pilot's answer says what went wrong.
 */
export function unjailSender(
  nodes: readonly NodeRecord[],
  ref: ValidatorRef,
  holder: string | null,
  /** Whether a node's latest report is recent enough to go by: stale facts choose nobody. */
  fresh: (n: NodeRecord) => boolean = () => true,
): NodeRecord | null {
  const candidates = watchers(nodes, ref);
  const held = candidates.find((n) => n.id === holder);
  const able = (n: NodeRecord) => fresh(n) && canBroadcast(n);
  if (held && able(held)) return held;
  const granted = (n: NodeRecord) => Number(chainOf(n)?.grants?.some((g) => g.msgTypeUrl === UNJAIL_GRANT));
  const hot = candidates
    .filter((n) => chainOf(n)?.grants != null)
    .sort((a, b) => granted(b) - granted(a) || (b.lastSeen ?? 0) - (a.lastSeen ?? 0));
  return hot.find(able) ?? held ?? hot[0] ?? null;
}

/** A warning when the sender's hot key is known to lack the unjail grant (the tx would fail). */
export function grantWarning(sender: NodeRecord, now: number): string | null {
  const grants = chainOf(sender)?.grants;
  if (!grants) return null;
  const grant = grants.find((g) => g.msgTypeUrl === UNJAIL_GRANT);
  if (grant && (grant.expiresAt === null || grant.expiresAt > now)) return null;
  return `${sender.id}'s hot key holds no ${grant ? 'unexpired ' : ''}grant for ${UNJAIL_GRANT}: run \`beam-pilot grants\` and submit it, or the tx fails`;
}

export type SettledUnjail = UnjailRequest & { status: 'done' | 'failed' };

/** The request once its pilot answered, or once it waited too long; null while it still waits. */
export function settleUnjail(
  request: UnjailRequest,
  result: ActionResult | undefined,
  now: number,
): SettledUnjail | null {
  if (request.status !== 'queued') return null;
  if (result)
    return {
      ...request,
      status: result.ok ? 'done' : 'failed',
      txHash: result.txHash ?? null,
      height: result.height ?? null,
      message: result.message ?? null,
      finishedAt: now,
    };
  if (now - request.at <= UNJAIL_TIMEOUT_MS) return null;
  return {
    ...request,
    status: 'failed',
    message: `no result from ${request.node}'s pilot within ${UNJAIL_TIMEOUT_MS / 60_000} min`,
    finishedAt: now,
  };
}

/**
 * The outcome, told by editing the request's answer in chat (subject `operation:<id>`, right under
 * the alert's [Unjail] question): the tx hash, or what the pilot said.
 */
export function renderUnjail(
  r: SettledUnjail,
  explorer: ExplorerPages,
  operator: string | null,
): ChatMessage {
  const what = `Unjail of validator ${short(r.validator)}`;
  const context = `${r.chainId} · ${r.id} · requested by ${r.requestedBy}`;
  const links = explorerLinks(explorer, { tx: r.txHash, validator: operator });
  if (r.status === 'done')
    return {
      title: `${what}: done`,
      severity: 'ok',
      text: `tx ${r.txHash ?? '(no hash reported)'}${r.height !== null ? ` at height ${r.height}` : ''}, sent by ${r.node}`,
      ...(links.length ? { links } : {}),
      context,
    };
  const grantHint = /authoriz|grant/i.test(r.message ?? '')
    ? '\nThe hot key may lack its authz grant: run `beam-pilot grants` on the validator node.'
    : '';
  return {
    title: `${what}: FAILED`,
    severity: 'warning',
    text: `${r.node}: ${r.message ?? 'no detail'}${grantHint}`,
    context,
  };
}
