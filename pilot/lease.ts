import type { LeaseGrant } from '../protocol/index.js';

/** Monotonic milliseconds: immune to wall-clock jumps. */
export const monoNow = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/**
 * The lease as this pilot's own monotonic clock sees it. The remaining time is taken from the
 * reply (expiresAt − commanderTime) and counted from when the request was SENT (earlier than
 * receipt, so never longer than the commander meant), minus a safety margin.
 */
export class LeaseClock {
  private deadline: number | null = null;
  epoch = 0;

  constructor(
    private readonly marginMs: number,
    private readonly now: () => number = monoNow,
  ) {}

  /** Applies a grant; returns the local deadline (null when not the holder). */
  grant(lease: LeaseGrant | null, commanderTime: number, sentAtMono: number): number | null {
    if (!lease) return this.deadline;
    if (lease.epoch < this.epoch) return this.deadline;
    this.epoch = lease.epoch;
    this.deadline = lease.holder ? sentAtMono + (lease.expiresAt - commanderTime) - this.marginMs : null;
    return this.deadline;
  }

  /** Restores a lease persisted in wall-clock time (after a pilot restart). */
  restore(epoch: number, expiresAtWall: number, wallNow: number): void {
    this.epoch = epoch;
    this.deadline = this.now() + (expiresAtWall - wallNow) - this.marginMs;
  }

  /** Sets the lease from a promote action, whose expiry is in commander time. */
  fromAction(epoch: number, expiresAt: number, commanderTime: number, sentAtMono: number): void {
    this.epoch = Math.max(this.epoch, epoch);
    this.deadline = sentAtMono + (expiresAt - commanderTime) - this.marginMs;
  }

  clear(): void {
    this.deadline = null;
  }

  remainingMs(): number | null {
    return this.deadline === null ? null : this.deadline - this.now();
  }

  expired(): boolean {
    const r = this.remainingMs();
    return r === null || r <= 0;
  }
}

/** Fence when the lease is gone by our clock AND our own node shows no fresh signature of the validator. */
export function shouldFence(opts: {
  holdsKey: boolean;
  running: boolean;
  leaseExpired: boolean;
  freshSignature: boolean;
}) {
  return opts.holdsKey && opts.running && opts.leaseExpired && !opts.freshSignature;
}
