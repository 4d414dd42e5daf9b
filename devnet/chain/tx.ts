/** Running a tx in check, deliver or simulate mode, with the SDK's result codes, events and TxMsgData. */
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { type DecodedTx, type Mode, type SignatureCache, decodeTx, runAnte } from './ante.js';
import type { AbciEvent } from './codec.js';
import { makeCtx } from './context.js';
import { ChainError, sdk } from './errors.js';
import { msgGas, responseTypeUrl, runMsg } from './router.js';
import { type State, cloneState } from './state.js';
import type { TxResult } from './types.js';

export interface TxOutcome {
  result: TxResult;
  /** The state after the tx: `state` itself (ante writes only) or a successor with the messages applied. */
  state: State;
  msgResponses: Any[];
  decoded: DecodedTx | null;
}

function failure(error: unknown, gasWanted: number, gasUsed: number, events: AbciEvent[]): TxResult {
  const e =
    error instanceof ChainError
      ? error
      : new ChainError('undefined', 1, 'internal', (error as Error).message);
  return {
    code: e.code,
    codespace: e.codespace,
    log: e.message,
    gasWanted,
    gasUsed,
    events,
    data: new Uint8Array(),
  };
}

/**
 * Check mode runs the ante handler only (against the mempool's check state); deliver and simulate
 * also run the messages, on a copy that replaces the state only if every message succeeds.
 */
export function executeTx(
  state: State,
  bytes: Uint8Array,
  mode: Mode,
  block: { height: number; timeMs: number },
  cache: SignatureCache,
): TxOutcome {
  const ctx = makeCtx(state, block.height, block.timeMs);
  let decoded: DecodedTx | null = null;
  let ante = { gasWanted: 0, gasUsed: 0 };
  try {
    decoded = decodeTx(bytes, state.params.bech32Prefix);
    ante = runAnte(ctx, decoded, mode, cache);
  } catch (error) {
    return { result: failure(error, ante.gasWanted, ante.gasUsed, []), state, msgResponses: [], decoded };
  }
  const anteEvents = ctx.events;
  const prefix = state.params.bech32Prefix;
  const gasUsed = ante.gasUsed + decoded.msgs.reduce((sum, m) => sum + msgGas(m, prefix), 0);
  const ok = (next: State, events: AbciEvent[], msgResponses: Any[]): TxOutcome => ({
    result: {
      code: 0,
      codespace: '',
      log: '',
      gasWanted: ante.gasWanted,
      gasUsed: mode === 'check' ? ante.gasUsed : gasUsed,
      events,
      data: TxMsgData.encode({ data: [], msgResponses }).finish(),
    },
    state: next,
    msgResponses,
    decoded,
  });
  if (mode === 'check') return ok(state, anteEvents, []);
  if (mode !== 'simulate' && gasUsed > ante.gasWanted) {
    const error = sdk.outOfGas(
      `out of gas in location: msgs; gasWanted: ${ante.gasWanted}, gasUsed: ${gasUsed}`,
    );
    return { result: failure(error, ante.gasWanted, gasUsed, anteEvents), state, msgResponses: [], decoded };
  }

  const msgCtx = makeCtx(cloneState(state), block.height, block.timeMs);
  const msgResponses: Any[] = [];
  for (const [index, msg] of decoded.msgs.entries()) {
    try {
      msgResponses.push({ typeUrl: responseTypeUrl(msg.any.typeUrl), value: runMsg(msgCtx, msg) });
    } catch (error) {
      const wrapped =
        error instanceof ChainError
          ? error.wrap(`failed to execute message; message index: ${index}`)
          : new ChainError('undefined', 1, 'internal', (error as Error).message);
      return {
        result: failure(wrapped, ante.gasWanted, gasUsed, anteEvents),
        state,
        msgResponses: [],
        decoded,
      };
    }
  }
  return ok(msgCtx.state, [...anteEvents, ...msgCtx.events], msgResponses);
}
