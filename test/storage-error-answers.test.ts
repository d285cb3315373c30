// A STORAGE_ERROR answer tells a model or an HTTP caller only the reason and whether the change
// may have landed: never the store's own words (addresses, SQL, schema and table names, advice
// for operators), which reach the operator's onError hook. Tried with real faults of each store.
import 'fake-indexeddb/auto';
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type StorageAdapter } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { migrate as migratePostgres, postgresAdapter } from 'instance-plan/postgres';
import { migrate as migrateSqlite, sqliteAdapter, type SqliteDatabase } from 'instance-plan/sqlite';
import type { InstancePlanError } from '../src/errors';
import { freshName } from './support/idb-harness';

const TEMPLATES = [
  /^The store failed before it could confirm this change \(reason: [a-z_]+\); it may have been stored\. Read the record again before you retry\.$/,
  /^The store could not do this \(reason: [a-z_]+\); nothing was changed\. Try again later\.$/,
];

/** Seeds a plan through a healthy manager, breaks the store, then asks the tool to change the plan. */
async function answerAfter(adapter: StorageAdapter, breakIt: () => Promise<void> | void) {
  const seed = new PlanManager({ adapter });
  const instance = await seed.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
  const plan = await seed.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
  const heard: InstancePlanError[] = [];
  const manager = new PlanManager({ adapter, onError: (error) => heard.push(error) });
  await breakIt();
  // Steps with long descriptions: a change that needs new pages of a store.
  const steps = Array.from({ length: 20 }, (_, i) => ({ title: `step ${i}`, type: 'process', description: 'x'.repeat(9_000) }));
  const answer = await manager.handle({ action: 'update', plan_id: plan.id, title: 'changed', steps });
  return { answer, heard };
}

function expectOnlyTheReason(answer: unknown, heard: InstancePlanError[], secrets: string[]) {
  const { error } = answer as { success: false; error: Record<string, unknown> };
  expect(Object.keys(error).sort()).toEqual(['code', 'may_have_landed', 'message', 'reason']);
  expect(error.code).toBe('STORAGE_ERROR');
  expect(TEMPLATES.some((template) => template.test(error.message as string)), error.message as string).toBe(true);
  const text = JSON.stringify(answer);
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(heard).toHaveLength(1);
  return { reason: error.reason, may_have_landed: error.may_have_landed, operator: heard[0]!.message };
}

describe('STORAGE_ERROR answers carry only the reason', () => {
  it('a store that throws its own error text: the address reaches onError only', async () => {
    const inner = memoryAdapter();
    let broken = false;
    const adapter: StorageAdapter = { ...inner, commit: (batch) => (broken ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : inner.commit(batch)) };
    const { answer, heard } = await answerAfter(adapter, () => void (broken = true));
    const seen = expectOnlyTheReason(answer, heard, ['ECONNREFUSED', '127.0.0.1', '5432']);
    expect(seen).toMatchObject({ reason: 'failed', may_have_landed: true });
    expect(seen.operator).toContain('connect ECONNREFUSED 127.0.0.1:5432');
  });

  it('SQLite: a full disk and a closed handle', async () => {
    const full = new Database(':memory:');
    migrateSqlite(full as unknown as SqliteDatabase);
    const filling = await answerAfter(sqliteAdapter({ database: full as unknown as SqliteDatabase }), () => {
      const pages = full.pragma('page_count', { simple: true }) as number;
      full.pragma(`max_page_count = ${pages}`);
    });
    expect(expectOnlyTheReason(filling.answer, filling.heard, ['SQLITE_', 'plans', 'database or disk'])).toMatchObject({ may_have_landed: false });
    const closed = new Database(':memory:');
    migrateSqlite(closed as unknown as SqliteDatabase);
    const shut = await answerAfter(sqliteAdapter({ database: closed as unknown as SqliteDatabase }), () => void closed.close());
    expect(expectOnlyTheReason(shut.answer, shut.heard, ['database connection is not open', 'SQLITE'])).toMatchObject({ reason: 'closed', may_have_landed: false });
  });

  it('PostgreSQL: a closed client, its schema name and advice kept from the answer', async () => {
    const db = new PGlite();
    await migratePostgres(db, { schema: 'secret_schema' });
    const { answer, heard } = await answerAfter(postgresAdapter({ client: db, schema: 'secret_schema' }), () => db.close());
    expectOnlyTheReason(answer, heard, ['secret_schema', 'commit_batch', 'PGlite', 'closed']);
    expect(heard[0]!.message.length).toBeGreaterThan(0);
  });

  it('IndexedDB: a closed adapter', async () => {
    const adapter = indexedDBAdapter({ name: freshName('closed') });
    const { answer, heard } = await answerAfter(adapter, () => adapter.close());
    expect(expectOnlyTheReason(answer, heard, ['IndexedDB', 'IDB'])).toMatchObject({ reason: 'closed', may_have_landed: false });
  });

  it('an onError hook that throws, or rejects, changes nothing of the answer and is no unhandled rejection', async () => {
    const inner = memoryAdapter();
    let broken = false;
    const adapter: StorageAdapter = { ...inner, commit: (batch) => (broken ? Promise.reject(new Error('gone')) : inner.commit(batch)) };
    const seed = new PlanManager({ adapter });
    const instance = await seed.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
    broken = true;
    for (const onError of [() => { throw new Error('log sink down'); }, async () => { throw new Error('log sink down'); }]) {
      const manager = new PlanManager({ adapter, onError });
      const answer = await manager.handle({ action: 'create', instance_id: instance.id, title: 'P', steps: [] });
      expect(answer).toMatchObject({ success: false, error: { code: 'STORAGE_ERROR', reason: 'failed' } });
    }
    // Let a rejection surface, if one were left unhandled (vitest fails the run on one).
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});
