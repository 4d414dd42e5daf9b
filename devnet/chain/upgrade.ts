/**
 * x/upgrade: gov's MsgSoftwareUpgrade and MsgCancelUpgrade (authority: the gov module account), the
 * plan applied at its height by the pre-blocker, and the CurrentPlan / AppliedPlan / Authority
 * queries. The chain itself always holds the upgrade handler: whether a validator's binary does is
 * the node's business (devnet/upgradecheck.ts), and the hub's commit rule turns that into the halt.
 */
import {
  MsgCancelUpgradeResponse,
  MsgSoftwareUpgradeResponse,
  type MsgCancelUpgrade,
  type MsgSoftwareUpgrade,
} from 'cosmjs-types/cosmos/upgrade/v1beta1/tx';
import type { Plan } from 'cosmjs-types/cosmos/upgrade/v1beta1/upgrade';
import { event } from './codec.js';
import { type Ctx, moduleAddr } from './context.js';
import { gov as govErrors, sdk } from './errors.js';
import { MODULES, type State } from './state.js';
import type { UpgradeStatus } from './types.js';

/** Go's zero time, what the SDK keeps in a plan's deprecated `time`. */
const ZERO_TIME = { seconds: -62135596800n, nanos: 0 };

export const govAuthority = (state: State): string => moduleAddr(state, MODULES.gov);

function checkAuthority(state: State, authority: string): void {
  const expected = govAuthority(state);
  if (authority !== expected) throw govErrors.invalidSigner(`expected ${expected} got ${authority}`);
}

/** Plan.ValidateBasic and Keeper.ScheduleUpgrade: a later height, a name not yet applied; it replaces any plan. */
export function handleSoftwareUpgrade(ctx: Ctx, msg: MsgSoftwareUpgrade): Uint8Array {
  checkAuthority(ctx.state, msg.authority);
  const plan = msg.plan;
  if (!plan?.name) throw sdk.invalidRequest('plan: name cannot be empty');
  if (plan.height <= 0n) throw sdk.invalidRequest('plan: height must be greater than 0');
  if (plan.time && plan.time.seconds !== ZERO_TIME.seconds && plan.time.seconds !== 0n)
    throw sdk.invalidRequest('plan: time-based upgrades have been deprecated');
  if (plan.upgradedClientState)
    throw sdk.invalidRequest('plan: upgrade logic for IBC has been moved to the IBC module');
  if (Number(plan.height) <= ctx.height) throw sdk.invalidRequest('upgrade cannot be scheduled in the past');
  if (ctx.state.upgrade.done.has(plan.name))
    throw sdk.invalidRequest(`upgrade with name ${plan.name} has already been completed`);
  ctx.state.upgrade.plan = { name: plan.name, height: Number(plan.height), info: plan.info };
  return MsgSoftwareUpgradeResponse.encode({}).finish();
}

export function handleCancelUpgrade(ctx: Ctx, msg: MsgCancelUpgrade): Uint8Array {
  checkAuthority(ctx.state, msg.authority);
  ctx.state.upgrade.plan = null;
  return MsgCancelUpgradeResponse.encode({}).finish();
}

/** The pre-blocker: a plan due at this height is applied (done height, protocol version + 1). */
export function applyDueUpgrade(ctx: Ctx): void {
  const u = ctx.state.upgrade;
  if (!u.plan || u.plan.height > ctx.height) return;
  u.done.set(u.plan.name, ctx.height);
  u.appVersion += 1;
  ctx.events.push(event('upgrade', { name: u.plan.name, height: String(ctx.height) }));
  u.plan = null;
}

export function upgradeStatus(state: State): UpgradeStatus {
  let applied: UpgradeStatus['applied'] = null;
  for (const [name, height] of state.upgrade.done)
    if (!applied || height > applied.height) applied = { name, height };
  return {
    plan: state.upgrade.plan ? { ...state.upgrade.plan } : null,
    applied,
    appVersion: state.upgrade.appVersion,
  };
}

export function planView(state: State): Plan | undefined {
  const plan = state.upgrade.plan;
  return plan
    ? { name: plan.name, time: ZERO_TIME, height: BigInt(plan.height), info: plan.info }
    : undefined;
}
