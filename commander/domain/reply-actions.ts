import { type Action, parseAction } from '../../protocol/index.js';

/** An action held back from a reply, and why (the reason names the field). */
export interface DroppedAction {
  id: string | null;
  type: string;
  reason: string;
}

/**
 * Splits actions into those a pilot accepts and those it would refuse. Queued actions may predate
 * today's protocol rules (an address checked less strictly then), so each is checked again with
 * the pilot's own parser before it is sent.
 */
export function sendableActions(actions: readonly unknown[]): {
  sendable: Action[];
  dropped: DroppedAction[];
} {
  const sendable: Action[] = [];
  const dropped: DroppedAction[] = [];
  for (const raw of actions) {
    const parsed = parseAction(raw);
    if (parsed.ok) sendable.push(parsed.action);
    else dropped.push({ id: parsed.id, type: parsed.type, reason: parsed.reason });
  }
  return { sendable, dropped };
}
