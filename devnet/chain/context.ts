/** What a state transition sees: the state, the block's height and time, and where events go. */
import type { AbciEvent } from './codec.js';
import { moduleAddress } from './codec.js';
import type { State } from './state.js';

export interface Ctx {
  state: State;
  height: number;
  timeMs: number;
  events: AbciEvent[];
}

export function makeCtx(state: State, height: number, timeMs: number): Ctx {
  return { state, height, timeMs, events: [] };
}

export function moduleAddr(state: State, name: string): string {
  return moduleAddress(name, state.params.bech32Prefix);
}

export const valoperPrefix = (state: State): string => `${state.params.bech32Prefix}valoper`;
export const valconsPrefix = (state: State): string => `${state.params.bech32Prefix}valcons`;
