import type { ListFilter, ListResult } from '../contract';
import type { RecordKind, RecordOfKind } from '../../schemas/records';
import { AFTER_EVERY_ORDER } from './order-key';
import type { KeyRanges } from './platform';
import { readCount } from './counts';
import { COUNT_STORE, NEWEST_INDEX, RECORD_STORES, indexOf, type Database, type RecordRow } from './schema';

export type Filter = ListFilter;


/**
 * One page of matching records, newest first, and how many match in all. Reads only index keys
 * to count and skip, and only the values of the page:
 * - no filter or one: the total is a counter of the `counts` store (one key lookup, however many
 *   match), `advance(offset)` skips, one `getAll` reads the page;
 * - several: the filters' indexes are walked together (a zig-zag merge join: each index is sorted
 *   the same way within a value, so the laggards jump straight to the leader's key), which finds
 *   the matches in list order without reading a record that does not match.
 */
export async function listRows<K extends RecordKind>(
  db: Database,
  ranges: KeyRanges,
  cmp: (a: unknown, b: unknown) => number,
  kind: K,
  filters: Filter[],
  limit: number,
  offset: number,
): Promise<ListResult<RecordOfKind[K]>> {
  const transaction = db.transaction([RECORD_STORES[kind], COUNT_STORE], 'readonly');
  const store = transaction.objectStore(RECORD_STORES[kind]);
  // Within one value of a field, index keys are [value, order, id]: this range holds them all.
  const matching = (value: string) => ranges.bound([value], [value, AFTER_EVERY_ORDER]);
  let rows: (RecordRow | undefined)[] = [];
  let total: number;

  if (filters.length <= 1) {
    const [filter] = filters;
    const index = store.index((filter ? indexOf(filter[0]) : NEWEST_INDEX) as never) as unknown as Index;
    const range = filter ? matching(filter[1]) : undefined;
    // Not `index.count(range)`: Chromium counts by walking every matching key.
    total = await readCount(transaction as never, ranges, filter ? [kind, filter[0], filter[1]] : [kind]);
    if (limit > 0 && offset < total) {
      let cursor = await index.openKeyCursor(range);
      if (cursor && offset > 0) cursor = await cursor.advance(offset);
      if (cursor) {
        const page = filter ? ranges.bound(cursor.key, [filter[1], AFTER_EVERY_ORDER]) : ranges.lowerBound(cursor.key);
        rows = await index.getAll(page, limit);
      }
    }
  } else {
    const indexes = filters.map(([field]) => store.index(indexOf(field) as never) as unknown as Index);
    const found = await mergeJoin(indexes, filters.map(([, value]) => value), filters.map(([, value]) => matching(value)), cmp, limit, offset);
    total = found.total;
    rows = await Promise.all(found.ids.map((id) => store.get(id)));
  }
  await transaction.done;
  return { records: rows.map((row) => row!.record as RecordOfKind[K]), total };
}

/**
 * Walks several `[value, order, id]` indexes in step. Each cursor's position is its key without
 * the value; a record matches every filter exactly when all cursors stand at the same position.
 */
async function mergeJoin(
  indexes: Index[],
  values: string[],
  ranges: unknown[],
  cmp: (a: unknown, b: unknown) => number,
  limit: number,
  offset: number,
): Promise<{ ids: string[]; total: number }> {
  let cursors: (KeyCursor | null)[] = await Promise.all(indexes.map((index, i) => index.openKeyCursor(ranges[i])));
  const position = (cursor: KeyCursor) => (cursor.key as unknown[]).slice(1);
  const ids: string[] = [];
  let total = 0;
  for (;;) {
    const open = cursors.filter((cursor): cursor is KeyCursor => cursor !== null);
    if (open.length < cursors.length) break;
    let leader = position(open[0]!);
    for (const cursor of open) if (cmp(position(cursor), leader) > 0) leader = position(cursor);
    const behind = open.map((cursor) => cmp(position(cursor), leader) < 0);
    if (behind.some(Boolean)) {
      // Jump every laggard to the leader's position (or past it, when its value has no such record).
      cursors = await Promise.all(open.map((cursor, i) => (behind[i] ? cursor.continue([values[i], ...leader]) : cursor)));
      continue;
    }
    if (total >= offset && ids.length < limit) ids.push(leader[1] as string);
    total++;
    cursors = await Promise.all(open.map((cursor) => cursor.continue()));
  }
  return { ids, total };
}

// The parts of idb's index and key cursor used above. idb types an index's key range with the
// DOM's IDBKeyRange, which this folder does not name (see platform.ts); these keep it exact.
interface Index {
  openKeyCursor(range?: unknown): Promise<KeyCursor | null>;
  getAll(range: unknown, count: number): Promise<RecordRow[]>;
}
interface KeyCursor {
  key: unknown;
  advance(count: number): Promise<KeyCursor | null>;
  continue(key?: unknown): Promise<KeyCursor | null>;
}
