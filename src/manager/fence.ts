import type { RecordCheck, RecordWrite } from '../adapters/contract';
import { InstancePlanError } from '../errors';
import type { Lease, Plan } from '../schemas/records';
import type { ManagerContext } from './context';

/**
 * The lease a manager view writes under (`PlanManager#withLease`). Mutable: the view adopts
 * renewals it learns of (its own, or ones made through another manager) by reading the store.
 */
export interface Fence {
  lease: Lease;
}

/** Held by an owner and not yet expired by `now`. */
export function isActive(lease: Lease, now: string): boolean {
  return lease.owner !== null && Date.parse(lease.expires_at) > Date.parse(now);
}

/**
 * Decides the lease checks that go with each commit of one operation, and explains a commit
 * refused for one of them. Every write to an existing instance or to a plan carries a check of
 * that instance's lease, so the store itself refuses what the lease forbids:
 * - under the view's own lease: the lease must still be at the version the view knows (a new
 *   owner, a release, even a renewal made elsewhere changes it; the last one is adopted and the
 *   commit retried);
 * - any other instance: no lease may be active on it. A lease record that exists but is free
 *   (released or expired) is checked at the version read, so a racing acquisition is caught.
 */
export function leaseGuard(context: ManagerContext, readLease: (instanceId: string) => Promise<Lease | undefined>) {
  const fence = context.fence;
  /** Versions of lease records found free during this operation, by instance id (absent: none stored). */
  const free = new Map<string, number>();

  /** Re-reads the view's lease: the same holding (owner and token) is adopted, anything else is lost. */
  const refresh = async (held: Fence): Promise<void> => {
    const current = await readLease(held.lease.instance_id);
    if (!current || current.owner !== held.lease.owner || current.token !== held.lease.token) throw leaseLost(held.lease, current, context.now());
    held.lease = current;
  };

  return {
    async checks(writes: readonly RecordWrite[]): Promise<RecordCheck[]> {
      const checks: RecordCheck[] = [];
      for (const instanceId of instancesChanged(writes)) {
        if (fence && fence.lease.instance_id === instanceId) {
          if (fence.lease.owner === null) throw leaseLost(fence.lease, fence.lease, context.now());
          // The clock says the lease ran out: maybe it was renewed through another manager.
          if (!isActive(fence.lease, context.now())) await refresh(fence);
          if (!isActive(fence.lease, context.now())) throw leaseLost(fence.lease, fence.lease, context.now());
          checks.push({ kind: 'lease', id: instanceId, expected_version: fence.lease.version });
        } else {
          checks.push({ kind: 'lease', id: instanceId, expected_version: free.get(instanceId) ?? null });
        }
      }
      return checks;
    },

    /**
     * After a `CONFLICT`: false when it is not about a lease this guard checked; true when the
     * lease still allows the write (the commit may be tried again as it is, with fresh checks);
     * otherwise it throws `LEASE_LOST` (the view's lease is gone) or `LEASE_HELD` (someone holds it).
     */
    async explain(error: InstancePlanError, checked: readonly RecordCheck[]): Promise<boolean> {
      const { kind, id } = error.details;
      if (kind !== 'lease' || !checked.some((check) => check.id === id)) return false;
      const instanceId = id as string;
      if (fence && fence.lease.instance_id === instanceId) {
        await refresh(fence);
        return true;
      }
      const current = await readLease(instanceId);
      if (current && isActive(current, context.now())) throw leaseHeld(current);
      if (current) free.set(instanceId, current.version);
      else free.delete(instanceId);
      return true;
    },
  };
}

/** The instances a batch changes: each instance updated (a new one cannot be leased yet), each plan's. */
function instancesChanged(writes: readonly RecordWrite[]): string[] {
  const ids = new Set<string>();
  for (const write of writes) {
    if (write.kind === 'instance' && write.expected_version !== null) ids.add(write.record.id);
    else if (write.kind === 'plan') ids.add((write.record as Plan).instance_id);
  }
  return [...ids];
}

/** `LEASE_HELD`: another owner holds the instance now; says until when and how to proceed. */
export function leaseHeld(current: Lease): InstancePlanError {
  return new InstancePlanError(
    'LEASE_HELD',
    `Instance ${JSON.stringify(current.instance_id)} is leased to ${JSON.stringify(current.owner)} until ${current.expires_at} (token ${current.token}): ` +
      'only the holder may change the instance and its plans now. Nothing was changed. Acquire the lease once it expires or is released, ' +
      'and write through manager.withLease(lease).',
    { instance_id: current.instance_id, owner: current.owner, token: current.token, expires_at: current.expires_at },
  );
}

/**
 * `LEASE_LOST`: the lease a manager wrote under no longer holds. `reason` says why: `taken` (a
 * new owner, with a higher token), `released`, `expired` (nobody took it yet: renewing works),
 * or `missing` (the store holds no lease for the instance).
 */
export function leaseLost(held: Lease, current: Lease | undefined, now: string): InstancePlanError {
  const holder = held.owner === null ? '' : ` of ${JSON.stringify(held.owner)}`;
  const who = `The lease${holder} on instance ${JSON.stringify(held.instance_id)} (token ${held.token})`;
  let reason: 'taken' | 'released' | 'expired' | 'missing';
  let message: string;
  if (!current) {
    reason = 'missing';
    message = `${who} is not in the store. Nothing was changed; acquire the lease again to work on the instance.`;
  } else if (current.token !== held.token || (current.owner !== null && current.owner !== held.owner)) {
    // Another token, or another owner under this token (a lease object this holder was never handed).
    reason = 'taken';
    const taker = current.owner === null ? 'another owner took the instance over and released it since' : `${JSON.stringify(current.owner)} took the instance over`;
    message = `${who} is lost: ${taker} (token ${current.token}). Nothing was changed; stop working on this instance.`;
  } else if (current.owner === null) {
    reason = 'released';
    message = `${who} was released. Nothing was changed; acquire the lease again to keep working on the instance.`;
  } else {
    reason = 'expired';
    message = `${who} expired at ${current.expires_at} (now ${now}). Nothing was changed; renew it (renewLease) while nobody else has taken it, or acquire it again.`;
  }
  return new InstancePlanError('LEASE_LOST', message, {
    reason,
    instance_id: held.instance_id,
    owner: held.owner,
    token: held.token,
    current_owner: current?.owner ?? null,
    current_token: current?.token ?? null,
  });
}
