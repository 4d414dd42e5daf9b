import { type Action, type ActionResult, parseAction } from '../protocol/index.js';
import type { ActionLedger } from './ledger.js';

export interface TakeLog {
  warn(obj: object, msg: string): void;
}

/** An action of a reply that passed the protocol, and what running it gave (null: already run). */
export interface Taken {
  action: Action;
  result: ActionResult | null;
}

/**
 * Takes a reply's actions one by one: each valid one goes to `run`; an invalid one is answered as
 * refused under its id through the ledger (once, nothing run), or only logged when it has no usable
 * id. One bad action never stops the others.
 */
export async function takeActions(
  raw: readonly unknown[],
  ledger: ActionLedger,
  run: (action: Action) => Promise<ActionResult | null>,
  log: TakeLog,
): Promise<Taken[]> {
  const taken: Taken[] = [];
  for (const item of raw) {
    const parsed = parseAction(item);
    if (parsed.ok) {
      taken.push({ action: parsed.action, result: await run(parsed.action) });
      continue;
    }
    if (parsed.id === null) {
      log.warn({ action: parsed.type, reason: parsed.reason }, 'invalid action without a usable id: ignored');
      continue;
    }
    const refused = await ledger.refuseInvalid(parsed.id, parsed.type, parsed.issuedAt, parsed.reason);
    if (refused) log.warn({ action: parsed.type, id: parsed.id, msg: refused.message }, 'action refused');
  }
  return taken;
}
