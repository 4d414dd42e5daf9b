import type { Lease, LeaseGrant } from '../../protocol/index.js';

/**
 * Renew-on-healthy-report: the holder's lease is extended only while it reports healthy; anything
 * else leaves the lease to run out. Moving the lease is the failover domain's job.
 */
export function renewOnReport(
  lease: Lease,
  nodeId: string,
  healthy: boolean,
  now: number,
  ttlMs: number,
): Lease {
  if (lease.holder !== nodeId || !healthy || lease.expiresAt <= now) return lease;
  return { ...lease, expiresAt: Math.max(lease.expiresAt, now + ttlMs) };
}

export function grantFor(lease: Lease, nodeId: string): LeaseGrant {
  return { epoch: lease.epoch, holder: lease.holder === nodeId, expiresAt: lease.expiresAt };
}
