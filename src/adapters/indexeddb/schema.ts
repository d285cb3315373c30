import type { DBSchema, IDBPDatabase, IDBPTransaction } from 'idb';
import type { HistoryEvent, IndexedField, StoredKind, StoredOfKind } from '../contract';
import type { Lease, RecordKind, RecordOfKind } from '../../schemas/records';
import type { OrderKey } from './order-key';
import { upgradeInstance, upgradeInstanceEvent } from '../../stores/upgrade';

/**
 * How records live in IndexedDB: one object store per kind, keyed by `id`, each row holding the
 * record untouched beside its sort key; history events in a store of their own; counters of
 * the records in `counts` (below).
 */
export interface RecordRow<T = StoredOfKind[StoredKind]> {
  id: string;
  order: OrderKey;
  record: T;
}

export const RECORD_STORES = { instance: 'instances', plan: 'plans' } as const satisfies Record<RecordKind, string>;
export const EVENT_STORE = 'events';
/** Leases (schema version 2): rows like the records', read by key only, so no indexes. */
export const LEASE_STORE = 'leases';
/**
 * Counters (schema version 3): how many records each kind has (`[kind]`) and how many hold each
 * value of each filter field (`[kind, field, value]`), so a list's `total` is one lookup, not a walk.
 */
export const COUNT_STORE = 'counts';
/** Keys `[key, n]`: a counter is read from an index key, without reading a stored value. */
export const COUNT_INDEX = 'with_n';
export type CountKey = [kind: string] | [kind: string, field: string, value: string];
export interface CountRow {
  key: CountKey;
  n: number;
}
/** The store of every kind a batch can write or check. */
export const STORES = { ...RECORD_STORES, lease: LEASE_STORE } as const satisfies Record<StoredKind, string>;

/** Every list walks one of these: `newest` when unfiltered, `by_<field>` per filtered field. */
export const NEWEST_INDEX = 'newest';
export const indexOf = (field: string): `by_${string}` => `by_${field}`;
/** Events of one record in `seq` order: keys `[record_id, seq]`. */
export const HISTORY_INDEX = 'by_record';

type FieldIndexes<K extends RecordKind> = { [F in IndexedField<K> as `by_${F}`]: [string, OrderKey, string] };

export interface InstancePlanSchema extends DBSchema {
  instances: { key: string; value: RecordRow<RecordOfKind['instance']>; indexes: FieldIndexes<'instance'> & { newest: [OrderKey, string] } };
  plans: { key: string; value: RecordRow<RecordOfKind['plan']>; indexes: FieldIndexes<'plan'> & { newest: [OrderKey, string] } };
  events: { key: number; value: HistoryEvent; indexes: { by_record: [string, number] } };
  leases: { key: string; value: RecordRow<Lease> };
  counts: { key: CountKey; value: CountRow; indexes: { with_n: [CountKey, number] } };
}

export type Database = IDBPDatabase<InstancePlanSchema>;

/**
 * One step of the schema, run inside the upgrade transaction. Loosely typed: it sees older shapes.
 * A step that reads or rewrites rows returns a promise; it may await nothing but requests of the
 * upgrade transaction (anything else lets it commit early), and the next step waits for it.
 */
export type Migration = (db: IDBPDatabase<unknown>, transaction: IDBPTransaction<unknown, string[], 'versionchange'>) => void | Promise<void>;

/**
 * The upgrade path. Migration `i` takes a database from version `i` to `i + 1`; the schema
 * version this code expects is the number of migrations. A migration that has shipped is never
 * edited, only followed by a new one (a user's database may be at any earlier version).
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1: the record stores, with the list indexes, and the history events.
  (db) => {
    // The fields are spelled out, not read from INDEXED_FIELDS: this step must create the same
    // indexes forever. A field added to the contract later gets an index in a new migration.
    const fields = {
      instance: ['organization_id', 'status', 'agent_type_id', 'task_id'],
      plan: ['instance_id', 'status', 'plan_type', 'site_id', 'user_id', 'agent_id'],
    };
    for (const kind of ['instance', 'plan'] as const) {
      const store = db.createObjectStore(RECORD_STORES[kind], { keyPath: 'id' });
      store.createIndex(NEWEST_INDEX, ['order', 'id']);
      // A row whose field is null has no key in that index, so it never matches a filter (filters are strings).
      for (const field of fields[kind]) store.createIndex(indexOf(field), [`record.${field}`, 'order', 'id']);
    }
    // Out-of-line, generated keys: events are stored exactly as given, with nothing added.
    const events = db.createObjectStore(EVENT_STORE, { autoIncrement: true });
    events.createIndex(HISTORY_INDEX, ['record_id', 'seq']);
  },
  // 2: leases, one row per leased instance, keyed by the instance id.
  (db) => {
    db.createObjectStore('leases', { keyPath: 'id' });
  },
  // 3: counters of the records, by kind and by each filter field's value, counted from the rows
  // already stored; from here on every commit keeps them in step (see counts.ts).
  async (db, transaction) => {
    const counts = db.createObjectStore(COUNT_STORE, { keyPath: 'key' });
    counts.createIndex(COUNT_INDEX, ['key', 'n']);
    // Spelled out, as in step 1: what this step counts must not change with the contract.
    const fields = {
      instance: ['organization_id', 'status', 'agent_type_id', 'task_id'],
      plan: ['instance_id', 'status', 'plan_type', 'site_id', 'user_id', 'agent_id'],
    };
    const tally = new Map<string, CountRow>();
    const add = (key: CountKey) => {
      const id = JSON.stringify(key);
      const row = tally.get(id);
      if (row) row.n++;
      else tally.set(id, { key, n: 1 });
    };
    for (const kind of ['instance', 'plan'] as const) {
      let cursor = await transaction.objectStore(RECORD_STORES[kind]).openCursor();
      while (cursor) {
        const record = (cursor.value as RecordRow<Record<string, unknown>>).record;
        add([kind]);
        // Strings only, as the indexes match them (a null field has no index entry).
        for (const field of fields[kind]) if (typeof record[field] === 'string') add([kind, field, record[field]]);
        cursor = await cursor.continue();
      }
    }
    await Promise.all([...tally.values()].map((row) => counts.put(row)));
  },
  // 4: records of shape 2: an instance has status_reason, max_turns and max_tokens (null), in its
  // row and wherever its history holds the whole record (the creation event, a snapshot).
  async (_db, transaction) => {
    let row = await transaction.objectStore(RECORD_STORES.instance).openCursor();
    while (row) {
      const value = row.value as RecordRow;
      const record = upgradeInstance(value.record);
      if (record !== value.record) await row.update({ ...value, record });
      row = await row.continue();
    }
    let stored = await transaction.objectStore(EVENT_STORE).openCursor();
    while (stored) {
      const event = upgradeInstanceEvent(stored.value as HistoryEvent);
      if (event !== stored.value) await stored.update(event);
      stored = await stored.continue();
    }
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;
