/**
 * What alerting remembers between ticks besides the alerts themselves: the graces (which nodes have
 * reported healthy once, the height each validator first signed at) and the digest's running totals.
 * One item, written by the tick only when it changed.
 */

/** Running totals of one chain's daily digest. */
export interface DigestProgress {
  /** Start of the period the next digest covers. */
  since: number;
  /** Highest commit height counted. */
  lastHeight: number | null;
  signed: number;
  missed: number;
  /** Alerts that fired in the period, and how many of them were critical. */
  alerts: number;
  critical: number;
  /** Operations that finished in the period, by `kind` or `kind failed`. */
  actions: Record<string, number>;
  /** Ids of finished operations already counted (a finished operation is seen by many ticks). */
  counted: string[];
}

export interface AlertingState {
  /** Node id → when it first reported healthy: before that, its alerts wait (start-up grace). */
  healthy: Record<string, number>;
  /** `<chainId>#<validator>` → the lowest height it was seen signing (genesis grace below it). */
  firstSigned: Record<string, number>;
  /** Chain id → the digest's totals, while its digest is on. */
  digest: Record<string, DigestProgress>;
}

export function initialAlertingState(): AlertingState {
  return { healthy: {}, firstSigned: {}, digest: {} };
}

export const validatorRef = (chainId: string, validator: string) => `${chainId}#${validator}`;

export function newDigest(since: number, lastHeight: number | null, counted: string[] = []): DigestProgress {
  return { since, lastHeight, signed: 0, missed: 0, alerts: 0, critical: 0, actions: {}, counted };
}
