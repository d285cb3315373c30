// The refusals an adapter makes, from the one module that words every refusal.
export { conflictError, storageError } from '../refusals';
import type { Instance, Lease, Plan, RecordKind, RecordOfKind, StoredRecord } from '../schemas/records';

/**
 * The storage adapter contract: everything the manager needs from a store, small enough to
 * implement in a page of code. Adapters import this file and nothing else of the library.
 *
 * - A caller cannot change what is stored through a record it got (`get`, `list`, `history`, a
 *   change heard) or gave (`commit`): hand out deeply frozen records (the built-in adapters do,
 *   sharing them with the store where they can) or copies. A commit may freeze what it is given.
 * - `commit` stores a whole batch or nothing. Each write names the version it expects the stored
 *   record to have (`null`: it must not exist yet); any mismatch rejects the batch with an
 *   `InstancePlanError` of code `CONFLICT`. Faults of the store reject with `STORAGE_ERROR`.
 *   The batch's `checks` name versions that must still hold, compared in the same atomic step
 *   without writing: that is how a lease holder's writes are fenced (see `RecordCheck`).
 * - `list` filters by equality on the indexed fields below and orders newest first
 *   (`created_at` descending, then `id` ascending), then applies `offset` and `limit`.
 * - A malformed batch or query is a programming error: it throws a `TypeError` naming the field,
 *   and nothing is written (`checkBatch` and `checkListQuery` make these checks for an adapter).
 */
export interface StorageAdapter {
  /**
   * The stored record, or undefined. `scope`, given for instances and plans when the manager
   * acts for a scope: the adapter may answer a record outside it as absent, deciding in the store
   * (a plan's organization is its instance's), so that another scope's id costs what an unknown
   * id costs and timing does not tell them apart. The manager checks the scope of every record it
   * gets either way, so an adapter may ignore it.
   */
  get<K extends StoredKind>(kind: K, id: string, scope?: Scope): Promise<StoredOfKind[K] | undefined>;
  list<K extends RecordKind>(kind: K, query: ListQuery<K>): Promise<ListResult<RecordOfKind[K]>>;
  commit(batch: CommitBatch): Promise<void>;
  /**
   * The stored events of one record, in `seq` order: those with `seq` above `page.after_seq`
   * (default: all), at most `page.limit` of them (default: no limit).
   */
  history(recordId: string, page?: HistoryPage): Promise<HistoryEvent[]>;
  /**
   * Optional: a plan and its instance (undefined when not stored), read together: one query, one
   * snapshot. Without it the manager reads the two one after the other. `scope` as for `get`: a
   * plan outside it may be answered as absent.
   */
  getPlanWithInstance?(planId: string, scope?: Scope): Promise<PlanWithInstance | undefined>;
  /**
   * Optional, for stores that can read, check and commit in one transaction: runs `work` in one
   * transaction, `work` reading through the `StoreReader` it is given (it awaits nothing else),
   * then commits the batch `work` returns in that same transaction, exactly as `commit` would
   * (versions, checks, events: a mismatch is `CONFLICT`), and resolves with `work`'s result once
   * committed. A `null` batch writes nothing. When `work` throws, nothing is written and the
   * error passes through unchanged. Without it the manager reads, then calls `commit`.
   */
  transact?<R>(work: (reader: StoreReader) => Promise<Transacted<R>>): Promise<R>;
  /** Committed batches, as they land (optional: adapters without it get the manager's local feed). */
  subscribe?(listener: (change: CommittedChange) => void): () => void;
  close?(): void | Promise<void>;
}

/** Which records a manager may see and change. Every named field must match. */
export interface Scope {
  organization_id?: string;
  site_id?: string;
  user_id?: string;
}

/** The fields a scope may name. */
export const SCOPE_FIELDS = ['organization_id', 'site_id', 'user_id'] as const satisfies readonly (keyof Scope)[];

/** What a transaction reads with: the reads of the adapter, inside the transaction. */
export type StoreReader = Pick<StorageAdapter, 'get' | 'getPlanWithInstance'>;

/** What a `transact` work function returns: the batch to commit (or null) and the result to resolve with. */
export interface Transacted<R> {
  batch: CommitBatch | null;
  result: R;
}

/** A plan with its instance, as `getPlanWithInstance` reads them. */
export interface PlanWithInstance {
  plan: Plan;
  instance: Instance | undefined;
}

/**
 * Everything a store holds, by kind: instances and plans (listed, with history), and leases
 * (one per instance, under the instance's id; read with `get`, never listed, no history events).
 */
export interface StoredOfKind extends RecordOfKind {
  lease: Lease;
}

export type StoredKind = keyof StoredOfKind;

/** The fields each kind can be listed by: adapters index exactly these. */
export const INDEXED_FIELDS = {
  instance: ['organization_id', 'status', 'agent_type_id', 'task_id'],
  plan: ['instance_id', 'status', 'plan_type', 'site_id', 'user_id', 'agent_id'],
} as const satisfies { [K in RecordKind]: readonly (keyof RecordOfKind[K])[] };

export type IndexedField<K extends RecordKind> = (typeof INDEXED_FIELDS)[K][number];

export interface ListQuery<K extends RecordKind = RecordKind> {
  /**
   * Equality filters; a record matches when every named field equals the value. It holds only the
   * filters that apply: the manager never sends a key whose value is `undefined`, and an adapter
   * treats such a key as absent (no filter), as `checkListQuery` does.
   */
  where: Partial<Record<IndexedField<K>, string>>;
  limit: number;
  offset: number;
}

export interface ListResult<T> {
  records: T[];
  /** How many records match the filter in all, before paging. */
  total: number;
}

export interface RecordWrite {
  kind: StoredKind;
  record: StoredRecord | Lease;
  /** The version the stored record must have now; `null` when the record must not exist yet. */
  expected_version: number | null;
}

/**
 * A version that must still hold when the batch commits, compared in the same atomic step as the
 * writes (`null`: the record must not exist). The record is not written. A mismatch rejects the
 * whole batch with `CONFLICT`, exactly as a stale write does. The manager checks the instance's
 * lease with every write, so a holder whose lease was taken over cannot write (fencing).
 */
export interface RecordCheck {
  kind: StoredKind;
  id: string;
  expected_version: number | null;
}

export interface CommitBatch {
  writes: RecordWrite[];
  events: HistoryEvent[];
  /** Versions that must still hold, compared against the store as it was before the batch. Optional. */
  checks?: RecordCheck[];
  /**
   * History to drop in the same atomic step (bounded history): for each entry, every stored event
   * of `record_id` whose `seq` is below `before_seq`. The batch's own events are never dropped.
   * Optional; absent or empty: nothing is dropped.
   */
  prune?: HistoryPrune[];
}

/** Drops the events of one record older than `before_seq` (see `CommitBatch.prune`). */
export interface HistoryPrune {
  record_id: string;
  before_seq: number;
}

/** A page of one record's history: the events after `after_seq` (a cursor: the last `seq` seen), at most `limit`. */
export interface HistoryPage {
  after_seq?: number;
  limit?: number;
}

/** What subscribers hear after a batch is committed. */
export interface CommittedChange {
  records: { kind: StoredKind; id: string; version: number }[];
  events: HistoryEvent[];
}

/** A JSON patch step in immer's form: `path` is a list of keys, `value` the new value. */
export interface Patch {
  op: 'replace' | 'add' | 'remove';
  path: (string | number)[];
  value?: unknown;
}

/** Every kind of history event, in the order of the records' lives. */
export const HISTORY_EVENT_TYPES = [
  'instance.created',
  'instance.transitioned',
  'instance.turn_recorded',
  'instance.current_step_set',
  'instance.budget_set',
  'plan.created',
  'plan.updated',
  'plan.step_executed',
  'plan.recovered',
] as const;

export type HistoryEventType = (typeof HISTORY_EVENT_TYPES)[number];

/**
 * One committed change of one record. `seq` is the record's version after the change, so a
 * record's events are numbered 1, 2, 3, ... and replaying their `changes` (immer patches)
 * from nothing yields the stored record. With bounded history the oldest events are dropped;
 * the oldest one kept then carries `snapshot`, and replay starts there.
 */
export interface HistoryEvent {
  seq: number;
  record_id: string;
  record_kind: RecordKind;
  at: string;
  type: HistoryEventType;
  /** The record's status before and after (equal when the status did not change; `from` null on creation). */
  from: string | null;
  to: string;
  /** For `plan.step_executed`: which step, and its status before and after. */
  step?: { id: string; from: string; to: string };
  /**
   * For `plan.recovered`: the holding presumed dead (its owner and fencing token, null when the
   * instance was recovered without a lease) and the one that settled what it left half-done.
   */
  recovery?: { previous_owner: string | null; previous_token: number | null; owner: string | null; token: number | null };
  changes: Patch[];
  /** The whole record after this change, on the events where a bounded history may start. */
  snapshot?: StoredRecord;
}

/** The ordering every adapter's `list` uses: newest first, then by id. */
export function compareNewestFirst(a: StoredRecord, b: StoredRecord): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One equality filter of a list query: an indexed field and the value it must have. */
export type ListFilter = [field: string, value: string];

/**
 * Checks a list query before any store is touched, the same way in every adapter: only indexed
 * fields (no adapter has an index for any other), string values (`undefined` means "no
 * filter"), and whole non-negative `limit` and `offset`. Returns the filters that apply; a bad
 * query is a programming error, so it throws a `TypeError` naming what would be accepted.
 */
export function checkListQuery(kind: RecordKind, query: ListQuery): ListFilter[] {
  if (typeof query !== 'object' || query === null) throw new TypeError('list: the query must be an object { where, limit, offset }');
  const { where, limit, offset } = query;
  for (const [name, value] of [['limit', limit], ['offset', offset]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`list: ${name} must be a whole number of 0 or more, got ${String(value)}`);
  }
  if (typeof where !== 'object' || where === null) throw new TypeError('list: `where` must be an object of equality filters');
  const indexed: readonly string[] = INDEXED_FIELDS[kind];
  const filters: ListFilter[] = [];
  for (const [field, value] of Object.entries(where)) {
    if (!indexed.includes(field)) {
      throw new TypeError(`list: ${kind}s cannot be filtered by ${JSON.stringify(field)}; the indexed fields are ${indexed.join(', ')}`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new TypeError(`list: the filter ${field} must be a string, got ${typeof value}`);
    filters.push([field, value]);
  }
  return filters;
}

/**
 * Refuses a kind this adapter has no store for (`list` takes instances and plans; `get` leases
 * too), naming the kinds it takes. `kinds` maps each kind taken to its store.
 */
export function checkKind(kind: unknown, kinds: Readonly<Record<string, unknown>>): void {
  if (!Object.hasOwn(kinds, kind as string)) {
    const leases = Object.hasOwn(kinds, 'lease') ? ' (records) or "lease"' : '';
    throw new TypeError(`the kind must be "instance" or "plan"${leases}, got ${JSON.stringify(kind)}`);
  }
}
