import * as z from 'zod/mini';
import type { RecordCheck, RecordWrite } from '../adapters/contract';
import { deepFreeze } from '../adapters/freeze';
import type { InstancePlanError } from '../errors';
import { fieldError, leaseHeld, leaseLost } from '../refusals';
import type { InputSchemas } from '../schemas/inputs';
import type { Limits } from '../schemas/limits';
import { Lease, type Plan } from '../schemas/records';
import { isAbandoned, isActive } from './lease-state';
import { mutate } from './mutate';
import { planIdsOf, RecoveryPolicySchema, settle, type AcquiredLease, type RecoveryPolicy } from './recovery';
import type { Reader, Remembered } from './reader';
import type { ManagerContext } from './context';
import { visibleInstance } from './scope';
import { parseInput } from './validate';

/**
 * Leases hand an instance to one worker at a time. A lease is a record per instance (`owner`,
 * `token`, `expires_at`); its token grows with every new holding. A manager view made by
 * `PlanManager#withLease` writes under one (its fence), and every commit of any manager
 * carries a check of the lease of each instance it changes, so the store itself refuses a
 * write the lease forbids (`LEASE_LOST` for a stale holder, `LEASE_HELD` for anyone else).
 * Here: the operations (acquire, renew, release), the fence and the guard of each commit.
 */

// The operations

/** The longest a lease may run before it must be renewed: a day. A dead worker holds its instance at most this long. */
export const MAX_LEASE_TTL_MS = 24 * 60 * 60 * 1000;

export interface AcquireLeaseOptions {
  /** Who drives the instance: unique per worker process (two processes sharing a name share the lease). */
  owner: string;
  /** How long the lease holds without renewal, in milliseconds (1 to `MAX_LEASE_TTL_MS`). */
  ttl_ms: number;
  /**
   * What to do with the steps a dead holder left `in_progress` when this acquisition takes over
   * an abandoned lease: `fail` them (the default; the retry is explicit and counted), or `keep` them.
   */
  recovery?: RecoveryPolicy;
}

export interface RenewLeaseOptions {
  /** The new time to live from now; default the lease's own `ttl_ms`. */
  ttl_ms?: number;
}

const schemasByLimits = new WeakMap<Readonly<Limits>, ReturnType<typeof leaseInputSchemas>>();

/** The inputs of the lease operations. `id`: the manager's own id schema (an owner is a key in every store, as an id is). */
export function leaseInputSchemas(id: InputSchemas['id']) {
  const ttl = z.int().check(
    z.minimum(1, 'must be at least 1 (milliseconds)'),
    z.maximum(MAX_LEASE_TTL_MS, `must be at most ${MAX_LEASE_TTL_MS} (one day): renew a lease instead of taking it for longer`),
  );
  return {
    acquire: z.strictObject({
      owner: id,
      ttl_ms: ttl,
      recovery: z.optional(RecoveryPolicySchema),
    }),
    renew: z.strictObject({ ttl_ms: z.optional(ttl) }),
    // A lease as acquireLease answers it may carry its recovery report.
    lease: z.extend(Lease, { recovered: z.optional(z.unknown()) }),
  };
}

function schemas(context: ManagerContext) {
  let built = schemasByLimits.get(context.limits);
  if (!built) schemasByLimits.set(context.limits, (built = leaseInputSchemas(context.schemas.id)));
  return built;
}

/** The lease as handed back by a manager; a released one gives no right to anything. */
export function parseHeldLease(context: ManagerContext, lease: unknown, what: string): Lease {
  const { recovered: _, ...parsed } = parseInput(schemas(context).lease, lease, what);
  if (parsed.owner === null) throw fieldError(['owner'], 'is null: this lease was released; acquire the instance again (acquireLease)');
  return parsed;
}

const later = (now: string, ms: number) => new Date(Date.parse(now) + ms).toISOString();

/** Asked of `acquireLease`'s attempt when it finds an abandoned lease before the plans were listed. */
const PLANS_NEEDED = Symbol('plans needed');

/**
 * Takes the instance for `owner` until `ttl_ms` from now. A new holding gets the next token; the
 * current holder acquiring again keeps its token (a safe retry) and extends the lease. Refused
 * with `LEASE_HELD` while another owner's lease is active. Taking over an abandoned lease (held,
 * never released, run out) recovers what its holder left half-done, in the same commit
 * (see recovery.ts), and says so in the answer's `recovered`.
 */
export async function acquireLease(context: ManagerContext, instanceId: string, options: AcquireLeaseOptions): Promise<AcquiredLease> {
  const id = parseInput(context.schemas.id, instanceId, 'instance id');
  const { owner, ttl_ms, recovery: policy = 'fail' } = parseInput(schemas(context).acquire, options, 'acquireLease options');
  // Listed only when an abandoned lease is found: inside the commit's transaction plans are read by id.
  let planIds: string[] | undefined;
  for (;;) {
    try {
      const acquired = await mutate<AcquiredLease>(context, async (reader) => {
        await visibleInstance(context, id, reader);
        const current = await reader.lease(id);
        const now = context.now();
        const active = current !== undefined && isActive(current, now);
        if (active && current.owner !== owner) throw leaseHeld(current);
        const next: Lease = {
          id,
          instance_id: id,
          owner,
          // Renewal by the holder keeps the token; every other acquisition is a new holding.
          token: active ? current.token : (current?.token ?? 0) + 1,
          ttl_ms,
          expires_at: later(now, ttl_ms),
          created_at: current?.created_at ?? now,
          updated_at: now,
          version: (current?.version ?? 0) + 1,
        };
        const write: RecordWrite = { kind: 'lease', record: next, expected_version: current?.version ?? null };
        if (!isAbandoned(current, now)) return { writes: [write], events: [], result: deepFreeze({ ...next, recovered: null }) };
        if (planIds === undefined) throw PLANS_NEEDED;
        const recovery = { previous_owner: current.owner, previous_token: current.token, owner, token: next.token };
        const settled = await settle(context, reader, planIds, policy, recovery, current.expires_at, now);
        const recovered = { instance_id: id, previous_owner: current.owner, previous_token: current.token, expired_at: current.expires_at, policy, steps: settled.result };
        return { writes: [write, ...settled.writes], events: settled.events, checks: settled.checks, result: deepFreeze({ ...next, recovered }) };
      });
      return acquired.recovered === null ? acquired : await sweepNewPlans(context, acquired, planIds ?? [], policy);
    } catch (error) {
      if (error !== PLANS_NEEDED || planIds !== undefined) throw error;
      planIds = await planIdsOf(context, id);
    }
  }
}

/**
 * After a takeover: plans of the instance created between the listing and the commit (by the old
 * holder, whose lease had run out by its own clock but not yet been taken) were not read by the
 * recovery. Now that the new lease is stored nobody else can write them: they are read and
 * settled as the others were, in one more commit under the new lease.
 */
async function sweepNewPlans(context: ManagerContext, acquired: AcquiredLease, listed: readonly string[], policy: RecoveryPolicy): Promise<AcquiredLease> {
  const { recovered: report, ...lease } = acquired;
  const known = new Set(listed);
  const missed = (await planIdsOf(context, lease.instance_id)).filter((planId) => !known.has(planId));
  if (missed.length === 0 || report === null) return acquired;
  const holder: ManagerContext = { ...context, fence: { lease, remembered: new Map() } };
  const recovery = { previous_owner: report.previous_owner, previous_token: report.previous_token, owner: lease.owner, token: lease.token };
  const steps = await mutate(holder, async (reader) => {
    const settled = await settle(holder, reader, missed, policy, recovery, report.expired_at, context.now());
    return { writes: settled.writes, events: settled.events, checks: settled.checks, result: settled.result };
  });
  return deepFreeze({ ...lease, recovered: { ...report, steps: [...report.steps, ...steps] } });
}

/**
 * Extends a lease its holder still has: same owner and token in the store. That holds after
 * expiry too, as long as nobody else acquired the instance since. `LEASE_LOST` otherwise.
 */
export async function renewLease(context: ManagerContext, lease: Lease, options: RenewLeaseOptions = {}): Promise<Lease> {
  const held = parseHeldLease(context, lease, 'lease');
  const { ttl_ms = held.ttl_ms } = parseInput(schemas(context).renew, options, 'renewLease options');
  const renewed = await mutate(context, async (reader) => {
    await visibleInstance(context, held.instance_id, reader);
    const current = await reader.lease(held.id);
    const now = context.now();
    if (!current || current.owner !== held.owner || current.token !== held.token) throw leaseLost(held, current, now);
    const next: Lease = { ...current, ttl_ms, expires_at: later(now, ttl_ms), updated_at: now, version: current.version + 1 };
    return { writes: [{ kind: 'lease', record: next, expected_version: current.version }], events: [], result: next };
  });
  adopt(context, renewed);
  return renewed;
}

/**
 * Gives the instance up: the lease stays stored with no owner (so the next holder's token is
 * still higher). Releasing a lease already released by its holder succeeds and changes nothing;
 * one taken over by another owner is `LEASE_LOST`.
 */
export async function releaseLease(context: ManagerContext, lease: Lease): Promise<Lease> {
  const held = parseHeldLease(context, lease, 'lease');
  const released = await mutate(context, async (reader) => {
    await visibleInstance(context, held.instance_id, reader);
    const current = await reader.lease(held.id);
    const now = context.now();
    if (current && current.owner === null && current.token === held.token) return { writes: [], events: [], result: current };
    if (!current || current.owner !== held.owner || current.token !== held.token) throw leaseLost(held, current, now);
    const next: Lease = { ...current, owner: null, expires_at: now, updated_at: now, version: current.version + 1 };
    return { writes: [{ kind: 'lease', record: next, expected_version: current.version }], events: [], result: next };
  });
  adopt(context, released);
  return released;
}

/** A view writing under this very holding follows its renewal or release at once. */
function adopt(context: ManagerContext, lease: Lease): void {
  const fence = context.fence;
  if (fence && fence.lease.instance_id === lease.instance_id && fence.lease.token === lease.token) fence.lease = lease;
}

// The fence and the guard

/**
 * The lease a manager view writes under (`PlanManager#withLease`). Mutable: the view adopts
 * renewals it learns of (its own, or ones made through another manager) by reading the store.
 */
export interface Fence {
  lease: Lease;
  /** The holder's own instance and plans as it last read or wrote them (see `rememberingReader`). */
  remembered: Remembered;
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
  const refresh = async (held: Fence, read = readLease): Promise<void> => {
    const current = await read(held.lease.instance_id);
    if (!current || current.owner !== held.lease.owner || current.token !== held.lease.token) throw leaseLost(held.lease, current, context.now());
    held.lease = current;
  };

  return {
    /** The checks of a commit of `writes`; `read` reads the lease if it must (inside the commit's transaction, if any). */
    async checks(writes: readonly RecordWrite[], read: Reader['lease']): Promise<RecordCheck[]> {
      const checks: RecordCheck[] = [];
      for (const instanceId of instancesChanged(writes)) {
        if (fence && fence.lease.instance_id === instanceId) {
          if (fence.lease.owner === null) throw leaseLost(fence.lease, fence.lease, context.now());
          // The clock says the lease ran out: maybe it was renewed through another manager.
          if (!isActive(fence.lease, context.now())) await refresh(fence, read);
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

/**
 * The instances a batch changes whose lease it must check: each instance updated (a new one
 * cannot be leased yet), each plan's; not those whose lease the batch writes itself (that
 * write's compare-and-set fences it: a recovery commits the new lease with what it settles).
 */
function instancesChanged(writes: readonly RecordWrite[]): string[] {
  const ids = new Set<string>();
  for (const write of writes) {
    if (write.kind === 'instance' && write.expected_version !== null) ids.add(write.record.id);
    else if (write.kind === 'plan') ids.add((write.record as Plan).instance_id);
  }
  for (const write of writes) if (write.kind === 'lease') ids.delete(write.record.id);
  return [...ids];
}
