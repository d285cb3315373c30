// The adapters' shared parts and the error type, as mutation testing found them unchecked
// (docs/testing.md, "Mutation testing"): the deep copy every adapter read and write goes through,
// the list order, what both built-in adapters do with a `where` key whose value is undefined, and
// how errors are recognised across copies of the library.
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNewestFirst, InstancePlanError, memoryAdapter, type StorageAdapter, type StoredRecord } from '../src';
import { indexedDBAdapter } from '../src/adapters/indexeddb';
import { cloneJson } from '../src/adapters/clone';
import { createBatch, instanceRecord, planRecord, stepRecord } from '../src/testing/conformance/fixtures';
import { deleteDatabase, freshName } from './support/idb-harness';

/**
 * Checks that `copy` is what JSON.parse would build for `original`: the same values, plain
 * objects and arrays with ordinary (writable, enumerable, configurable) own properties in the
 * same order, and no object shared with the original.
 */
function expectPlainCopy(copy: unknown, original: unknown, path = '$'): void {
  if (typeof original !== 'object' || original === null) {
    expect(copy, path).toBe(original);
    return;
  }
  expect(typeof copy === 'object' && copy !== null, path).toBe(true);
  expect(copy, `${path} is a new object`).not.toBe(original);
  expect(Array.isArray(copy), path).toBe(Array.isArray(original));
  expect(Object.getPrototypeOf(copy), path).toBe(Array.isArray(original) ? Array.prototype : Object.prototype);
  const keys = Object.keys(original);
  const ownKeys = Reflect.ownKeys(copy as object);
  expect(Array.isArray(copy) ? ownKeys.filter((key) => key !== 'length') : ownKeys, path).toEqual(keys);
  for (const key of keys) {
    const descriptor = Object.getOwnPropertyDescriptor(copy, key)!;
    expect({ writable: descriptor.writable, enumerable: descriptor.enumerable, configurable: descriptor.configurable }, `${path}.${key}`).toEqual({
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expectPlainCopy(descriptor.value, (original as Record<string, unknown>)[key], `${path}.${key}`);
  }
}

/** JSON text with "__proto__" keys, which JSON.parse turns into own data properties. */
const WITH_PROTO_KEYS = '{"__proto__": {"a": [1, {"__proto__": null}], "b": "x"}, "c": [{"__proto__": {"d": true}}], "e": null}';

describe('cloneJson: the copy every adapter hands out and stores', () => {
  // Survivors: clone.ts, the null check, the "__proto__" path's property flags, and the
  // own-property check that keeps inherited keys out.
  it('copies any JSON value into plain objects and arrays, sharing nothing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expectPlainCopy(cloneJson(value), value);
      }),
      { numRuns: 300 },
    );
  });

  it('copies top-level null and primitives as they are', () => {
    for (const value of [null, 0, -1.5, '', 'text', true, false]) expect(cloneJson(value)).toBe(value);
  });

  it('copies "__proto__" keys as ordinary data, never as prototypes', () => {
    const original = JSON.parse(WITH_PROTO_KEYS) as Record<string, unknown>;
    const copy = cloneJson(original);
    expectPlainCopy(copy, original);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(original));
    // the copy is the caller's own, to change as it likes
    copy['__proto__'] = 'replaced';
    delete copy['c'];
    expect(Object.keys(copy)).toEqual(['__proto__', 'e']);
    expect(JSON.stringify(original)).toBe(JSON.stringify(JSON.parse(WITH_PROTO_KEYS)));
  });

  it('copies own keys only, even when Object.prototype has been given an enumerable key', () => {
    const original = { a: { b: 1 }, c: [{ d: 'x' }] };
    for (const polluted of [{ injected: true }, 'injected']) {
      Object.defineProperty(Object.prototype, 'pollution', { value: polluted, enumerable: true, configurable: true, writable: true });
      let copy: typeof original;
      try {
        copy = cloneJson(original);
      } finally {
        delete (Object.prototype as Record<string, unknown>)['pollution'];
      }
      expect(Object.keys(copy)).toEqual(['a', 'c']);
      expect(Object.keys(copy.a)).toEqual(['b']);
      expect(Object.keys(copy.c[0]!)).toEqual(['d']);
    }
  });
});

describe('compareNewestFirst: the order of every list (contract.ts)', () => {
  // Survivors: contract.ts, the id comparison (ties must compare equal, both ways must agree).
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

describe('both built-in adapters', () => {
  // Survivors: memory.ts and indexeddb/list.ts, an undefined filter value.
  const adapters: [string, () => { adapter: StorageAdapter; dispose: () => Promise<void> }][] = [
    ['memory', () => ({ adapter: memoryAdapter(), dispose: async () => {} })],
    [
      'IndexedDB',
      () => {
        const name = freshName('mutation');
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

  it.each(adapters)('%s: a `where` key whose value is undefined counts as absent (contract.ts, ListQuery.where)', async (_, open) => {
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
      expectPlainCopy(read.steps[0]!.details, details);
    } finally {
      await dispose();
    }
  });
});

describe('InstancePlanError.is recognises errors of any copy of the library by their shape', () => {
  // Survivors: errors.ts `is`, each of its checks.
  it('accepts an InstancePlanError, and the error class of another copy of the library', () => {
    const error = new InstancePlanError('CONFLICT', 'changed concurrently');
    expect(InstancePlanError.is(error)).toBe(true);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    expect(InstancePlanError.is(error, 'NOT_FOUND')).toBe(false);
    // A second bundle's copy of the class (errors.ts: `instanceof` can lie across copies; `is` checks the shape).
    class ForeignInstancePlanError extends Error {
      override readonly name = 'InstancePlanError';
      constructor(
        readonly code: string,
        message: string,
      ) {
        super(message);
      }
    }
    const foreign = new ForeignInstancePlanError('STEP_ORDER', 'from another bundle');
    expect(foreign).not.toBeInstanceOf(InstancePlanError);
    expect(InstancePlanError.is(foreign)).toBe(true);
    expect(InstancePlanError.is(foreign, 'STEP_ORDER')).toBe(true);
    expect(InstancePlanError.is(foreign, 'CONFLICT')).toBe(false);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'InstancePlanError'],
    ['a number', 7],
    ['a plain Error', new Error('CONFLICT')],
    ['another error with a known code', Object.assign(new Error('x'), { code: 'CONFLICT' })],
    ['the right name with an unknown code', { name: 'InstancePlanError', code: 'TEAPOT' }],
    ['the right name with a non-string code', { name: 'InstancePlanError', code: 409 }],
    ['the right name without a code', { name: 'InstancePlanError' }],
    ['a function with the right name and code', Object.assign(function InstancePlanError() {}, { code: 'CONFLICT' })],
  ])('refuses %s', (_, value) => {
    expect(InstancePlanError.is(value)).toBe(false);
    expect(InstancePlanError.is(value, 'CONFLICT')).toBe(false);
  });

  it('toJSON keeps its own code and message over same-named details (decisions.md, "Errors")', () => {
    const error = new InstancePlanError('NOT_FOUND', 'No plan', { kind: 'plan', code: 'other', message: 'other' });
    expect(error.toJSON()).toEqual({ kind: 'plan', code: 'NOT_FOUND', message: 'No plan' });
  });
});
