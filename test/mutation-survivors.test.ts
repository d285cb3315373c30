// Behaviour that the second Stryker run (docs/testing.md, "Mutation testing") found unchecked
// after the first round of tests: conflict messages, malformed batches, what a store announces,
// and a database that is not ours at our own schema version.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, type CommittedChange } from '../src';
import { indexedDBAdapter } from '../src/adapters/indexeddb';
import { SCHEMA_VERSION } from '../src/adapters/indexeddb/schema';
import { createBatch, instanceRecord, leaseRecord, planRecord, updateOf } from '../src/testing/conformance/fixtures';
import { rawOpen } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';

describe('CONFLICT says which version was expected and which was found, "none" for a record that does not exist', () => {
  it('creating a record that already exists', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    await adapter.commit(createBatch(['plan', plan]));
    const error = await adapter.commit(createBatch(['plan', plan])).catch((e: unknown) => e);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    expect((error as InstancePlanError).message).toContain('expected version none (new record), found 1');
    expect((error as InstancePlanError).details).toMatchObject({ kind: 'plan', id: 'plan-1', expected_version: null, actual_version: 1 });
  });

  it('updating a record that does not exist', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    const error = await adapter.commit(updateOf('plan', plan, { title: 'changed' }).batch).catch((e: unknown) => e);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    expect((error as InstancePlanError).message).toContain(`expected version ${plan.version}, found none`);
  });
});

describe('the memory store', () => {
  it('refuses a batch that writes one record twice, naming it, and stores nothing', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    const twice = { writes: [...createBatch(['plan', plan]).writes, ...createBatch(['plan', plan]).writes], events: [] };
    await expect(adapter.commit(twice)).rejects.toThrow(/plan "plan-1" twice/);
    expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
  });

  it('announces nothing for a batch of lease checks only (nothing changed)', async () => {
    const adapter = memoryAdapter();
    const instance = instanceRecord({ id: 'inst-1' });
    await adapter.commit(createBatch(['instance', instance]));
    await adapter.commit({ writes: [{ kind: 'lease', record: leaseRecord({ id: 'inst-1' }), expected_version: null }], events: [] });
    const heard: CommittedChange[] = [];
    adapter.subscribe!((change) => heard.push(change));
    await adapter.commit({ writes: [], events: [], checks: [{ kind: 'lease', id: 'inst-1', expected_version: 1 }] });
    expect(heard).toEqual([]);
    // and a change is still heard, so the listener was listening
    await adapter.commit(updateOf('instance', instance, { current_step: 'next' }).batch);
    expect(heard.map((change) => change.records)).toEqual([[{ kind: 'instance', id: 'inst-1', version: 2 }]]);
  });
});

describe('IndexedDB: a database that is not ours', () => {
  it('at our own schema version (no upgrade runs) is refused naming each store it lacks, and left as it was', async () => {
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
      await adapter.close();
      const db = await rawOpen(name);
      expect([db.version, Array.from(db.objectStoreNames)]).toEqual([SCHEMA_VERSION, ['plans']]);
      db.close();
    } finally {
      await deleteDatabase(name);
    }
  });
});
