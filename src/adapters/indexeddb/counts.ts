import { INDEXED_FIELDS, type StoredKind } from '../contract';
import type { RecordKind } from '../../schemas/records';
import type { KeyRanges } from './platform';
import { COUNT_INDEX, COUNT_STORE, RECORD_STORES, type CountKey, type CountRow } from './schema';

/**
 * Why counters: `index.count(range)` walks every matching key in Chromium, so the `total` of a
 * list grew with the matches (132 ms for 20,000 of 100,000 plans) while its page stayed cheap.
 * The `counts` store keeps, per kind, how many records there are (`[kind]`) and how many hold
 * each value of each filter field (`[kind, field, value]`); commits keep them in step inside
 * their own transaction, so a list with no filter or one reads its total in one key lookup.
 */

/** The counters a record adds to: its kind's, and one per filter field holding a string. */
export function countKeysOf(kind: RecordKind, record: object, fields: readonly string[] = INDEXED_FIELDS[kind]): CountKey[] {
  const keys: CountKey[] = [[kind]];
  for (const field of fields) {
    const value = (record as Record<string, unknown>)[field];
    // Only strings: filters are strings, and a null field has no index entry to match anyway.
    if (typeof value === 'string') keys.push([kind, field, value]);
  }
  return keys;
}

/**
 * How a batch moves the counters: -1 for every key of a record's stored version, +1 for every key
 * of its new one. A record whose indexed fields did not change nets to nothing, so the common
 * write (a step executed, a turn recorded) touches no counter. Leases are never counted.
 */
export function countDeltas(writes: { kind: StoredKind; before: object | undefined; after: object }[]): { key: CountKey; delta: number }[] {
  const deltas = new Map<string, { key: CountKey; delta: number }>();
  const add = (key: CountKey, delta: number) => {
    const id = JSON.stringify(key);
    const entry = deltas.get(id);
    if (entry) entry.delta += delta;
    else deltas.set(id, { key, delta });
  };
  for (const { kind, before, after } of writes) {
    if (!Object.hasOwn(RECORD_STORES, kind)) continue;
    if (before) for (const key of countKeysOf(kind as RecordKind, before)) add(key, -1);
    for (const key of countKeysOf(kind as RecordKind, after)) add(key, +1);
  }
  return [...deltas.values()].filter(({ delta }) => delta !== 0);
}

/**
 * The new row of a counter, or `undefined` when it reaches 0: the row is then deleted, so the
 * store holds only values some record has (not every status or instance id ever seen).
 */
export function movedCount(key: CountKey, stored: CountRow | undefined, delta: number): CountRow | undefined {
  const n = (stored?.n ?? 0) + delta;
  return n === 0 ? undefined : { key, n };
}

// The part of idb's index used below (see list.ts for why it is typed here).
interface CountIndex {
  openKeyCursor(range: unknown): Promise<{ key: unknown } | null>;
}
interface Transaction {
  objectStore(name: typeof COUNT_STORE): { index(name: typeof COUNT_INDEX): unknown };
}

/**
 * Reads one counter (0 when it has no row). Through the `[key, n]` index with a key cursor, so the
 * count comes out of an index key and a list reads no stored value but its page's.
 */
export async function readCount(transaction: Transaction, ranges: KeyRanges, key: CountKey): Promise<number> {
  const index = transaction.objectStore(COUNT_STORE).index(COUNT_INDEX) as CountIndex;
  const cursor = await index.openKeyCursor(ranges.bound([key], [key, Infinity]));
  return cursor ? ((cursor.key as [CountKey, number])[1]) : 0;
}
