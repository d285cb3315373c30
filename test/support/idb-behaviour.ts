// What the IndexedDB adapter promises beyond the conformance suite: its layout, its single
// transaction per commit, its faults, its schema versions and its feed across connections.
// Run twice: in Node over fake-indexeddb (test/indexeddb.test.ts) and in Chromium over the real
// thing (test/indexeddb.browser.test.ts), so the two cannot drift apart unnoticed.
import { describe, expect, it } from 'vitest';
import { InstancePlanError, PlanManager, replay, type CommittedChange, type Plan } from 'instance-plan';
import { INDEXED_FIELDS, type CommitBatch } from 'instance-plan/adapter';
import { channelName, indexedDBAdapter, SCHEMA_VERSION, type IndexedDBAdapter } from 'instance-plan/indexeddb';
import { createAdapter } from '../../src/adapters/indexeddb/adapter';
import { MIGRATIONS, type Migration } from '../../src/adapters/indexeddb/schema';
import { createBatch, instanceRecord, planRecord, stepRecord, updateOf } from '../../src/testing/conformance/fixtures';
import { deleteDatabase, freshName } from './idb-harness';
import { abortNextEventAdd, countValueReads, recordTransactions } from './idb-spies';

/** Opens a connection of our own, outside the adapter (a foreign tab, an old version of the code). */
export function rawOpen(name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Expects the database `name` at this code's schema version, holding every store of it. */
export async function expectCurrentLayout(name: string): Promise<void> {
  const db = await rawOpen(name);
  try {
    expect(db.version).toBe(SCHEMA_VERSION);
    expect(Array.from(db.objectStoreNames).sort()).toEqual(['counts', 'events', 'instances', 'leases', 'plans']);
  } finally {
    db.close();
  }
}

function requestOf<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Expects a `STORAGE_ERROR` of the given `details.reason`; returns it. */
export async function expectFault(promise: Promise<unknown>, reason: string): Promise<InstancePlanError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(InstancePlanError.is(error, 'STORAGE_ERROR'), `expected STORAGE_ERROR (${reason}), got ${String(error)}`).toBe(true);
  expect((error as InstancePlanError).details.reason).toBe(reason);
  return error as InstancePlanError;
}

/** Everything the adapter holds about the given ids, for before/after comparisons. */
async function contents(adapter: IndexedDBAdapter, ids: string[]) {
  const records = await Promise.all(ids.flatMap((id) => [adapter.get('instance', id), adapter.get('plan', id)]));
  const histories = await Promise.all(ids.map((id) => adapter.history(id)));
  const lists = await Promise.all([adapter.list('instance', { where: {}, limit: 100, offset: 0 }), adapter.list('plan', { where: {}, limit: 100, offset: 0 })]);
  return { records, histories, lists };
}

/** An adapter on a new database, and its cleanup. */
function fresh(label: string) {
  const name = freshName(label);
  const opened: IndexedDBAdapter[] = [];
  const open = (migrations: readonly Migration[] = MIGRATIONS) => {
    const adapter = createAdapter({ name }, migrations);
    opened.push(adapter);
    return adapter;
  };
  const cleanup = async () => {
    for (const adapter of opened) await adapter.close();
    await deleteDatabase(name);
  };
  return { name, open, cleanup };
}

/** A stored instance and plan, and a batch that updates both and creates another plan. */
async function seeded(adapter: IndexedDBAdapter) {
  const instance = instanceRecord({ id: 'instance-1' });
  const plan = planRecord({ id: 'plan-1' });
  await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
  const a = updateOf('instance', instance, { current_step: 'Summarise' });
  const b = updateOf('plan', plan, { status: 'in_progress' });
  const c = createBatch(['plan', planRecord({ id: 'plan-2' })]);
  const batch: CommitBatch = { writes: [...a.batch.writes, ...c.writes, ...b.batch.writes], events: [...a.batch.events, ...c.events, ...b.batch.events] };
  return { batch, ids: ['instance-1', 'plan-1', 'plan-2'] };
}

/** Two migrations past the shipped ones: an index, then a field filled in on every stored plan. */
const addTitleIndex: Migration = (_db, transaction) => {
  (transaction.objectStore('plans') as unknown as IDBObjectStore).createIndex('by_title', 'record.title');
};

export function describeIndexedDBAdapter(environment: string): void {
  describe(`indexedDBAdapter (${environment})`, () => {
    describe('construction and input', () => {
      it('refuses bad options at once, saying what is wrong', () => {
        expect(() => indexedDBAdapter({ name: '' })).toThrow(/name must be a non-empty string/);
        expect(() => indexedDBAdapter(null as never)).toThrow(/options must be an object/);
        expect(() => indexedDBAdapter({ indexedDB: {} as never })).toThrow(/IndexedDB is not available here.*pass `indexedDB` \(in Node tests: import 'fake-indexeddb\/auto'\)/);
      });

      // Malformed batches: the conformance suite's "malformed batches" (checkBatch).
      it('refuses malformed queries, ids and kinds with a TypeError, and stores nothing', async () => {
        const { open, cleanup } = fresh('input');
        const adapter = open();
        try {
          const refusals: [() => Promise<unknown>, RegExp][] = [
            [() => adapter.list('plan', { where: { title: 'x' } as never, limit: 1, offset: 0 }), /cannot be filtered by "title"; the indexed fields are instance_id, status, plan_type/],
            [() => adapter.list('plan', { where: { status: 1 } as never, limit: 1, offset: 0 }), /filter status must be a string/],
            [() => adapter.list('plan', { where: {}, limit: -1, offset: 0 }), /limit must be a whole number/],
            [() => adapter.list('plan', { where: {}, limit: 1, offset: 1.5 }), /offset must be a whole number/],
            [() => adapter.list('user' as never, { where: {}, limit: 1, offset: 0 }), /kind must be "instance" or "plan"/],
            [() => adapter.get('plan', 7 as never), /id must be a string/],
            [() => adapter.get('user' as never, 'plan-1'), /kind must be "instance" or "plan"/],
            [() => adapter.history(undefined as never), /record id must be a string/],
          ];
          for (const [call, message] of refusals) {
            await expect(call()).rejects.toThrow(TypeError);
            await expect(call()).rejects.toThrow(message);
          }
          expect(await contents(adapter, ['plan-1'])).toEqual({ records: [undefined, undefined], histories: [[]], lists: [{ records: [], total: 0 }, { records: [], total: 0 }] });
        } finally {
          await cleanup();
        }
      });
    });

    describe('storage layout', () => {
      it('stores the schema version, the five stores and an index per filter field', async () => {
        const { name, open, cleanup } = fresh('layout');
        try {
          await open().list('plan', { where: {}, limit: 1, offset: 0 });
          const db = await rawOpen(name);
          try {
            expect(db.version).toBe(SCHEMA_VERSION);
            expect(Array.from(db.objectStoreNames).sort()).toEqual(['counts', 'events', 'instances', 'leases', 'plans']);
            const transaction = db.transaction(['instances', 'plans', 'events']);
            for (const [kind, store] of [['instance', 'instances'], ['plan', 'plans']] as const) {
              expect(Array.from(transaction.objectStore(store).indexNames).sort()).toEqual(['newest', ...INDEXED_FIELDS[kind].map((field) => `by_${field}`)].sort());
            }
            expect(Array.from(transaction.objectStore('events').indexNames)).toEqual(['by_record']);
            // Leases are read by key only (the instance id): no indexes.
            expect(Array.from(db.transaction('leases').objectStore('leases').indexNames)).toEqual([]);
            // Counters are read from the keys of one index, [key, n] (see src/adapters/indexeddb/counts.ts).
            expect(Array.from(db.transaction('counts').objectStore('counts').indexNames)).toEqual(['with_n']);
          } finally {
            db.close();
          }
        } finally {
          await cleanup();
        }
      });

      it('keeps each record untouched inside its row, and each event exactly as given', async () => {
        const { name, open, cleanup } = fresh('rows');
        try {
          const plan = planRecord({ id: 'plan-1', site_id: 'site-1' });
          const batch = createBatch(['plan', plan]);
          await open().commit(batch);
          const db = await rawOpen(name);
          try {
            const transaction = db.transaction(['plans', 'events']);
            const row = await requestOf(transaction.objectStore('plans').get('plan-1'));
            expect(row).toEqual({ id: 'plan-1', order: expect.any(Array), record: plan });
            expect(await requestOf(transaction.objectStore('events').getAll())).toEqual(batch.events);
          } finally {
            db.close();
          }
        } finally {
          await cleanup();
        }
      });

      it('a list reads the values of its page and nothing else', async () => {
        const { open, cleanup } = fresh('reads');
        const adapter = open();
        try {
          const plans = Array.from({ length: 60 }, (_, i) =>
            planRecord({ id: `plan-${String(i).padStart(2, '0')}`, instance_id: `instance-${i % 2}`, user_id: i % 3 === 0 ? 'user-1' : 'user-2', created_at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString() }),
          );
          await adapter.commit(createBatch(...plans.map((plan) => ['plan', plan] as ['plan', Plan])));
          const cases = [
            { where: {}, limit: 5, offset: 40, page: 5, total: 60 },
            { where: { instance_id: 'instance-1' }, limit: 5, offset: 20, page: 5, total: 30 },
            { where: { instance_id: 'instance-1', user_id: 'user-1' }, limit: 4, offset: 3, page: 4, total: 10 },
            { where: { instance_id: 'instance-0', user_id: 'user-2', status: 'pending' }, limit: 3, offset: 0, page: 3, total: 20 },
            { where: { instance_id: 'instance-1' }, limit: 0, offset: 0, page: 0, total: 30 },
            { where: { user_id: 'user-1' }, limit: 10, offset: 25, page: 0, total: 20 },
          ];
          for (const { where, limit, offset, page, total } of cases) {
            const reads = countValueReads();
            try {
              const result = await adapter.list('plan', { where, limit, offset });
              expect([result.records.length, result.total], JSON.stringify(where)).toEqual([page, total]);
            } finally {
              reads.restore();
            }
            expect(reads.values, `values read for ${JSON.stringify({ where, limit, offset })}`).toBe(page);
          }
        } finally {
          await cleanup();
        }
      });

      it('a commit is one readwrite transaction over every store', async () => {
        const { open, cleanup } = fresh('one-transaction');
        const adapter = open();
        try {
          const { batch } = await seeded(adapter);
          const transactions = recordTransactions();
          try {
            await adapter.commit(batch);
          } finally {
            transactions.restore();
          }
          expect(transactions.opened).toEqual([{ stores: ['counts', 'events', 'instances', 'leases', 'plans'], mode: 'readwrite', durability: 'default' }]);
        } finally {
          await cleanup();
        }
      });

      it('commits with the durability hint it is given', async () => {
        const name = freshName('durability');
        const strict = indexedDBAdapter({ name, durability: 'strict' });
        try {
          expect(() => indexedDBAdapter({ name, durability: 'fast' as never })).toThrow(/durability must be "default", "strict" or "relaxed"/);
          const transactions = recordTransactions();
          try {
            await strict.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
          } finally {
            transactions.restore();
          }
          expect(transactions.opened.filter((opened) => opened.mode === 'readwrite').map((opened) => opened.durability)).toEqual(['strict']);
          expect((await strict.get('plan', 'plan-1'))?.version).toBe(1);
        } finally {
          await strict.close();
          await deleteDatabase(name);
        }
      });
    });

    describe('faults', () => {
      it('a value IndexedDB cannot store fails the commit midway as STORAGE_ERROR with the cause, and nothing is written', async () => {
        const { open, cleanup } = fresh('unstorable');
        const adapter = open();
        try {
          const { batch, ids } = await seeded(adapter);
          const before = await contents(adapter, ids);
          // The middle write holds a function: its put throws after the first write was issued.
          (batch.writes[1]!.record as Plan).steps = [stepRecord({ id: 'step-1', details: { callback: (() => 1) as never } })];
          const error = await expectFault(adapter.commit(batch), 'failed');
          expect((error.cause as Error).name).toBe('DataCloneError');
          expect(await contents(adapter, ids)).toEqual(before);
        } finally {
          await cleanup();
        }
      });

      it('an aborted transaction fails the commit as STORAGE_ERROR "aborted", and nothing is written', async () => {
        const { open, cleanup } = fresh('aborted');
        const adapter = open();
        try {
          const { batch, ids } = await seeded(adapter);
          const before = await contents(adapter, ids);
          const restore = abortNextEventAdd();
          try {
            const error = await expectFault(adapter.commit(batch), 'aborted');
            expect(error.message).toMatch(/Nothing of this change was written/);
          } finally {
            restore();
          }
          expect(await contents(adapter, ids)).toEqual(before);
          await adapter.commit(batch);
          expect((await adapter.get('plan', 'plan-1'))?.version).toBe(2);
        } finally {
          await cleanup();
        }
      });

      it('close lets a running commit finish; later calls fail as STORAGE_ERROR "closed" instead of hanging', async () => {
        const { name, open, cleanup } = fresh('closed');
        const adapter = open();
        try {
          const { batch } = await seeded(adapter);
          const running = adapter.commit(batch);
          const closing = adapter.close();
          await running;
          await closing;
          await expectFault(adapter.get('plan', 'plan-1'), 'closed');
          await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-3' })])), 'closed');
          const reopened = indexedDBAdapter({ name });
          try {
            expect((await reopened.get('plan', 'plan-1'))?.version).toBe(2);
            expect(await reopened.get('plan', 'plan-3')).toBeUndefined();
          } finally {
            await reopened.close();
          }
        } finally {
          await cleanup();
        }
      });
    });

    describe('schema versions', () => {
      it('upgrades an older database along the added migrations, keeping its data', async () => {
        const { name, open, cleanup } = fresh('upgrade');
        try {
          const old = open();
          const plan = planRecord({ id: 'plan-1', title: 'kept' });
          await old.commit(createBatch(['plan', plan]));
          await old.close();
          const upgraded = open([...MIGRATIONS, addTitleIndex]);
          expect(await upgraded.get('plan', 'plan-1')).toEqual(plan);
          await upgraded.close();
          const db = await rawOpen(name);
          try {
            expect(db.version).toBe(SCHEMA_VERSION + 1);
            expect(Array.from(db.transaction('plans').objectStore('plans').indexNames)).toContain('by_title');
          } finally {
            db.close();
          }
        } finally {
          await cleanup();
        }
      });

      it('a failing migration is STORAGE_ERROR "upgrade_failed"; the database keeps its version and data', async () => {
        const { name, open, cleanup } = fresh('failed-upgrade');
        try {
          const old = open();
          const plan = planRecord({ id: 'plan-1' });
          await old.commit(createBatch(['plan', plan]));
          await old.close();
          const broken: Migration = () => {
            throw new Error('migration 2 is broken');
          };
          const error = await expectFault(open([...MIGRATIONS, broken]).get('plan', 'plan-1'), 'upgrade_failed');
          expect(error.message).toMatch(/migration 2 is broken/);
          const db = await rawOpen(name);
          expect(db.version).toBe(SCHEMA_VERSION);
          db.close();
          const again = open();
          expect(await again.get('plan', 'plan-1')).toEqual(plan);
        } finally {
          await cleanup();
        }
      });

      it('an upgrade blocked by a connection that will not close fails fast as "upgrade_blocked", and works once it closes', async () => {
        const { name, open, cleanup } = fresh('blocked');
        try {
          const first = open();
          await first.list('plan', { where: {}, limit: 1, offset: 0 });
          await first.close();
          const stubborn = await rawOpen(name); // a foreign connection with no versionchange handler
          const newer = open([...MIGRATIONS, addTitleIndex]);
          const error = await expectFault(newer.get('plan', 'plan-1'), 'upgrade_blocked');
          expect(error.details).toMatchObject({ stored_version: SCHEMA_VERSION, code_version: SCHEMA_VERSION + 1 });
          expect(error.message).toMatch(/another connection to it is open/);
          expect(error.message).toContain('Close or reload the other tabs and try again');
          stubborn.close();
          expect(await newer.get('plan', 'plan-1')).toBeUndefined();
          await newer.close();
          // Nothing is left open: the late connection of the blocked attempt was closed, so deleting is not blocked.
          await newer.close();
        } finally {
          await cleanup();
        }
      });

      it('an older adapter steps aside for an upgrade, then reports the newer version as "version_too_new"', async () => {
        const { open, cleanup } = fresh('step-aside');
        try {
          const older = open();
          const plan = planRecord({ id: 'plan-1' });
          await older.commit(createBatch(['plan', plan]));
          const newer = open([...MIGRATIONS, addTitleIndex]);
          expect(await newer.get('plan', 'plan-1')).toEqual(plan);
          const error = await expectFault(older.get('plan', 'plan-1'), 'version_too_new');
          expect(error.details).toMatchObject({ stored_version: SCHEMA_VERSION + 1, code_version: SCHEMA_VERSION });
          expect(error.message).toMatch(/Update this code/);
        } finally {
          await cleanup();
        }
      });

      it('a database made by something else under the same name is refused', async () => {
        const { name, open, cleanup } = fresh('foreign');
        try {
          const db = await rawOpen(name, 1, (raw) => raw.createObjectStore('notes'));
          db.close();
          const error = await expectFault(open().list('plan', { where: {}, limit: 1, offset: 0 }), 'not_an_instance_plan_database');
          expect(error.message).toMatch(/not created by instance-plan/);
        } finally {
          await cleanup();
        }
      });
    });

    describe('change feed across connections', () => {
      it('manager.subscribe on a second connection hears a step executed through the first, with ids and versions', async () => {
        const { open, cleanup } = fresh('feed');
        try {
          const writer = new PlanManager({ adapter: open() });
          const reader = new PlanManager({ adapter: open() });
          const instance = await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
          await writer.transitionInstance(instance.id, { status: 'running' });
          const plan = await writer.createPlan({ instance_id: instance.id, title: 'Report', steps: [{ title: 'Search', type: 'tool_call' }] });
          const heard: CommittedChange[] = [];
          const stop = reader.subscribe((change) => heard.push(change));
          await writer.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
          await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
          stop();
          expect(heard[0]!.records).toEqual([
            { kind: 'plan', id: plan.id, version: 2 },
            { kind: 'instance', id: instance.id, version: 3 },
          ]);
          expect(heard[0]!.events.map((event) => [event.type, event.record_id, event.seq])).toEqual([
            ['plan.step_executed', plan.id, 2],
            ['instance.current_step_set', instance.id, 3],
          ]);
          expect((await reader.getInstance(instance.id)).current_step).toBe('Search');
        } finally {
          await cleanup();
        }
      });

      it('announces on the channel "instance-plan:<name>", ignores foreign messages there, and goes quiet after close', async () => {
        const { name, open, cleanup } = fresh('channel');
        const outsider = new BroadcastChannel(channelName(name));
        try {
          expect(channelName(name)).toBe(`instance-plan:${name}`);
          const writer = open();
          const listener = open();
          const raw: unknown[] = [];
          outsider.onmessage = (event) => raw.push(event.data);
          const heard: CommittedChange[] = [];
          listener.subscribe((change) => heard.push(change));
          outsider.postMessage('not ours');
          outsider.postMessage({ type: 'instance-plan/committed', change: { records: [{ kind: 'plan', id: 7 }], events: [] } });
          await writer.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
          await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
          await expect.poll(() => raw.length, { timeout: 5_000 }).toBe(1);
          expect(raw[0]).toMatchObject({ type: 'instance-plan/committed', change: { records: [{ kind: 'plan', id: 'plan-1', version: 1 }] } });
          expect(heard[0]!.records).toEqual([{ kind: 'plan', id: 'plan-1', version: 1 }]);
          await listener.close();
          await writer.commit(updateOf('plan', planRecord({ id: 'plan-1' })).batch);
          await expect.poll(() => raw.length, { timeout: 5_000 }).toBe(2);
          expect(heard).toHaveLength(1);
        } finally {
          outsider.close();
          await cleanup();
        }
      });
    });

    describe('closing mid-run', () => {
      it('reopening after closing mid-run finds every committed change and no partial one', async () => {
        const { name, open, cleanup } = fresh('mid-run');
        try {
          const adapter = open();
          const manager = new PlanManager({ adapter, retries: 100 });
          const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
          await manager.transitionInstance(instance.id, { status: 'running' });
          const titles = Array.from({ length: 24 }, (_, i) => `Step ${i + 1}`);
          const plan = await manager.createPlan({ instance_id: instance.id, title: 'Mid-run', ordering: 'free', steps: titles.map((title) => ({ title, type: 'process' as const })) });
          // Every step goes in_progress at once: each is a batch of two records (the plan, and the
          // instance's current_step). The connection closes after the fifth lands.
          let landed = 0;
          const outcomes = Promise.allSettled(
            plan.steps.map((step) =>
              manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' }).then((result) => {
                if (++landed === 5) void adapter.close();
                return result;
              }),
            ),
          );
          const settled = await outcomes;
          const succeeded = plan.steps.filter((_, i) => settled[i]!.status === 'fulfilled').map((step) => step.id);
          // Transactions begun before the close finish (so maybe every call of the first wave
          // lands); every call made after it fails.
          const late = await Promise.allSettled(plan.steps.map((step) => manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' })));
          const failed = [...settled, ...late].filter((outcome) => outcome.status === 'rejected');
          expect(late.every((outcome) => outcome.status === 'rejected')).toBe(true);
          expect(succeeded.length).toBeGreaterThanOrEqual(5);
          expect(failed.length).toBeGreaterThan(0);
          for (const outcome of failed) expect((outcome as PromiseRejectedResult).reason.details?.reason).toBe('closed');

          const reopened = new PlanManager({ adapter: indexedDBAdapter({ name }) });
          const storedPlan = await reopened.getPlan(plan.id);
          const storedInstance = await reopened.getInstance(instance.id);
          expect(storedPlan.steps.filter((step) => step.status === 'in_progress').map((step) => step.id).sort()).toEqual(succeeded.sort());
          expect(storedPlan.version).toBe(1 + succeeded.length);
          // Each batch wrote both records or neither: the instance moved exactly once per landed step.
          expect(storedInstance.version).toBe(2 + succeeded.length);
          const planHistory = await reopened.history(plan.id);
          const instanceHistory = await reopened.history(instance.id);
          expect(replay(planHistory)).toEqual(storedPlan);
          expect(replay(instanceHistory)).toEqual(storedInstance);
          const lastStarted = planHistory.at(-1)!.step!.id;
          expect(storedInstance.current_step).toBe(plan.steps.find((step) => step.id === lastStarted)!.title);
        } finally {
          await cleanup();
        }
      });
    });
  });
}
