import type { Severity } from './model.js';

/** Shortens text to at most `max` characters, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The mark shown before a message title on platforms that render emoji. */
export const SEVERITY_MARK: Record<Severity, string> = { info: 'ℹ️', ok: '✅', warning: '⚠️', critical: '🚨' };
