import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createListIndex } from '../src/adapters/memory-index';

/**
 * The memory adapter's list index against the obvious implementation (filter everything, sort
 * newest first then by id, slice): random inserts and updates that move records between
 * buckets, with timestamp ties, null values and awkward ids, then random queries.
 */
const FIELDS = ['status', 'instance_id', 'site_id'] as const;

type Row = { id: string; created_at: string; status: string; instance_id: string; site_id: string | null };

/** The filters checkListQuery hands the index: the fields given a value. */
const filtersOf = (where: Record<string, string | undefined>) => Object.entries(where).filter((entry): entry is [string, string] => entry[1] !== undefined);

const naive = (rows: Map<string, Row>, where: Record<string, string | undefined>, limit: number, offset: number) => {
  const matches = [...rows.values()]
    .filter((row) => Object.entries(where).every(([field, value]) => value === undefined || row[field as keyof Row] === value))
    .sort((a, b) => (a.created_at !== b.created_at ? (a.created_at < b.created_at ? 1 : -1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ids: matches.slice(offset, offset + limit).map((row) => row.id), total: matches.length };
};

const write = fc.record({
  id: fc.constantFrom('a', 'b', 'c', 'd', 'e', '__proto__', 'constructor', 'a0', 'B'),
  created_at: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-02T00:00:00.000Z'),
  status: fc.constantFrom('pending', 'in_progress', 'completed'),
  instance_id: fc.constantFrom('i1', 'i2'),
  site_id: fc.constantFrom('s1', 's2', null),
});
const query = fc.record({
  where: fc.record(
    { status: fc.constantFrom('pending', 'in_progress', 'completed', 'nope'), instance_id: fc.constantFrom('i1', 'i2'), site_id: fc.constantFrom('s1', 's2') },
    { requiredKeys: [] },
  ),
  limit: fc.integer({ min: 1, max: 5 }),
  offset: fc.nat({ max: 6 }),
});

describe('memory list index', () => {
  it('pages and counts exactly as filtering and sorting everything would', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 40 }), fc.array(query, { minLength: 1, maxLength: 10 }), (writes, queries) => {
        const index = createListIndex(FIELDS);
        const rows = new Map<string, Row>();
        for (const next of writes) {
          // created_at never changes once a record exists, as in the manager.
          const stored = rows.get(next.id);
          const row = stored ? { ...next, created_at: stored.created_at } : next;
          index.update(stored, row);
          rows.set(row.id, row);
        }
        for (const { where, limit, offset } of queries) {
          expect(index.query(filtersOf(where), limit, offset, (id) => rows.get(id)!)).toEqual(naive(rows, where, limit, offset));
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
