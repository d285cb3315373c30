// Leases in IndexedDB need schema version 2 (a `leases` store): a database an older version of
// the code created must gain it on first open, keeping what it holds.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { PlanManager } from 'instance-plan';
import { indexedDBAdapter, SCHEMA_VERSION } from 'instance-plan/indexeddb';
import { orderKey } from '../src/adapters/indexeddb/order-key';
import { MIGRATIONS } from '../src/adapters/indexeddb/schema';
import { instanceRecord, planRecord } from '../src/testing/conformance/fixtures';
import { expectRejection } from './support/core-fixtures';
import { expectCurrentLayout, rawOpen } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';

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

describe('IndexedDB schema version 2: leases', () => {
  it('is a version this code passes through (later versions add more, one migration each)', () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
    expect(MIGRATIONS).toHaveLength(SCHEMA_VERSION);
  });

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
      expect(await adapter.get('lease', 'instance-1')).toEqual(lease);
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
