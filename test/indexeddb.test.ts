// The IndexedDB adapter in Node over fake-indexeddb: the shared behaviour tests, plus the faults
// only a fake can stage (a quota error, a connection the browser force-closes, missing globals).
// Further down: options refused at construction, malformed calls refused before any transaction
// starts, one connection for many calls, a change feed that takes only well-formed messages,
// faults named by operation, and the ways opening a database can fail (a database that is not
// ours, a newer one, a factory that throws).
import 'fake-indexeddb/auto';
import { forceCloseDatabase, IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { InstancePlanError, PlanManager, type CommittedChange, type StorageAdapter } from 'instance-plan';
import { checkInvariants, planManagerCommands, runPlanManagerModel } from 'instance-plan/testing';
import { channelName, indexedDBAdapter, SCHEMA_VERSION } from 'instance-plan/indexeddb';
import { createBatch, planRecord, updateOf } from '../src/testing/conformance/fixtures';
import { describeIndexedDBAdapter, expectFault, rawOpen } from './support/idb-behaviour';
import { deleteDatabase, expectNamed, freshName, withDatabase } from './support/idb-harness';

describeIndexedDBAdapter('fake-indexeddb');

describe('PlanManager on the IndexedDB adapter (fake-indexeddb)', () => {
  it('agrees with the reference model and keeps every invariant (questions, budgets, restarts and copies included)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 30, size: 'max' }), async (commands) => {
        const name = freshName('model');
        const adapter = indexedDBAdapter({ name });
        const reopened: { close(): Promise<void> }[] = [];
        try {
          // A restart opens the database again, as a reloaded tab or a new service worker would.
          const open = (store: StorageAdapter) => {
            if (store !== adapter) return new PlanManager({ adapter: store });
            const again = indexedDBAdapter({ name });
            reopened.push(again);
            return new PlanManager({ adapter: again });
          };
          await runPlanManagerModel(() => new PlanManager({ adapter }), commands, { adapter, open });
          expect(await checkInvariants(adapter)).toEqual([]);
        } finally {
          for (const handle of reopened) await handle.close();
          await adapter.close();
          await deleteDatabase(name);
        }
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});

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

  it('says which IndexedDB classes are missing when they are not globals (idb needs them), every one, not only the first', () => {
    const saved = globalThis.IDBCursor;
    // @ts-expect-error: removed for this test only
    delete globalThis.IDBCursor;
    try {
      expect(() => indexedDBAdapter({ name: 'any' })).toThrow(/the IndexedDB classes IDBCursor must be globals/);
    } finally {
      globalThis.IDBCursor = saved;
    }
    const both = { cursor: globalThis.IDBCursor, index: globalThis.IDBIndex };
    // @ts-expect-error: removed for this test only
    delete globalThis.IDBCursor;
    // @ts-expect-error: removed for this test only
    delete globalThis.IDBIndex;
    try {
      expect(() => indexedDBAdapter({ name: 'any' })).toThrow(TypeError);
      let message = '';
      try {
        indexedDBAdapter({ name: 'any' });
      } catch (error) {
        message = (error as Error).message;
      }
      for (const missing of ['IDBCursor', 'IDBIndex']) expect(message).toContain(missing);
      expect(message).toMatch(/classes (IDBCursor, IDBIndex|IDBIndex, IDBCursor) must be globals/);
      expect(message).toContain("in Node tests import 'fake-indexeddb/auto'");
    } finally {
      globalThis.IDBCursor = both.cursor;
      globalThis.IDBIndex = both.index;
    }
  });
});


/** A factory over fake-indexeddb that counts the connections it is asked to open. */
function countingFactory() {
  const counts = { opens: 0 };
  return {
    counts,
    factory: {
      open: (name: string, version?: number) => {
        counts.opens++;
        return version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
      },
      cmp: (a: unknown, b: unknown) => indexedDB.cmp(a, b),
    },
  };
}


/**
 * Tracks the BroadcastChannels of adapters built inside `construct` (the adapter takes the global
 * constructor when it is made): how many messages each received, and whether it was closed.
 */
function trackedChannels() {
  const NodeChannel = globalThis.BroadcastChannel;
  const states: { received: number; closed: boolean }[] = [];
  class TrackedChannel {
    readonly #inner: BroadcastChannel;
    readonly #state = { received: 0, closed: false };
    constructor(name: string) {
      this.#inner = new NodeChannel(name);
      states.push(this.#state);
    }
    set onmessage(handler: ((event: MessageEvent) => void) | null) {
      const state = this.#state;
      this.#inner.onmessage =
        handler &&
        ((event) => {
          state.received++;
          handler(event);
        });
    }
    postMessage(message: unknown) {
      this.#inner.postMessage(message);
    }
    close() {
      this.#state.closed = true;
      this.#inner.close();
    }
    unref() {
      (this.#inner as unknown as { unref(): void }).unref();
    }
  }
  return {
    states,
    construct<T>(build: () => T): T {
      globalThis.BroadcastChannel = TrackedChannel as never;
      try {
        return build();
      } finally {
        globalThis.BroadcastChannel = NodeChannel;
      }
    },
  };
}


/** Replaces a prototype method for the duration of `body`. */
async function patched<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K], body: () => Promise<void>) {
  const original = target[key];
  target[key] = replacement;
  try {
    await body();
  } finally {
    target[key] = original;
  }
}


describe('construction: bad options are refused at once', () => {
  it.each([
    ['options that are not an object', 'options' as never, /options must be an object/],
    ['a name that is not a string', { name: 5 as never }, /name must be a non-empty string, got 5/],
    ['an unknown durability', { durability: 'fast' as never }, /durability must be "default", "strict" or "relaxed", got "fast"/],
    ['a factory without cmp', { indexedDB: { open: () => ({}) } as never }, /IndexedDB is not available here/],
    ['a factory without open', { indexedDB: { cmp: () => 0 } as never }, /IndexedDB is not available here/],
  ])('%s', (_, options, message) => {
    expect(() => indexedDBAdapter(options)).toThrow(TypeError);
    expect(() => indexedDBAdapter(options)).toThrow(message);
  });

  it('accepts every documented durability', async () => {
    for (const durability of ['default', 'strict', 'relaxed'] as const) {
      await withDatabase('durability', async (name) => {
        const adapter = indexedDBAdapter({ name, durability });
        await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
        expect((await adapter.get('plan', 'plan-1'))?.id).toBe('plan-1');
        await adapter.close();
      });
    }
  });
});


describe('malformed calls are refused with a TypeError naming the defect, before any transaction starts', () => {
  // docs/adapters.md: malformed input is "refused with a TypeError naming
  // what is wrong, before any transaction starts"; each case lists the names the message must hold.
  const good = createBatch(['plan', planRecord({ id: 'plan-1' })]);
  const write = good.writes[0]!;
  const cases: [string, (adapter: ReturnType<typeof indexedDBAdapter>) => Promise<unknown> | unknown, string[]][] = [
    ['a null batch', (a) => a.commit(null as never), ['writes', 'events']],
    ['a batch that is a string', (a) => a.commit('batch' as never), ['writes', 'events']],
    ['writes that are not an array', (a) => a.commit({ writes: 'x', events: [] } as never), ['writes']],
    ['events that are not an array', (a) => a.commit({ writes: [], events: {} } as never), ['events']],
    ['a null write', (a) => a.commit({ writes: [write, null], events: good.events } as never), ['writes[1]']],
    ['a write that is a string', (a) => a.commit({ writes: ['write'], events: [] } as never), ['writes[0]']],
    ['a null record', (a) => a.commit({ writes: [{ ...write, record: null }], events: [] } as never), ['writes[0].record']],
    ['a record that is a string', (a) => a.commit({ writes: [{ ...write, record: 'plan' }], events: [] } as never), ['writes[0].record']],
    ['a version that is not an integer', (a) => a.commit({ writes: [{ ...write, record: { ...write.record, version: 1.5 } }], events: [] } as never), ['writes[0].record.version']],
    ['the same record twice', (a) => a.commit({ writes: [write, write], events: [] }), ['plan', '"plan-1"', 'twice']],
    ['a null event', (a) => a.commit({ writes: [], events: [good.events[0], null] } as never), ['events[1]', 'record_id', 'seq']],
    ['an event that is a string', (a) => a.commit({ writes: [], events: ['event'] } as never), ['events[0]']],
    ['a null query', (a) => a.list('plan', null as never), ['query']],
    ['a query that is a string', (a) => a.list('plan', 'query' as never), ['query']],
    ['a null where', (a) => a.list('plan', { where: null as never, limit: 1, offset: 0 }), ['where']],
    ['a where that is a string', (a) => a.list('plan', { where: 'status' as never, limit: 1, offset: 0 }), ['where']],
    [
      'a field that is not indexed',
      (a) => a.list('instance', { where: { title: 'x' } as never, limit: 1, offset: 0 }),
      ['"title"', 'organization_id', 'status', 'agent_type_id', 'task_id'],
    ],
  ];

  it.each(cases)('%s', async (_, call, names) => {
    await withDatabase('refusals', async (name) => {
      const adapter = indexedDBAdapter({ name });
      const heard: CommittedChange[] = [];
      adapter.subscribe((change) => heard.push(change));
      let transactions = 0;
      const original = IDBDatabase.prototype.transaction;
      let outcome: unknown;
      await patched(
        IDBDatabase.prototype,
        'transaction',
        function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
          transactions++;
          return original.apply(this, args);
        } as never,
        async () => {
          outcome = await Promise.resolve()
            .then(() => call(adapter))
            .then(
              () => undefined,
              (error: unknown) => error,
            );
        },
      );
      expect(outcome).toBeInstanceOf(TypeError);
      for (const expected of names) expect((outcome as Error).message).toContain(expected);
      expect(transactions).toBe(0);
      // nothing stored, nothing announced
      expect(await adapter.list('plan', { where: {}, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
      expect(await adapter.history('plan-1')).toEqual([]);
      expect(heard).toEqual([]);
      await adapter.close();
    });
  });

  it('a listener that is not a function', async () => {
    const adapter = indexedDBAdapter({ name: freshName('subscribe') });
    expect(() => adapter.subscribe('listener' as never)).toThrow(TypeError);
    expect(() => adapter.subscribe('listener' as never)).toThrow(/listener/);
    await adapter.close();
  });
});


describe('one connection, opened on first use; an empty batch; closed for good', () => {
  it('is opened once, on first use, for every later call', async () => {
    await withDatabase('once', async (name) => {
      const { counts, factory } = countingFactory();
      const adapter = indexedDBAdapter({ name, indexedDB: factory });
      expect(counts.opens).toBe(0);
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      await adapter.get('plan', 'plan-1');
      await adapter.list('plan', { where: {}, limit: 5, offset: 0 });
      await adapter.history('plan-1');
      await adapter.commit(updateOf('plan', plan).batch);
      expect(counts.opens).toBe(1);
      await adapter.close();
    });
  });

  it('an empty batch stores nothing and announces nothing', async () => {
    await withDatabase('empty', async (name) => {
      const adapter = indexedDBAdapter({ name });
      const heard: CommittedChange[] = [];
      adapter.subscribe((change) => heard.push(change));
      await adapter.commit({ writes: [], events: [] });
      expect(heard).toEqual([]);
      expect(await adapter.list('plan', { where: {}, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
      await adapter.close();
    });
  });

  it('once closed, calls fail as "closed" naming the database, and a new subscriber hears nothing', async () => {
    await withDatabase('closed', async (name) => {
      const channels = trackedChannels();
      const closed = channels.construct(() => indexedDBAdapter({ name }));
      const writer = indexedDBAdapter({ name });
      await closed.get('plan', 'plan-1');
      await closed.close();
      const error = await expectFault(closed.get('plan', 'plan-1'), 'closed');
      expect(error.details).toEqual({ database: name, reason: 'closed' });
      expect(error.message).toContain(name);
      const heard: CommittedChange[] = [];
      closed.subscribe((change) => heard.push(change));
      await writer.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      // The signal: every channel the closed adapter still has open (none, unless closing failed)
      // has received the writer's message; had the adapter reopened one, its subscriber would have
      // heard the change by then.
      await expect.poll(() => channels.states.every((channel) => channel.closed || channel.received > 0), { timeout: 5_000 }).toBe(true);
      expect(heard).toEqual([]);
      await writer.close();
    });
  });
});


describe('the change feed takes only well-formed changes from the channel', () => {
  const TYPE = 'instance-plan/committed';
  const record = { kind: 'plan', id: 'plan-9', version: 1 };
  const malformed: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a string', 'instance-plan/committed'],
    ['another type with a well-formed change', { type: 'other/committed', change: { records: [record], events: [] } }],
    ['no change', { type: TYPE }],
    ['records not an array', { type: TYPE, change: { records: record, events: [] } }],
    ['events not an array', { type: TYPE, change: { records: [record], events: 'none' } }],
    ['one good record and a null one', { type: TYPE, change: { records: [record, null], events: [] } }],
    ['a record that is a string', { type: TYPE, change: { records: ['plan-9'], events: [] } }],
    ['a record of another kind', { type: TYPE, change: { records: [{ ...record, kind: 'user' }], events: [] } }],
    ['a record whose id is a number', { type: TYPE, change: { records: [{ ...record, id: 9 }], events: [] } }],
    ['a record whose version is a string', { type: TYPE, change: { records: [{ ...record, version: '1' }], events: [] } }],
  ];

  it('ignores every message with a single defect, and delivers a well-formed one from any sender', async () => {
    const name = freshName('feed');
    const listener = indexedDBAdapter({ name });
    const outsider = new BroadcastChannel(channelName(name));
    try {
      const heard: CommittedChange[] = [];
      listener.subscribe((change) => heard.push(change));
      for (const [, message] of malformed) outsider.postMessage(message);
      // Messages of one sender arrive in order: once this one is heard, every one above was read.
      const fence: CommittedChange = { records: [{ kind: 'instance', id: 'instance-1', version: 3 }], events: [] };
      outsider.postMessage({ type: TYPE, change: fence });
      await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
      expect(heard).toEqual([fence]);
    } finally {
      outsider.close();
      await listener.close();
      await deleteDatabase(name);
    }
  });

  it('works with a BroadcastChannel that has no unref (as in browsers)', async () => {
    const NodeChannel = globalThis.BroadcastChannel;
    class BrowserChannel {
      readonly #inner: BroadcastChannel;
      constructor(name: string) {
        this.#inner = new NodeChannel(name);
        (this.#inner as unknown as { unref(): void }).unref();
      }
      set onmessage(handler: ((event: MessageEvent) => void) | null) {
        this.#inner.onmessage = handler;
      }
      postMessage(message: unknown) {
        this.#inner.postMessage(message);
      }
      close() {
        this.#inner.close();
      }
    }
    const name = freshName('browser-channel');
    globalThis.BroadcastChannel = BrowserChannel as never;
    let writer, reader;
    try {
      writer = indexedDBAdapter({ name });
      reader = indexedDBAdapter({ name });
    } finally {
      globalThis.BroadcastChannel = NodeChannel;
    }
    try {
      const heard: CommittedChange[] = [];
      reader.subscribe((change) => heard.push(change));
      await writer.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
      expect(heard[0]!.records).toEqual([{ kind: 'plan', id: 'plan-1', version: 1 }]);
    } finally {
      await writer.close();
      await reader.close();
      await deleteDatabase(name);
    }
  });
});

describe('a fault inside an operation is a STORAGE_ERROR naming the operation', () => {
  const named = (name: string, message = `${name} happened`) => new DOMException(message, name);

  it('a fault inside each operation names the operation', async () => {
    await withDatabase('operations', async (name) => {
      const adapter = indexedDBAdapter({ name });
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      const refuse = () => {
        throw named('InvalidStateError', 'The connection is closing.');
      };
      await patched(IDBDatabase.prototype, 'transaction', refuse as never, async () => {
        const calls: [string, () => Promise<unknown>][] = [
          ['get', () => adapter.get('plan', 'plan-1')],
          ['list', () => adapter.list('plan', { where: {}, limit: 1, offset: 0 })],
          ['history', () => adapter.history('plan-1')],
          ['commit', () => adapter.commit(updateOf('plan', plan).batch)],
        ];
        for (const [operation, call] of calls) {
          const error = await expectFault(call(), 'closed');
          expect(error.message).toMatch(new RegExp(`^IndexedDB ${operation} failed: .* \\(InvalidStateError: The connection is closing\\.\\)$`));
        }
      });
      await patched(IDBObjectStore.prototype, 'put', (() => {
        throw named('DataError', 'cannot clone');
      }) as never, async () => {
        const error = await expectFault(adapter.commit(updateOf('plan', plan).batch), 'failed');
        expect(error.message).toMatch(/^IndexedDB commit failed: /);
      });
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      await adapter.close();
    });
  });
});


describe('opening the database', () => {
  /** An open request that fails on its own, as a browser's does. */
  class FailingRequest extends EventTarget {
    result: unknown = undefined;
    transaction = null;
    constructor(public error: unknown) {
      super();
      setTimeout(() => this.dispatchEvent(new Event('error')), 0);
    }
  }
  const factoryOf = (open: (name: string, version?: number) => unknown) => ({ open, cmp: (a: unknown, b: unknown) => indexedDB.cmp(a, b) });

  it('a factory that throws is STORAGE_ERROR "failed" with the cause, and the next call tries again', async () => {
    const thrown = new Error('no IndexedDB in private mode');
    let opens = 0;
    const adapter = indexedDBAdapter({ name: freshName('throws'), indexedDB: factoryOf(() => {
      opens++;
      throw thrown;
    }) });
    const error = await expectFault(adapter.get('plan', 'plan-1'), 'failed');
    expect(error.cause).toBe(thrown);
    expect(error.message).toMatch(/^IndexedDB open of database ".*" failed: .*no IndexedDB in private mode/);
    await expectFault(adapter.get('plan', 'plan-1'), 'failed');
    expect(opens).toBe(2);
    await adapter.close();
  });

  it('an open that fails for another reason than the version is "failed", with the request\'s error as cause', async () => {
    const unknown = new DOMException('Internal error opening backing store', 'UnknownError');
    const adapter = indexedDBAdapter({ name: freshName('unknown'), indexedDB: factoryOf(() => new FailingRequest(unknown)) });
    const error = await expectFault(adapter.get('plan', 'plan-1'), 'failed');
    expect(error.cause).toBe(unknown);
    const silent = indexedDBAdapter({ name: freshName('silent'), indexedDB: factoryOf(() => new FailingRequest(null)) });
    const nothing = await expectFault(silent.get('plan', 'plan-1'), 'failed');
    expect(nothing.message).toMatch(new RegExp(`^IndexedDB open of database ${JSON.stringify(silent.name)} failed: .*\\(no error given\\)$`));
    await adapter.close();
    await silent.close();
  });

  it('a newer database whose version cannot be read back is "version_too_new" with an unknown stored version', async () => {
    const versionError = new DOMException('The requested version is less than the existing version', 'VersionError');
    for (const probe of ['fails', 'throws'] as const) {
      const adapter = indexedDBAdapter({
        name: freshName('too-new'),
        indexedDB: factoryOf((_name, version) => {
          if (version !== undefined) return new FailingRequest(versionError);
          if (probe === 'throws') throw new Error('cannot probe');
          return new FailingRequest(new DOMException('gone', 'UnknownError'));
        }),
      });
      const error = await expectFault(adapter.get('plan', 'plan-1'), 'version_too_new');
      expect(error.details).toEqual({ reason: 'version_too_new', database: adapter.name, stored_version: null, code_version: SCHEMA_VERSION });
      expectNamed(error.message, adapter.name, [SCHEMA_VERSION]);
      expect(error.message).toContain('is at schema version (unknown)');
      expect(error.cause).toBe(versionError);
      await adapter.close();
    }
  });

  it('a database made by something else is refused naming the stores it lacks', async () => {
    await withDatabase('foreign', async (name) => {
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => request.result.createObjectStore('plans');
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      });
      const adapter = indexedDBAdapter({ name });
      const error = await expectFault(adapter.get('plan', 'plan-1'), 'not_an_instance_plan_database');
      const { missing_stores: missing, ...rest } = error.details;
      expect(rest).toEqual({ reason: 'not_an_instance_plan_database', database: name, stored_version: 1 });
      expect(new Set(missing as string[])).toEqual(new Set(['instances', 'events']));
      for (const store of ['instances', 'events']) expect(error.message).toContain(store);
      await adapter.close();
      // Refused before any step of ours ran: the other program's database is as it left it.
      const untouched = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      expect([untouched.version, Array.from({ length: untouched.objectStoreNames.length }, (_, i) => untouched.objectStoreNames.item(i))]).toEqual([1, ['plans']]);
      untouched.close();
    });
  });

  it('a database that is not ours, at our own schema version (no upgrade runs), is refused naming each store it lacks, and left as it was', async () => {
    const name = freshName('foreign-same-version');
    try {
      (await rawOpen(name, SCHEMA_VERSION, (db) => db.createObjectStore('plans'))).close();
      const adapter = indexedDBAdapter({ name });
      const error = await adapter.get('plan', 'plan-1').catch((e: unknown) => e);
      expect(InstancePlanError.is(error, 'STORAGE_ERROR')).toBe(true);
      const details = (error as InstancePlanError).details as { reason: string; stored_version: number; missing_stores: string[] };
      expect(details.reason).toBe('not_an_instance_plan_database');
      expect(details.stored_version).toBe(SCHEMA_VERSION);
      expect(new Set(details.missing_stores)).toEqual(new Set(['instances', 'events', 'leases', 'counts']));
      for (const store of details.missing_stores) expect((error as Error).message).toContain(store);
      expect((error as Error).message).toMatch(/has no (\w+, ){3}\w+ store/);
      await adapter.close();
      const db = await rawOpen(name);
      expect([db.version, Array.from(db.objectStoreNames)]).toEqual([SCHEMA_VERSION, ['plans']]);
      db.close();
    } finally {
      await deleteDatabase(name);
    }
  });
});


describe('kinds, platforms without BroadcastChannel, and closing', () => {
  it('a wrong kind names the kinds each method takes: get takes leases, list does not', async () => {
    const adapter = indexedDBAdapter({ name: freshName('kinds') });
    try {
      await expect(adapter.get('user' as never, 'x')).rejects.toThrow('the kind must be "instance" or "plan" (records) or "lease", got "user"');
      await expect(adapter.list('lease' as never, { where: {}, limit: 1, offset: 0 })).rejects.toThrow('the kind must be "instance" or "plan", got "lease"');
    } finally {
      await adapter.close();
      await deleteDatabase(adapter.name);
    }
  });

  it('without BroadcastChannel, commits work and this adapter\'s subscribers still hear them', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const adapter = indexedDBAdapter({ name: freshName('no-channel') });
    try {
      const heard: CommittedChange[] = [];
      adapter.subscribe((change) => heard.push(change));
      await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      expect(heard.map((change) => change.records)).toEqual([[{ kind: 'plan', id: 'plan-1', version: 1 }]]);
      expect(await adapter.get('plan', 'plan-1')).toEqual(planRecord({ id: 'plan-1' }));
    } finally {
      vi.unstubAllGlobals();
      await adapter.close();
      await deleteDatabase(adapter.name);
    }
  });

  it('closing twice is closing once', async () => {
    const adapter = indexedDBAdapter({ name: freshName('close-twice') });
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    await adapter.close();
    await adapter.close();
    const error = await adapter.get('plan', 'plan-1').catch((e: unknown) => e);
    expect((error as InstancePlanError).details).toMatchObject({ reason: 'closed' });
    await deleteDatabase(adapter.name);
  });
});
