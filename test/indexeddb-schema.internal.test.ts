// The IndexedDB schema's versions: a database that an earlier release wrote must open after an
// upgrade, keeping what it holds. Version 2 adds the `leases` store, version 3 the `counts` store
// (its counters filled from the records already stored), version 4 brings instances to the
// records' shape 2 (proved on the database 0.1.0 wrote: test/stored-formats.test.ts). The older databases are built here with
// the release's own migrations (MIGRATIONS, internal) and order keys (orderKey, internal), as the
// earlier releases built them.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { PlanManager } from 'instance-plan';
import { indexedDBAdapter, SCHEMA_VERSION } from 'instance-plan/indexeddb';
import { orderKey } from '../src/adapters/indexeddb/order-key';
import { MIGRATIONS } from '../src/adapters/indexeddb/schema';
import type { Plan, RecordKind } from '../src/schemas/records';
import { at, eventOf, instanceRecord, leaseRecord, planRecord } from '../src/testing/conformance/fixtures';
import { expectRejection } from './support/core-fixtures';
import { expectTotalsMatch, type AnyRecord } from './support/idb-counts';
import { expectCurrentLayout, expectFault, rawOpen } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';
import { stored } from './support/lease-world';

function done(request: IDBRequest | IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    if ('oncomplete' in request) {
      request.oncomplete = () => resolve();
      request.onerror = () => reject(request.error);
    } else {
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    }
  });
}

describe('IndexedDB schema versions', () => {
  it(`the release is at schema version ${SCHEMA_VERSION} and ships one migration per version, the records' shape 2 (4) being the last, after the counters' (3) and the leases' (2)`, () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
    expect(MIGRATIONS).toHaveLength(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(4);
    expect(MIGRATIONS).toHaveLength(4);
  });
});

describe('IndexedDB schema version 2: leases', () => {
  it('a version-1 database gains the leases store on first open, keeps its records, and takes leases', async () => {
    const name = freshName('leases-upgrade');
    // The database as version 1 of the code left it: the shipped first migration, and a running instance.
    const instance = instanceRecord({ id: 'instance-1', status: 'running' });
    const plan = planRecord({ id: 'plan-1', instance_id: 'instance-1' });
    const old = await rawOpen(name, 1, (db) => MIGRATIONS[0]!(db as never, undefined as never));
    const write = old.transaction(['instances', 'plans'], 'readwrite');
    write.objectStore('instances').put({ id: instance.id, order: orderKey(instance.created_at), record: instance });
    write.objectStore('plans').put({ id: plan.id, order: orderKey(plan.created_at), record: plan });
    await done(write);
    expect(Array.from(old.objectStoreNames).sort()).toEqual(['events', 'instances', 'plans']);
    old.close();

    const adapter = indexedDBAdapter({ name });
    try {
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      const manager = new PlanManager({ adapter });
      const lease = await manager.acquireLease('instance-1', { owner: 'worker-a', ttl_ms: 60_000 });
      expect(await adapter.get('lease', 'instance-1')).toEqual(stored(lease));
      await expectRejection(manager.updatePlan({ plan_id: 'plan-1', title: 'without the lease' }), 'LEASE_HELD');
      const updated = await manager.withLease(lease).updatePlan({ plan_id: 'plan-1', title: 'under the lease' });
      expect(updated.title).toBe('under the lease');
      await adapter.close();
      await expectCurrentLayout(name);
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });
});

describe('IndexedDB schema version 3: counters of an existing database', () => {
  const instances = [
    instanceRecord({ id: 'instance-1', status: 'running', task_id: 'task-1' }),
    instanceRecord({ id: 'instance-2', status: 'paused', organization_id: 'org-2', created_at: at(1) }),
    instanceRecord({ id: 'instance-3', status: 'running', created_at: at(2) }),
  ];
  const plans = Array.from({ length: 12 }, (_, i) =>
    planRecord({
      id: `plan-${i}`,
      instance_id: `instance-${(i % 3) + 1}`,
      status: i % 4 === 0 ? 'in_progress' : 'pending',
      // every filter field, each held by some plans and not others
      plan_type: i % 5 === 0 ? 'task' : 'objective',
      site_id: i % 2 ? 'site-1' : null,
      user_id: i % 3 ? 'user-1' : null,
      agent_id: i % 4 ? 'agent-1' : null,
      created_at: at(i),
    }),
  );

  /** A database as version `version` of the code left it, holding the records above (and a lease). */
  async function olderDatabase(name: string, version: 1 | 2, extraPlanRows: object[] = []) {
    const db = await rawOpen(name, version, (raw) => {
      for (const migration of MIGRATIONS.slice(0, version)) migration(raw as never, undefined as never);
    });
    const stores = version === 2 ? ['instances', 'plans', 'leases'] : ['instances', 'plans'];
    const write = db.transaction(stores, 'readwrite');
    for (const record of instances) write.objectStore('instances').put({ id: record.id, order: orderKey(record.created_at), record });
    for (const record of plans) write.objectStore('plans').put({ id: record.id, order: orderKey(record.created_at), record });
    for (const row of extraPlanRows) write.objectStore('plans').put(row);
    if (version === 2) write.objectStore('leases').put({ id: 'instance-1', order: orderKey(instances[0]!.created_at), record: leaseRecord({ id: 'instance-1' }) });
    await new Promise<void>((resolve, reject) => {
      write.oncomplete = () => resolve();
      write.onerror = () => reject(write.error);
    });
    expect(Array.from(db.objectStoreNames)).not.toContain('counts');
    db.close();
  }

  for (const version of [1, 2] as const) {
    it(`a version-${version} database is counted on first open: every total is right, and later commits keep it so`, async () => {
      const name = freshName(`counts-upgrade-v${version}`);
      await olderDatabase(name, version);
      const adapter = indexedDBAdapter({ name });
      try {
        const stored = new Map<string, AnyRecord>();
        const kinds = new Map<string, RecordKind>();
        for (const record of instances) [stored.set(`instance:${record.id}`, record), kinds.set(`instance:${record.id}`, 'instance')];
        for (const record of plans) [stored.set(`plan:${record.id}`, record), kinds.set(`plan:${record.id}`, 'plan')];
        await expectTotalsMatch(adapter, stored, kinds);
        expect((await adapter.list('plan', { where: { instance_id: 'instance-1' }, limit: 2, offset: 1 })).records.map((plan) => plan.id)).toEqual(['plan-6', 'plan-3']);

        // A status change moves a plan from one counter to another; the upgraded counters follow.
        const before = plans[0]!;
        const after = { ...before, status: 'completed', version: 2 } as Plan;
        await adapter.commit({ writes: [{ kind: 'plan', record: after, expected_version: 1 }], events: [eventOf('plan', after, before.status)] });
        stored.set('plan:plan-0', after);
        await expectTotalsMatch(adapter, stored, kinds);
        await adapter.close();
        await expectCurrentLayout(name);
      } finally {
        await adapter.close();
        await deleteDatabase(name);
      }
    });
  }

  it('a row the counting step cannot read fails the upgrade as "upgrade_failed"; the database stays at version 2 with its rows', async () => {
    const name = freshName('counts-upgrade-broken');
    // A plans row with no record (no code of ours writes one): counting it throws midway through the cursor.
    await olderDatabase(name, 2, [{ id: 'broken', order: orderKey(at(99)) }]);
    const adapter = indexedDBAdapter({ name });
    try {
      const error = await expectFault(adapter.list('plan', { where: {}, limit: 1, offset: 0 }), 'upgrade_failed');
      expect(error.details).toMatchObject({ code_version: SCHEMA_VERSION });
      const db = await rawOpen(name);
      try {
        expect(db.version).toBe(2);
        expect(Array.from(db.objectStoreNames)).not.toContain('counts');
        const count = db.transaction('plans').objectStore('plans').count();
        expect(await new Promise((resolve) => (count.onsuccess = () => resolve(count.result)))).toBe(plans.length + 1);
      } finally {
        db.close();
      }
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });
});
