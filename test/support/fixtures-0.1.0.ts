// The stores 0.1.0 wrote (test/fixtures/0.1.0, made by scripts/fixtures/make-0.1.0.mjs from that
// commit), and what every store must read back after the upgrade: exactly the records, histories
// and leases of the memory adapter's dump, since all of them hold one scenario. Read as text so
// the same module serves the Node tests and the Chromium ones.
import { expect } from 'vitest';
import { dumpStore, PlanManager, type StorageAdapter } from 'instance-plan';
import { checkInvariants } from '../../src/testing/invariants';
import { canonicalJson } from '../../src/stores/canonical';
import memoryText from '../fixtures/0.1.0/memory.jsonl?raw';
import indexeddbText from '../fixtures/0.1.0/indexeddb.json?raw';
import postgresText from '../fixtures/0.1.0/postgres.sql?raw';

/** The memory adapter's content at 0.1.0, as dump lines. */
export const MEMORY_DUMP: string[] = memoryText.split('\n').filter((line) => line !== '');

/** The raw IndexedDB database 0.1.0 wrote in Chromium. */
export interface ExportedDatabase {
  name: string;
  version: number;
  stores: {
    name: string;
    keyPath: string | string[] | null;
    autoIncrement: boolean;
    indexes: { name: string; keyPath: string | string[]; unique: boolean; multiEntry: boolean }[];
    entries: { key: IDBValidKey; value: unknown }[];
  }[];
}
export const INDEXEDDB_EXPORT = JSON.parse(indexeddbText) as ExportedDatabase;

/** pg_dump of the schema 0.1.0 migrated and wrote, and that schema's name in it. */
export const POSTGRES_DUMP = postgresText;
export const POSTGRES_SCHEMA = 'instance_plan_0_1_0';

/** The SQL of the PostgreSQL dump, restoring into `schema` instead. */
export function postgresDumpInto(schema: string): string {
  return POSTGRES_DUMP.replaceAll(POSTGRES_SCHEMA, schema);
}

/** Rebuilds the exported database under `name` with `factory`: its version, stores, indexes and entries, as 0.1.0 left them. */
export async function restoreIndexedDB(factory: IDBFactory, name: string, exported = INDEXEDDB_EXPORT): Promise<void> {
  const done = <T>(request: IDBRequest<T>) => new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const open = factory.open(name, exported.version);
  open.onupgradeneeded = () => {
    for (const store of exported.stores) {
      const created = open.result.createObjectStore(store.name, { keyPath: store.keyPath, autoIncrement: store.autoIncrement });
      for (const index of store.indexes) created.createIndex(index.name, index.keyPath, { unique: index.unique, multiEntry: index.multiEntry });
    }
  };
  const db = await done(open);
  const transaction = db.transaction(exported.stores.map((store) => store.name), 'readwrite');
  for (const store of exported.stores) {
    const target = transaction.objectStore(store.name);
    for (const { key, value } of store.entries) target.put(value, store.keyPath === null ? key : undefined);
  }
  await new Promise<void>((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
  });
  db.close();
}

/** A store's content as canonical dump lines. */
export async function contentOf(adapter: StorageAdapter): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of dumpStore(adapter)) lines.push(canonicalJson(JSON.parse(line)));
  return lines;
}

/**
 * What 0.1.0 wrote, in today's shape, as canonical dump lines: the records' shape 2 gave each
 * instance `status_reason`, `max_turns` and `max_tokens`, null (no reason, no budget), in the
 * record and in its creation event and snapshots. Spelled out here, apart from the library's
 * own upgrade code, which every store is checked against.
 */
export const WHAT_010_WROTE_TODAY: string[] = MEMORY_DUMP.map((text) => {
  const line = JSON.parse(text) as Record<string, any>;
  const shape2 = (instance: Record<string, unknown>) => ({ ...instance, status_reason: null, max_turns: null, max_tokens: null });
  if ('format' in line) line.version = 2;
  if (line.kind === 'instance') line.record = shape2(line.record);
  if (line.kind === 'event' && line.event.record_kind === 'instance') {
    if (line.event.type === 'instance.created') line.event.changes[0].value = shape2(line.event.changes[0].value);
    if (line.event.snapshot) line.event.snapshot = shape2(line.event.snapshot);
  }
  return canonicalJson(line);
});

/**
 * Expects `adapter` to hold exactly what 0.1.0 wrote (in today's shape), every invariant holding, and to take work
 * again: a worker arriving the next day recovers the step 0.1.0's worker left in progress (its
 * lease ran out unreleased) and finishes it.
 */
export async function expectWhat010Wrote(adapter: StorageAdapter): Promise<void> {
  expect(await contentOf(adapter)).toEqual(WHAT_010_WROTE_TODAY);
  expect(await checkInvariants(adapter)).toEqual([]);
  const manager = new PlanManager({ adapter, clock: () => new Date(Date.UTC(2026, 0, 2)) });
  const [researcher] = (await manager.listInstances({ agent_type_id: 'researcher' })).instances;
  const lease = await manager.acquireLease(researcher!.id, { owner: 'worker-after-upgrade', ttl_ms: 60_000 });
  expect(lease).toMatchObject({ token: 2, recovered: { previous_owner: 'worker-0.1.0', previous_token: 1, steps: [{ title: 'Read the results', status: 'failed' }] } });
  const [plan] = (await manager.listPlans({ instance_id: researcher!.id })).plans;
  const worker = manager.withLease(lease);
  await worker.executeStep({ plan_id: plan!.id, step_id: plan!.steps[1]!.id, step_status: 'in_progress' });
  const done = await worker.executeStep({ plan_id: plan!.id, step_id: plan!.steps[1]!.id, step_status: 'completed', step_output: 'read after the upgrade' });
  expect(done.steps[1]).toMatchObject({ status: 'completed', attempts: 2 });
  expect(await checkInvariants(adapter)).toEqual([]);
}
