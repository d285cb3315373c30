// Ids, the fields lists filter by and lease owners are keys in every store, and no store keeps
// U+0000 or an unpaired surrogate in a key exactly. So every adapter alike refuses them up
// front with VALIDATION_ERROR naming the field, and nothing is stored; free text (titles,
// outputs, details) keeps every character.
import 'fake-indexeddb/auto';
import Database from 'better-sqlite3';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager, type StorageAdapter } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { migrate as migratePostgres, postgresAdapter } from 'instance-plan/postgres';
import { migrate as migrateSqlite, sqliteAdapter, type SqliteDatabase } from 'instance-plan/sqlite';
import { freshName } from './support/idb-harness';
import { freshSchema } from './support/pg-harness';

const pglite = new PGlite();
afterAll(() => pglite.close());

const adapters: [string, () => Promise<StorageAdapter>][] = [
  ['memory', async () => memoryAdapter()],
  ['IndexedDB', async () => indexedDBAdapter({ name: freshName('key-text') })],
  ['PostgreSQL (PGlite)', async () => {
    const schema = freshSchema('key_text');
    await migratePostgres(pglite, { schema });
    return postgresAdapter({ client: pglite, schema });
  }],
  ['SQLite', async () => {
    const database = new Database(':memory:') as unknown as SqliteDatabase;
    migrateSqlite(database);
    return sqliteAdapter({ database });
  }],
];

const BAD = { 'U+0000': 'agent\u0000one', 'an unpaired surrogate': 'agent\ud800one' };

describe.each(adapters)('key text on %s', (_, open) => {
  it.each(Object.entries(BAD))('an agent_type_id with %s is VALIDATION_ERROR naming it, and nothing is stored', async (_, bad) => {
    const manager = new PlanManager({ adapter: await open() });
    const error = await manager.createInstance({ organization_id: 'org-1', agent_type_id: bad }).catch((e: unknown) => e);
    expect(InstancePlanError.is(error, 'VALIDATION_ERROR')).toBe(true);
    expect((error as InstancePlanError).details.issues).toEqual([{ path: 'agent_type_id', message: 'must not contain U+0000 or an unpaired surrogate: no store can keep them in a key' }]);
    expect((await manager.listInstances()).total).toBe(0);
  });

  it('a plan\'s agent_id and a lease owner alike; free text keeps every character', async () => {
    const manager = new PlanManager({ adapter: await open() });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    const refused = await manager.createPlan({ instance_id: instance.id, title: 'T', agent_id: BAD['U+0000'], steps: [] }).catch((e: unknown) => e);
    expect(InstancePlanError.is(refused, 'VALIDATION_ERROR')).toBe(true);
    const owner = await manager.acquireLease(instance.id, { owner: BAD['an unpaired surrogate'], ttl_ms: 1000 }).catch((e: unknown) => e);
    expect(InstancePlanError.is(owner, 'VALIDATION_ERROR')).toBe(true);
    const title = 'nul \u0000 and a lone \ud800 surrogate';
    const plan = await manager.createPlan({ instance_id: instance.id, title, steps: [{ title, type: 'process', details: { note: title } }] });
    expect((await manager.getPlan(plan.id)).steps[0]!.details).toEqual({ note: title });
    expect((await manager.getPlan(plan.id)).title).toBe(title);
  });
});
