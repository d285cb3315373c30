import * as z from 'zod/mini';
import { Lease } from '../schemas/records';
import type { Limits } from '../schemas/limits';
import { mutate, read } from './commit';
import type { ManagerContext } from './context';
import { isActive, leaseHeld, leaseLost } from './fence';
import { visibleInstance } from './scope';
import { fieldError, parseInput } from './validate';

/** The longest a lease may run before it must be renewed: a day. A dead worker holds its instance at most this long. */
export const MAX_LEASE_TTL_MS = 24 * 60 * 60 * 1000;

export interface AcquireLeaseOptions {
  /** Who drives the instance: unique per worker process (two processes sharing a name share the lease). */
  owner: string;
  /** How long the lease holds without renewal, in milliseconds (1 to `MAX_LEASE_TTL_MS`). */
  ttl_ms: number;
}

export interface RenewLeaseOptions {
  /** The new time to live from now; default the lease's own `ttl_ms`. */
  ttl_ms?: number;
}

const schemasByLimits = new WeakMap<Readonly<Limits>, ReturnType<typeof buildSchemas>>();

function buildSchemas(limits: Readonly<Limits>) {
  const ttl = z.int().check(
    z.minimum(1, 'must be at least 1 (milliseconds)'),
    z.maximum(MAX_LEASE_TTL_MS, `must be at most ${MAX_LEASE_TTL_MS} (one day): renew a lease instead of taking it for longer`),
  );
  return {
    acquire: z.strictObject({
      owner: z.string().check(
        z.regex(/\S/, 'must not be empty'),
        z.maxLength(limits.maxIdLength, `must be at most ${limits.maxIdLength} characters (the maxIdLength limit)`),
      ),
      ttl_ms: ttl,
    }),
    renew: z.strictObject({ ttl_ms: z.optional(ttl) }),
    lease: Lease,
  };
}

function schemas(context: ManagerContext) {
  let built = schemasByLimits.get(context.limits);
  if (!built) schemasByLimits.set(context.limits, (built = buildSchemas(context.limits)));
  return built;
}

/** The lease as handed back by a manager; a released one gives no right to anything. */
export function parseHeldLease(context: ManagerContext, lease: unknown, what: string): Lease {
  const parsed = parseInput(schemas(context).lease, lease, what);
  if (parsed.owner === null) throw fieldError(['owner'], 'is null: this lease was released; acquire the instance again (acquireLease)');
  return parsed;
}

const later = (now: string, ms: number) => new Date(Date.parse(now) + ms).toISOString();

/**
 * Takes the instance for `owner` until `ttl_ms` from now. A new holding gets the next token; the
 * current holder acquiring again keeps its token (a safe retry) and extends the lease. Refused
 * with `LEASE_HELD` while another owner's lease is active.
 */
export async function acquireLease(context: ManagerContext, instanceId: string, options: AcquireLeaseOptions): Promise<Lease> {
  const id = parseInput(context.schemas.id, instanceId, 'instance id');
  const { owner, ttl_ms } = parseInput(schemas(context).acquire, options, 'acquireLease options');
  return mutate(context, async () => {
    await visibleInstance(context, id);
    const current = await read('get', () => context.adapter.get('lease', id));
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
    return { writes: [{ kind: 'lease', record: next, expected_version: current?.version ?? null }], events: [], result: next };
  });
}

/**
 * Extends a lease its holder still has: same owner and token in the store. That holds after
 * expiry too, as long as nobody else acquired the instance since. `LEASE_LOST` otherwise.
 */
export async function renewLease(context: ManagerContext, lease: Lease, options: RenewLeaseOptions = {}): Promise<Lease> {
  const held = parseHeldLease(context, lease, 'lease');
  const { ttl_ms = held.ttl_ms } = parseInput(schemas(context).renew, options, 'renewLease options');
  const renewed = await mutate(context, async () => {
    await visibleInstance(context, held.instance_id);
    const current = await read('get', () => context.adapter.get('lease', held.id));
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
  const released = await mutate(context, async () => {
    await visibleInstance(context, held.instance_id);
    const current = await read('get', () => context.adapter.get('lease', held.id));
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
