/**
 * Slashing: liveness over a sliding window of signed blocks (downtime → slash + jail for a while),
 * double-sign evidence (slash + jail forever + tombstone), and MsgUnjail.
 */
import { MsgUnjailResponse } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import type { MsgUnjail } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import { decFrom, event, valconsAddress } from './codec.js';
import type { Ctx } from './context.js';
import { slashing as errors } from './errors.js';
import { selfDelegation, slashTokens, tokensFromShares } from './staking.js';
import type { SigningInfo, State, ValidatorState } from './state.js';
import type { Commit, DoubleSignEvidence, ValidatorSetEntry } from './types.js';

/** 9999-12-31T23:59:59Z, the SDK's "jailed forever" time for double signers. */
export const DOUBLE_SIGN_JAIL_END_MS = 253402300799000;

export function valconsOf(state: State, consAddress: string): string {
  return valconsAddress(consAddress, state.params.bech32Prefix);
}

function validatorByCons(state: State, consAddress: string): ValidatorState | undefined {
  for (const v of state.validators.values()) if (v.consAddress === consAddress) return v;
  return undefined;
}

/** Signing info starts when a validator first bonds, and restarts when it bonds again. */
export function onValidatorBonded(ctx: Ctx, validator: ValidatorState): void {
  const info = ctx.state.signingInfos.get(validator.consAddress);
  if (info) info.startHeight = ctx.height;
  else {
    ctx.state.signingInfos.set(validator.consAddress, {
      consAddress: validator.consAddress,
      startHeight: ctx.height,
      indexOffset: 0,
      missed: [],
      missedCounter: 0,
      jailedUntilMs: 0,
      tombstoned: false,
    });
  }
}

function resetWindow(info: SigningInfo): void {
  info.missed = [];
  info.missedCounter = 0;
  info.indexOffset = 0;
}

/**
 * Records signed/missed for every validator of the last commit's set (a nil precommit counts as
 * signed, as in the SDK: only an absent one is missed); jails on downtime.
 */
export function handleLiveness(ctx: Ctx, set: ValidatorSetEntry[], commit: Commit): void {
  const { state } = ctx;
  const params = state.params.slashing;
  const window = params.signedBlocksWindow;
  const signed = new Set(commit.signatures.flatMap((s) => (s ? [s.validatorAddress] : [])));
  const maxMissed = window - Math.round(window * params.minSignedPerWindow);
  for (const entry of set) {
    const validator = validatorByCons(state, entry.address);
    const info = state.signingInfos.get(entry.address);
    // As the SDK: a jailed validator's blocks are not tracked (it may still be in this commit's set).
    if (!validator || !info || validator.jailed) continue;
    const missed = !signed.has(entry.address);
    const index = info.indexOffset % window;
    info.indexOffset += 1;
    const previous = info.missed[index] ?? false;
    if (!previous && missed) info.missedCounter += 1;
    if (previous && !missed) info.missedCounter -= 1;
    info.missed[index] = missed;
    const valcons = valconsOf(state, entry.address);
    if (missed) {
      ctx.events.push(
        event('liveness', {
          address: valcons,
          missed_blocks: String(info.missedCounter),
          height: String(ctx.height),
        }),
      );
    }
    const minHeight = info.startHeight + window;
    if (ctx.height > minHeight && info.missedCounter > maxMissed) {
      const burned = slashTokens(ctx, validator, decFrom(params.slashFractionDowntime));
      validator.jailed = true;
      info.jailedUntilMs = ctx.timeMs + params.downtimeJailMs;
      resetWindow(info);
      ctx.events.push(
        event('slash', {
          address: valcons,
          power: String(entry.votingPower),
          reason: 'missing_signature',
          jailed: valcons,
          burned_coins: burned.toString(),
        }),
      );
    }
  }
}

/** Double signing: slash, jail forever, tombstone; evidence for a tombstoned validator is ignored. */
export function handleEvidence(ctx: Ctx, evidence: DoubleSignEvidence): void {
  const { state } = ctx;
  const validator = validatorByCons(state, evidence.validatorAddress);
  const info = state.signingInfos.get(evidence.validatorAddress);
  if (!validator || !info || info.tombstoned) return;
  const burned = slashTokens(ctx, validator, decFrom(state.params.slashing.slashFractionDoubleSign));
  validator.jailed = true;
  info.jailedUntilMs = DOUBLE_SIGN_JAIL_END_MS;
  info.tombstoned = true;
  const valcons = valconsOf(state, evidence.validatorAddress);
  ctx.events.push(
    event('slash', {
      address: valcons,
      reason: 'double_sign',
      jailed: valcons,
      burned_coins: burned.toString(),
    }),
  );
}

export function handleUnjail(ctx: Ctx, msg: MsgUnjail): Uint8Array {
  const validator = ctx.state.validators.get(msg.validatorAddr);
  if (!validator) throw errors.noValidator(msg.validatorAddr);
  if (!validator.jailed) throw errors.notJailed();
  const self = selfDelegation(ctx.state, validator);
  if (!self || tokensFromShares(validator, self.shares) < 1n) throw errors.missingSelfDelegation();
  const info = ctx.state.signingInfos.get(validator.consAddress);
  if (info && (info.tombstoned || ctx.timeMs < info.jailedUntilMs)) throw errors.jailed();
  validator.jailed = false;
  ctx.events.push(event('message', { module: 'slashing', sender: msg.validatorAddr }));
  return MsgUnjailResponse.encode({}).finish();
}
