// The IndexedDB adapter in Node over fake-indexeddb: the shared behaviour tests, plus the faults
// only a fake can stage (a quota error, a connection the browser force-closes, missing globals).
import 'fake-indexeddb/auto';
import { forceCloseDatabase, IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { createBatch, planRecord, updateOf } from '../src/testing/conformance/fixtures';
import { describeIndexedDBAdapter, expectFault } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';

describeIndexedDBAdapter('fake-indexeddb');

/** A factory that hands out fake-indexeddb's connections, remembering them (to force-close one). */
function watchedFactory() {
  const requests: IDBOpenDBRequest[] = [];
  return {
    requests,
    factory: {
      open: (name: string, version?: number) => {
        const request = indexedDB.open(name, version);
        requests.push(request);
        return request;
      },
      cmp: (a: unknown, b: unknown) => indexedDB.cmp(a, b),
    },
  };
}

describe('indexedDBAdapter faults staged in fake-indexeddb', () => {
  it('a quota error at commit is STORAGE_ERROR "quota_exceeded" with the QuotaExceededError as cause, and nothing is written', async () => {
    const name = freshName('quota');
    const adapter = indexedDBAdapter({ name });
    try {
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      // fake-indexeddb aborts a transaction the way a browser does on a full disk: the requests
      // fail with AbortError, the transaction carries the QuotaExceededError.
      const original = IDBObjectStore.prototype.add;
      IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
        const request = original.apply(this, args);
        (this.transaction as unknown as { _abort(name: string): void })._abort('QuotaExceededError');
        return request;
      };
      try {
        const error = await expectFault(adapter.commit(updateOf('plan', plan, { title: 'too big' }).batch), 'quota_exceeded');
        expect((error.cause as DOMException).name).toBe('QuotaExceededError');
        expect(error.message).toMatch(/quota is exceeded\. Nothing of this change was written/);
      } finally {
        IDBObjectStore.prototype.add = original;
      }
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      expect(await adapter.history('plan-1')).toHaveLength(1);
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });

  it('a connection the browser force-closes fails what runs on it, and the adapter reopens on the next call', async () => {
    const name = freshName('forced');
    const { requests, factory } = watchedFactory();
    const adapter = indexedDBAdapter({ name, indexedDB: factory });
    try {
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      forceCloseDatabase(requests.at(-1)!.result as never);
      const next = updateOf('plan', plan, { title: 'after the forced close' });
      await adapter.commit(next.batch);
      expect(requests).toHaveLength(2);
      expect(await adapter.get('plan', 'plan-1')).toEqual(next.record);
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });

  it('uses the IndexedDB factory it is given: databases of another factory are another world', async () => {
    const name = freshName('factory');
    const isolated = indexedDBAdapter({ name, indexedDB: new IDBFactory() });
    const global = indexedDBAdapter({ name });
    try {
      const plan = planRecord({ id: 'plan-1' });
      await isolated.commit(createBatch(['plan', plan]));
      expect(await isolated.get('plan', 'plan-1')).toEqual(plan);
      expect(await global.get('plan', 'plan-1')).toBeUndefined();
    } finally {
      await isolated.close();
      await global.close();
      await deleteDatabase(name);
    }
  });

  it('says which IndexedDB classes are missing when they are not globals (idb needs them)', () => {
    const saved = globalThis.IDBCursor;
    // @ts-expect-error: removed for this test only
    delete globalThis.IDBCursor;
    try {
      expect(() => indexedDBAdapter({ name: 'any' })).toThrow(/the IndexedDB classes IDBCursor must be globals/);
    } finally {
      globalThis.IDBCursor = saved;
    }
  });
});
