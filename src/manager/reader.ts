import { SCOPE_FIELDS, type PlanWithInstance, type Scope, type StoreReader } from '../adapters/contract';
import { deepFreeze } from '../adapters/freeze';
import { asStorageError } from '../refusals';
import type { Instance, Lease, Plan, StoredRecord } from '../schemas/records';

/**
 * How the manager's operations read the store: straight from the adapter, or inside one of its
 * transactions (`transact`), or, for a lease holder, from what it last wrote. Every record read
 * is deeply frozen (at no cost for adapters that hand out frozen records, as the built-in ones do).
 */
export interface Reader {
  /** `scope`: what the caller may see, for the store to hide the rest at no extra cost (see `StorageAdapter.get`). */
  instance(id: string, scope?: Scope): Promise<Instance | undefined>;
  plan(id: string, scope?: Scope): Promise<Plan | undefined>;
  /** A plan and its instance, in one read where the store offers one (`getPlanWithInstance`). */
  planWithInstance(id: string, scope?: Scope): Promise<PlanWithInstance | undefined>;
  lease(id: string): Promise<Lease | undefined>;
}

/** Calls the adapter for a read, turning its faults into `STORAGE_ERROR`. */
export async function read<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStorageError(error, operation);
  }
}

/** The reads of an adapter, or of a transaction of one. */
export function storeReader(store: StoreReader): Reader {
  const get = <K extends 'instance' | 'plan' | 'lease'>(kind: K, id: string, scope?: Scope) =>
    read('get', () => store.get(kind, id, scope)).then(deepFreeze);
  return {
    instance: (id, scope) => get('instance', id, naming(scope)),
    plan: (id, scope) => get('plan', id, naming(scope)),
    lease: (id) => get('lease', id),
    async planWithInstance(id, given) {
      const scope = naming(given);
      if (store.getPlanWithInstance) {
        const both = await read('get', () => store.getPlanWithInstance!(id, scope));
        return both && { plan: deepFreeze(both.plan), instance: deepFreeze(both.instance) };
      }
      const plan = await get('plan', id, scope);
      return plan && { plan, instance: await get('instance', plan.instance_id) };
    },
  };
}

/** The scope when it names a field, else undefined: an empty scope sees everything, and the store need not look. */
function naming(scope: Scope | undefined): Scope | undefined {
  return scope && SCOPE_FIELDS.some((field) => scope[field] !== undefined) ? scope : undefined;
}

/**
 * What a lease holder last read or wrote of its own instance and that instance's plans. While it
 * holds the lease nobody else can change them, so its next change starts from here without a
 * read; the commit still names the versions it expects, so a stale entry costs one `CONFLICT`,
 * after which `mutate` forgets them all and reads the store.
 */
export type Remembered = Map<string, StoredRecord>;

/** Reads through `remembered` for records of `instanceId`, falling back to `reader` (and remembering what it read). */
export function rememberingReader(reader: Reader, remembered: Remembered, instanceId: string): Reader {
  const keep = <T extends StoredRecord | undefined>(key: string, record: T, owner: string | undefined): T => {
    if (record && owner === instanceId) remembered.set(key, record);
    return record;
  };
  return {
    lease: reader.lease,
    async instance(id, scope) {
      const known = remembered.get(`instance:${id}`) as Instance | undefined;
      return known ?? keep(`instance:${id}`, await reader.instance(id, scope), id);
    },
    async plan(id, scope) {
      const known = remembered.get(`plan:${id}`) as Plan | undefined;
      if (known) return known;
      const plan = await reader.plan(id, scope);
      return keep(`plan:${id}`, plan, plan?.instance_id);
    },
    async planWithInstance(id, scope) {
      const plan = remembered.get(`plan:${id}`) as Plan | undefined;
      const instance = plan && (remembered.get(`instance:${plan.instance_id}`) as Instance | undefined);
      if (plan && instance) return { plan, instance };
      const both = await reader.planWithInstance(id, scope);
      if (both) {
        keep(`plan:${id}`, both.plan, both.plan.instance_id);
        keep(`instance:${both.plan.instance_id}`, both.instance, both.instance?.id);
      }
      return both;
    },
  };
}

/** Remembers the records a lease holder just committed (those of its own instance). */
export function rememberWrites(remembered: Remembered, instanceId: string, writes: readonly { kind: string; record: StoredRecord | Lease }[]): void {
  for (const { kind, record } of writes) {
    if (kind === 'instance' && record.id === instanceId) remembered.set(`instance:${record.id}`, record as Instance);
    else if (kind === 'plan' && (record as Plan).instance_id === instanceId) remembered.set(`plan:${record.id}`, record as Plan);
  }
}
