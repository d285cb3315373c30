import type { Lease } from '../schemas/records';

/** Held by an owner and not yet expired by `now`. */
export function isActive(lease: Lease, now: string): boolean {
  return lease.owner !== null && Date.parse(lease.expires_at) > Date.parse(now);
}

/** Held by an owner, never released, and run out by `now`: its holder is presumed dead. */
export function isAbandoned(lease: Lease | undefined, now: string): lease is Lease {
  return lease !== undefined && lease.owner !== null && !isActive(lease, now);
}
