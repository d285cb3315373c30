// What the memory and the IndexedDB adapters both do, beyond what the conformance suite pins: the
// order of every list (compareNewestFirst), a `where` key whose value is undefined, and records
// holding "__proto__" keys handed back as plain data.
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, type StorageAdapter, type StoredRecord } from '../src';
import { compareNewestFirst } from '../src/adapter';
import { indexedDBAdapter } from '../src/adapters/indexeddb';
import { createBatch, instanceRecord, planRecord, stepRecord } from '../src/testing/conformance/fixtures';
import { deleteDatabase, freshName } from './support/idb-harness';
import { expectJsonCopy, WITH_PROTO_KEYS } from './support/json-copy';


describe('compareNewestFirst: the order of every list, newest first', () => {
  const record = fc.record({
    created_at: fc.constantFrom('2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z', '2025-01-02T00:00:00.001Z'),
    id: fc.constantFrom('a', 'b', 'c', 'ab'),
  }) as fc.Arbitrary<StoredRecord>;

  it('is a consistent comparator: newest first, then by id ascending; equal only for the same created_at and id', () => {
    fc.assert(
      fc.property(record, record, (a, b) => {
        const order = compareNewestFirst(a, b);
        expect(Math.sign(compareNewestFirst(b, a)) + 0).toBe(0 - Math.sign(order));
        const expected = a.created_at !== b.created_at ? (a.created_at > b.created_at ? -1 : 1) : a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
        expect(Math.sign(order)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('compares a record with itself as equal', () => {
    const one = planRecord({ id: 'plan-1' });
    expect(compareNewestFirst(one, one)).toBe(0);
    expect(compareNewestFirst(one, { ...one })).toBe(0);
  });
});


describe('the memory and IndexedDB adapters: undefined filters, and "__proto__" keys handed back as data', () => {
  const adapters: [string, () => { adapter: StorageAdapter; dispose: () => Promise<void> }][] = [
    ['memory', () => ({ adapter: memoryAdapter(), dispose: async () => {} })],
    [
      'IndexedDB',
      () => {
        const name = freshName('builtin');
        const adapter = indexedDBAdapter({ name });
        return {
          adapter,
          dispose: async () => {
            await adapter.close();
            await deleteDatabase(name);
          },
        };
      },
    ],
  ];

  it.each(adapters)('%s: a `where` key whose value is undefined counts as absent (ListQuery.where)', async (_, open) => {
    const { adapter, dispose } = open();
    try {
      const running = instanceRecord({ id: 'i-1', status: 'running' });
      const waiting = instanceRecord({ id: 'i-2', status: 'waiting', created_at: '2025-03-01T09:00:01.000Z' });
      await adapter.commit(createBatch(['instance', running], ['instance', waiting]));
      const all = await adapter.list('instance', { where: { status: undefined, agent_type_id: undefined }, limit: 10, offset: 0 });
      expect(all).toEqual({ records: [waiting, running], total: 2 });
      const some = await adapter.list('instance', { where: { status: 'running', task_id: undefined }, limit: 10, offset: 0 });
      expect(some).toEqual({ records: [running], total: 1 });
    } finally {
      await dispose();
    }
  });

  // The conformance suite ("awkward ids", "copies") checks that such keys come back as own data and
  // that changing a copy changes nothing stored; this checks the copy is plain all the way down
  // (ordinary writable, enumerable, configurable properties, nothing shared).
  it.each(adapters)('%s: a record holding "__proto__" keys is handed back as plain data', async (_, open) => {
    const { adapter, dispose } = open();
    try {
      const details = JSON.parse(WITH_PROTO_KEYS) as Record<string, unknown>;
      const plan = planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details: details as never })] });
      await adapter.commit(createBatch(['plan', plan]));
      const read = (await adapter.get('plan', 'plan-1'))!;
      expectJsonCopy(read.steps[0]!.details, details, { frozen: true });
    } finally {
      await dispose();
    }
  });
});
