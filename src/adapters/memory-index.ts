/**
 * The memory adapter's list index: every record's position in list order (newest first, then
 * by id), kept sorted as records arrive, plus one sorted bucket per value of each indexed field.
 * A list with one filter reads its count and its page straight off one bucket, so its cost does
 * not grow with the store; with several filters it walks the smallest bucket.
 */
import type { ListFilter } from './contract';

interface Position {
  readonly created_at: string;
  readonly id: string;
}

/** Newest first, then by id: the order of every adapter's `list` (see `compareNewestFirst`). */
function before(a: Position, b: Position): boolean {
  return a.created_at !== b.created_at ? a.created_at > b.created_at : a.id < b.id;
}

/** Positions kept in list order; insert and remove by binary search. */
class SortedPositions {
  readonly items: Position[] = [];

  #indexOf(position: Position): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(this.items[middle]!, position)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  insert(position: Position): void {
    this.items.splice(this.#indexOf(position), 0, position);
  }

  remove(position: Position): void {
    const index = this.#indexOf(position);
    if (this.items[index]?.id === position.id) this.items.splice(index, 1);
  }
}

type Fields = Readonly<Record<string, unknown>>;

export interface ListIndex {
  /** Records a write: `previous` is the stored record it replaces, if any. */
  update(previous: Fields | undefined, next: Fields & Position): void;
  /** The ids of one page in list order, and how many records match in all; `filters` come checked by `checkListQuery`. */
  query(filters: readonly ListFilter[], limit: number, offset: number, recordOf: (id: string) => Fields): { ids: string[]; total: number };
}

export function createListIndex(fields: readonly string[]): ListIndex {
  const all = new SortedPositions();
  const buckets = new Map<string, Map<string, SortedPositions>>(fields.map((field) => [field, new Map()]));

  const bucket = (field: string, value: unknown, create: boolean): SortedPositions | undefined => {
    if (typeof value !== 'string') return undefined; // null values are never listed by
    const byValue = buckets.get(field)!;
    let found = byValue.get(value);
    if (!found && create) byValue.set(value, (found = new SortedPositions()));
    return found;
  };

  return {
    update(previous, next) {
      const position: Position = { created_at: next.created_at, id: next.id };
      if (!previous) all.insert(position);
      for (const field of fields) {
        if (previous && previous[field] === next[field]) continue;
        if (previous) bucket(field, previous[field], false)?.remove(position);
        bucket(field, next[field], true)?.insert(position);
      }
    },

    query(filters, limit, offset, recordOf) {
      const candidates = filters.map(([field, value]) => bucket(field, value, false)?.items ?? []);
      let smallest = all.items;
      for (const items of candidates) if (items.length < smallest.length) smallest = items;
      if (filters.length <= 1) {
        return { ids: smallest.slice(offset, offset + limit).map((position) => position.id), total: smallest.length };
      }
      const ids: string[] = [];
      let total = 0;
      for (const position of smallest) {
        const record = recordOf(position.id);
        if (!filters.every(([field, value]) => record[field] === value)) continue;
        if (total >= offset && ids.length < limit) ids.push(position.id);
        total += 1;
      }
      return { ids, total };
    },
  };
}
