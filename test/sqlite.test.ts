// The SQLite adapter on better-sqlite3 (Node 20): the conformance suite in full on a file
// database, then what is SQLite's own: migrations and refusals of other files, the drivers told
// apart, faults answered with a reason and nothing partial. The same suite runs on node:sqlite
// (Node 22) and bun:sqlite (Bun) from .ci/runtimes.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, PlanManager, replay } from 'instance-plan';
import { migrate, SCHEMA_VERSION, sqliteAdapter, type SqliteDatabase } from 'instance-plan/sqlite';
import fc from 'fast-check';
import { adapterConformance, checkInvariants, planManagerCommands, runPlanManagerModel } from 'instance-plan/testing';
import { createBatch, leaseRecord, planRecord, updateOf } from '../src/testing/conformance/fixtures';
import type { Plan } from 'instance-plan';

const folder = mkdtempSync(join(tmpdir(), 'instance-plan-sqlite-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(folder, `test-${++files}.db`);
const open = (file: string) => new Database(file) as unknown as SqliteDatabase & { close(): void };

adapterConformance({
  name: 'SQLite adapter (better-sqlite3)',
  create() {
    const database = open(freshFile());
    migrate(database);
    return Object.assign(sqliteAdapter({ database }), { close: () => database.close(), file: database });
  },
  // A second handle on the same file, as a second process would open.
  connect(adapter) {
    const file = ((adapter as unknown as { file: { name: string } }).file).name;
    const database = open(file);
    return Object.assign(sqliteAdapter({ database }), { close: () => database.close() });
  },
  changeFeed: false,
  hidesOutOfScope: true,
  describe,
  it,
});

async function expectFault(promise: Promise<unknown> | (() => unknown), reason: string): Promise<InstancePlanError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (caught) {
    error = caught;
  }
  expect(InstancePlanError.is(error, 'STORAGE_ERROR'), String(error)).toBe(true);
  expect((error as InstancePlanError).details.reason).toBe(reason);
  return error as InstancePlanError;
}

describe('PlanManager on the SQLite adapter', () => {
  it('agrees with the reference model and keeps every invariant (lists and their totals included)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 40, size: 'max' }), async (commands) => {
        const database = open(':memory:');
        migrate(database);
        const adapter = sqliteAdapter({ database });
        try {
          // Restarts open a new adapter on the same handle, as a restarted process opens the file again.
          await runPlanManagerModel(() => new PlanManager({ adapter }), commands, { adapter, open: (store) => new PlanManager({ adapter: store === adapter ? sqliteAdapter({ database }) : store }) });
          expect(await checkInvariants(adapter)).toEqual([]);
        } finally {
          database.close();
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});

describe('list totals come from counters moved in each commit', () => {
  it('after any sequence of creations and changes of indexed fields, every filter\'s total is the number of records it matches', async () => {
    const value = fc.constantFrom('a', 'b', 'c');
    const change = fc.record({ id: fc.integer({ min: 0, max: 5 }), instance_id: value, status: fc.constantFrom('pending', 'in_progress', 'completed'), site_id: fc.option(value, { nil: null }) });
    await fc.assert(
      fc.asyncProperty(fc.array(change, { maxLength: 30 }), async (changes) => {
        const database = open(':memory:');
        migrate(database);
        const adapter = sqliteAdapter({ database });
        try {
          for (const { id, ...fields } of changes) {
            const current = (await adapter.get('plan', `plan-${id}`)) as Plan | undefined;
            if (current) await adapter.commit(updateOf('plan', current, fields as Partial<Plan>).batch);
            else await adapter.commit(createBatch(['plan', planRecord({ id: `plan-${id}`, ...(fields as Partial<Plan>) })]));
          }
          const all = (await adapter.list('plan', { where: {}, limit: 100, offset: 0 })).records;
          expect((await adapter.list('plan', { where: {}, limit: 0, offset: 0 })).total).toBe(all.length);
          for (const field of ['instance_id', 'status', 'site_id'] as const) {
            for (const each of ['a', 'b', 'c', 'pending', 'in_progress', 'completed']) {
              const total = (await adapter.list('plan', { where: { [field]: each }, limit: 0, offset: 0 })).total;
              expect(total, `${field} = ${each}`).toBe(all.filter((plan) => plan[field] === each).length);
            }
          }
        } finally {
          database.close();
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('migrate', () => {
  it('creates the tables once, in WAL mode, and is idempotent', () => {
    const database = open(freshFile());
    expect(migrate(database)).toEqual({ from: 0, to: SCHEMA_VERSION });
    expect(migrate(database)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    expect((database as unknown as Database.Database).pragma('journal_mode', { simple: true })).toBe('wal');
    database.close();
  });

  it('refuses a database of another program, naming it, and changes nothing', async () => {
    const database = open(freshFile());
    database.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    await expectFault(() => migrate(database), 'not_an_instance_plan_database');
    const tables = (database as unknown as Database.Database).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).toEqual([{ name: 'notes' }]);
    // Its journal mode too: refused before anything of the file changes.
    expect((database as unknown as Database.Database).pragma('journal_mode', { simple: true })).toBe('delete');
    database.close();
  });

  it('refuses a file with an application id of its own, naming the id and its tables; a file with neither is new', async () => {
    const database = open(freshFile());
    database.exec('PRAGMA application_id = 1234; CREATE TABLE notes (id INTEGER PRIMARY KEY); CREATE TABLE tags (id INTEGER PRIMARY KEY)');
    const error = await expectFault(() => migrate(database), 'not_an_instance_plan_database');
    expect(error.message).toBe('SQLite migrate refused: this database belongs to another program (application id 1234, 2 tables); give instance-plan a database of its own. Nothing was changed.');
    expect(error.details).toMatchObject({ reason: 'not_an_instance_plan_database', application_id: 1234 });
    database.close();
    // An application id of another program and no tables yet: still another program's.
    const empty = open(freshFile());
    empty.exec('PRAGMA application_id = 99');
    expect((await expectFault(() => migrate(empty), 'not_an_instance_plan_database')).message).toContain('(application id 99, 0 tables)');
    empty.close();
  });

  it('waits for a lock another connection holds, and migrates once it is let go; past busyTimeoutMs it is busy', async () => {
    const { Worker } = await import('node:worker_threads');
    /** Another connection, in a thread of its own (migrate waits synchronously), holding the write lock; let go after `ms`, or never. */
    const holdLock = (file: string, ms?: number) =>
      new Promise<InstanceType<typeof Worker>>((resolve, reject) => {
        const worker = new Worker(
          `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
           const { parentPort, workerData } = require('node:worker_threads');
           const db = new Database(workerData.file);
           db.exec('BEGIN IMMEDIATE');
           parentPort.postMessage('held');
           if (workerData.ms !== undefined) setTimeout(() => { db.exec('COMMIT'); db.close(); }, workerData.ms);
           else setInterval(() => {}, 60_000);`,
          { eval: true, workerData: { file, ms } },
        );
        worker.once('message', () => resolve(worker));
        worker.once('error', reject);
      });
    const file = freshFile();
    const held = await holdLock(file, 150);
    const database = open(file);
    expect(migrate(database, { busyTimeoutMs: 5_000 })).toEqual({ from: 0, to: SCHEMA_VERSION });
    await held.terminate();
    database.close();
    const second = freshFile();
    const stuck = await holdLock(second);
    const locked = open(second);
    await expectFault(() => migrate(locked, { busyTimeoutMs: 50 }), 'busy');
    await stuck.terminate();
    // Nothing of it was written: the file is new, and migrates now.
    expect(migrate(locked)).toEqual({ from: 0, to: SCHEMA_VERSION });
    locked.close();
  });

  it('refuses a database written by a newer version, naming both versions', async () => {
    const database = open(freshFile());
    migrate(database);
    database.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    const error = await expectFault(() => migrate(database), 'version_too_new');
    expect(error.message).toContain(`format version ${SCHEMA_VERSION + 1}`);
    expect(error.message).toContain(`up to ${SCHEMA_VERSION}`);
    expect(error.details).toMatchObject({ stored_version: SCHEMA_VERSION + 1, code_version: SCHEMA_VERSION });
    await expectFault(sqliteAdapter({ database }).get('plan', 'p'), 'version_too_new');
    database.close();
  });

  it('an adapter over a database never migrated says so: not_migrated', async () => {
    const database = open(freshFile());
    const error = await expectFault(sqliteAdapter({ database }).get('plan', 'p'), 'not_migrated');
    expect(error.message).toContain('run migrate(database)');
    expect(error.details).toMatchObject({ reason: 'not_migrated', stored_version: 0, code_version: SCHEMA_VERSION });
    database.close();
  });

  it('refuses a file that is not a database at all', async () => {
    const file = freshFile();
    writeFileSync(file, 'this is not a database, just text long enough to fill a header '.repeat(20));
    const database = open(file);
    await expectFault(() => migrate(database), 'not_an_instance_plan_database');
    database.close();
  });
});

describe('the SQLite adapter under a PlanManager', () => {
  it('tells the driver apart by shape', () => {
    const database = open(':memory:');
    migrate(database);
    expect(sqliteAdapter({ database }).driver).toBe('better-sqlite3');
    database.close();
    // The other drivers' shapes (they run for real in .ci/runtimes): Bun's query() and
    // serialize(), node:sqlite's neither (nor better-sqlite3's pragma() with transaction()).
    const base = { exec() {}, prepare() {} };
    const fn = () => {};
    const shapes: [object, string][] = [
      [{ ...base, query: fn, serialize: fn }, 'bun:sqlite'],
      [{ ...base, query: fn }, 'node:sqlite'],
      [{ ...base, serialize: fn }, 'node:sqlite'],
      [{ ...base, pragma: fn }, 'node:sqlite'],
      [{ ...base, transaction: fn }, 'node:sqlite'],
      [{ ...base, pragma: fn, transaction: fn, query: fn, serialize: fn }, 'better-sqlite3'],
      [base, 'node:sqlite'],
    ];
    for (const [handle, driver] of shapes) expect(sqliteAdapter({ database: handle as never }).driver, Object.keys(handle).join()).toBe(driver);
  });

  it('a closed handle is told by what its driver says (open, isOpen, or a transaction flag that throws), before any statement', async () => {
    const statementsRun: string[] = [];
    const base = { exec: (text: string) => void statementsRun.push(text), prepare: (text: string) => (statementsRun.push(text), {}) };
    const closedShapes = [
      { ...base, open: false },
      { ...base, isOpen: false },
      Object.defineProperty({ ...base }, 'inTransaction', { get: () => { throw new Error('database is not open'); } }),
      Object.defineProperty({ ...base }, 'isTransaction', { get: () => { throw new Error('database is not open'); } }),
    ];
    for (const handle of closedShapes) {
      const error = await expectFault(sqliteAdapter({ database: handle as never }).get('plan', 'p'), 'closed');
      expect(error.message).toBe('SQLite get failed: the database handle is closed; open the file again and make a new adapter.');
    }
    expect(statementsRun).toEqual([]);
    // Open by every sign: the adapter goes on to its statements (here, to a fake that answers nothing).
    for (const handle of [{ ...base, open: true }, { ...base, isOpen: true }, { ...base, inTransaction: false }]) {
      statementsRun.length = 0;
      await sqliteAdapter({ database: handle as never }).get('plan', 'p').catch(() => undefined);
      expect(statementsRun[0]).toBe('PRAGMA busy_timeout = 0');
    }
  });

  it('a plan executed step by step survives closing and reopening the file, with its history', async () => {
    const file = freshFile();
    let database = open(file);
    migrate(database);
    const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Durable', steps: [{ title: 'A', type: 'process' }, { title: 'B', type: 'process' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'done' });
    database.close();
    database = open(file);
    const reopened = new PlanManager({ adapter: sqliteAdapter({ database }) });
    const stored = await reopened.getPlan(plan.id);
    expect(stored.steps.map((step) => step.status)).toEqual(['completed', 'pending']);
    expect(replay(await reopened.history(plan.id))).toEqual(stored);
    expect((await reopened.getInstance(instance.id)).current_step).toBe('A');
    database.close();
  });

  it('records it hands out are deeply frozen', async () => {
    const database = open(':memory:');
    migrate(database);
    const adapter = sqliteAdapter({ database });
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    const plan = (await adapter.get('plan', 'plan-1'))!;
    expect(Object.isFrozen(plan) && Object.isFrozen(plan.steps) && Object.isFrozen(plan.steps[0]!.details)).toBe(true);
    database.close();
  });
});

describe('faults: a reason, and nothing partial', () => {
  it('a full database (max_page_count) refuses the commit with reason full and keeps what was there', async () => {
    const database = open(freshFile());
    migrate(database);
    const adapter = sqliteAdapter({ database });
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    const pages = Number((database as unknown as Database.Database).pragma('page_count', { simple: true }));
    database.exec(`PRAGMA max_page_count = ${pages}`);
    const big = planRecord({ id: 'plan-2', description: 'x'.repeat(200_000) });
    await expectFault(adapter.commit(createBatch(['plan', big])), 'full');
    expect(await adapter.get('plan', 'plan-2')).toBeUndefined();
    expect((await adapter.get('plan', 'plan-1'))?.id).toBe('plan-1');
    expect(await adapter.history('plan-2')).toEqual([]);
    database.close();
  });

  it('a database locked by another connection: retried with a pause, then answered busy; nothing written, and the next change lands', async () => {
    const file = freshFile();
    const database = open(file);
    migrate(database);
    const adapter = sqliteAdapter({ database, busyTimeoutMs: 50 });
    const other = open(file);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const error = await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })])), 'busy');
    expect(error.message).toContain('locked by another connection');
    // Waited for the lock about as long as asked (not forever), with the event loop free meanwhile.
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(Date.now() - started).toBeLessThan(5_000);
    other.exec('ROLLBACK');
    expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
    // A lock released while the change waits: the retry lands it.
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('ROLLBACK'), 30);
    await sqliteAdapter({ database, busyTimeoutMs: 2_000 }).commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    expect((await adapter.get('plan', 'plan-1'))?.id).toBe('plan-1');
    other.close();
    database.close();
  });

  it('two handles on one file in one process take turns without freezing each other: every change lands within a short busy timeout', async () => {
    const file = freshFile();
    const first = open(file);
    migrate(first);
    const second = open(file);
    const managers = [first, second].map((database) => new PlanManager({ adapter: sqliteAdapter({ database, busyTimeoutMs: 300 }) }));
    const instance = await managers[0]!.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await managers[0]!.transitionInstance(instance.id, { status: 'running' });
    const plan = await managers[0]!.createPlan({ instance_id: instance.id, title: 'Two handles', ordering: 'free', steps: Array.from({ length: 20 }, (_, i) => ({ title: `step ${i}`, type: 'process' as const })) });
    // A handle waiting inside SQLite for the lock would block the event loop, and with it the
    // transaction it waits for: each wait would run out, and the changes would be answered busy.
    await Promise.all(plan.steps.map((step, i) => managers[i % 2]!.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' })));
    const stored = await managers[1]!.getPlan(plan.id);
    expect(stored.steps.every((step) => step.status === 'in_progress')).toBe(true);
    expect(stored.version).toBe(1 + plan.steps.length);
    first.close();
    second.close();
  });

  it('a read-only file refuses the commit with reason read_only and writes nothing', async () => {
    const file = freshFile();
    const writer = open(file);
    migrate(writer);
    writer.close();
    const database = new Database(file, { readonly: true }) as unknown as SqliteDatabase & { close(): void };
    const adapter = sqliteAdapter({ database });
    await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })])), 'read_only');
    expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
    database.close();
  });

  it('a read-only folder (no room for the -wal and -shm files) refuses with reason read_only, nothing landed, and reads say so too', async () => {
    const dir = mkdtempSync(join(folder, 'read-only-'));
    const file = join(dir, 'plans.db');
    const writer = open(file);
    migrate(writer);
    writer.close();
    // Root writes through a folder's mode bits; the immutable attribute stops root too.
    const root = process.getuid?.() === 0;
    if (root) execFileSync('chattr', ['+i', dir]);
    else chmodSync(dir, 0o555);
    try {
      const database = open(file);
      const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
      const refusal = await manager.createInstance({ organization_id: 'o', agent_type_id: 'a' }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(InstancePlanError);
      expect((refusal as InstancePlanError).details).toEqual({ reason: 'read_only', may_have_landed: false });
      await expect(manager.listInstances({})).rejects.toMatchObject({ code: 'STORAGE_ERROR', details: { reason: 'read_only' } });
      database.close();
    } finally {
      if (root) execFileSync('chattr', ['-i', dir]);
      else chmodSync(dir, 0o755);
    }
    // Nothing was written: the file, writable again, holds no instance.
    const reader = open(file);
    expect((await new PlanManager({ adapter: sqliteAdapter({ database: reader }) }).listInstances({})).total).toBe(0);
    reader.close();
  });

  it('a handle closed mid-run answers closed, and what was committed before is there', async () => {
    const file = freshFile();
    const database = open(file);
    migrate(database);
    const adapter = sqliteAdapter({ database });
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    database.close();
    const closed = await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-2' })])), 'closed');
    expect(closed.message).toBe('SQLite commit failed: the database handle is closed; open the file again and make a new adapter.');
    const read = await expectFault(adapter.get('plan', 'plan-1'), 'closed');
    expect(read.message).toBe('SQLite get failed: the database handle is closed; open the file again and make a new adapter.');
    const again = open(file);
    expect((await sqliteAdapter({ database: again }).get('plan', 'plan-1'))?.id).toBe('plan-1');
    expect(await sqliteAdapter({ database: again }).get('plan', 'plan-2')).toBeUndefined();
    again.close();
  });

  it('a damaged file answers corrupt, and a commit to it writes nothing', async () => {
    const file = freshFile();
    const writer = open(file);
    migrate(writer);
    const adapter = sqliteAdapter({ database: writer });
    for (let i = 0; i < 20; i++) await adapter.commit(createBatch(['plan', planRecord({ id: `plan-${i}`, description: 'x'.repeat(2_000) })]));
    writer.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    writer.exec('PRAGMA journal_mode = DELETE');
    writer.close();
    // Scribble over every page but the first (the header stays, so the file still opens).
    const bytes = readFileSync(file);
    for (let at = 4096; at < bytes.length; at += 97) bytes[at] = 0xa5;
    writeFileSync(file, bytes);
    const database = open(file);
    const damaged = sqliteAdapter({ database });
    await expectFault(damaged.list('plan', { where: {}, limit: 100, offset: 0 }), 'corrupt');
    await expectFault(damaged.commit(createBatch(['plan', planRecord({ id: 'plan-new' })])), 'corrupt');
    database.close();
  });

  it('a store\'s own error text never reaches the answer', async () => {
    const database = open(freshFile());
    database.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    const error = await expectFault(sqliteAdapter({ database }).get('plan', 'p'), 'not_an_instance_plan_database');
    expect(error.message).not.toMatch(/sqlite_master|SQLITE_/);
    database.close();
  });
});

describe('the drivers\' shape', () => {
  it('refuses something that is not a SQLite handle, naming what is wanted', () => {
    for (const options of [null, undefined, 'plans.db']) {
      expect(() => sqliteAdapter(options as never)).toThrow(new TypeError('sqliteAdapter: options must be an object { database }'));
    }
    const wanted = new TypeError('sqliteAdapter: database must be an open SQLite handle (better-sqlite3, node:sqlite or bun:sqlite)');
    for (const database of [undefined, {}, { prepare() {} }, { exec() {} }]) expect(() => sqliteAdapter({ database } as never)).toThrow(wanted);
    expect(() => sqliteAdapter({ database: open(':memory:'), busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs must be a whole number/);
    // 0 is a whole number: no waiting at all for another connection's lock.
    expect(sqliteAdapter({ database: open(':memory:'), busyTimeoutMs: 0 }).driver).toBe('better-sqlite3');
  });
});

describe('malformed calls and keys SQLite cannot hold', () => {
  const fresh = () => {
    const database = open(freshFile());
    migrate(database);
    return sqliteAdapter({ database });
  };

  it('an id that is not a string is a TypeError naming it, on every read', async () => {
    const adapter = fresh();
    await expect(adapter.get('plan', 42 as never)).rejects.toThrow(new TypeError('get: the id must be a string, got number'));
    await expect(adapter.getPlanWithInstance!(null as never)).rejects.toThrow(new TypeError('get: the id must be a string, got object'));
    await expect(adapter.history(7 as never)).rejects.toThrow(new TypeError('history: the record id must be a string, got number'));
  });

  it('a key no stored record can have finds nothing: lists, history', async () => {
    const adapter = fresh();
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    expect(await adapter.list('plan', { where: { instance_id: 'lone \ud800' }, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
    expect(await adapter.history('nul \u0000 id')).toEqual([]);
  });

  it('a lease with a token that is not an integer, or an owner or expiry SQLite cannot key, is refused naming the field; nothing is written', async () => {
    const adapter = fresh();
    const lease = (fields: Record<string, unknown>) => ({ writes: [{ kind: 'lease' as const, record: leaseRecord({ id: 'instance-1', ...fields }), expected_version: null }], events: [] });
    await expect(adapter.commit(lease({ token: 1.5 }))).rejects.toThrow(new TypeError('commit: writes[0].record.token must be an integer'));
    for (const [field, value] of [['owner', 'worker \u0000'], ['expires_at', '2030-01-01T00:00:00.000Z\udc00']] as const) {
      const error = await expectFault(adapter.commit(lease({ [field]: value })), 'unrepresentable');
      expect(error.details).toMatchObject({ field: `writes[0].record.${field}` });
      expect(error.message).toBe(
        `SQLite cannot store writes[0].record.${field} ${JSON.stringify(value)} as a key: a text key cannot hold unpaired surrogates nor U+0000. Nothing was written; use another value.`,
      );
    }
    expect(await adapter.get('lease', 'instance-1')).toBeUndefined();
    // An owner of null (a released lease) is no key at all, and is stored.
    await adapter.commit(lease({ owner: null }));
    expect(await adapter.get('lease', 'instance-1')).toMatchObject({ owner: null, token: 1 });
  });

  it('a record whose id or indexed field SQLite cannot key is refused naming the field; nothing is written', async () => {
    const adapter = fresh();
    for (const [field, record] of [
      ['writes[0].record.id', planRecord({ id: 'plan-\u0000' })],
      ['writes[0].record.instance_id', planRecord({ id: 'plan-2', instance_id: 'instance-\ud800' })],
    ] as const) {
      const error = await expectFault(adapter.commit(createBatch(['plan', record])), 'unrepresentable');
      expect(error.details).toMatchObject({ field });
      expect(error.message).toMatch(new RegExp(`^SQLite cannot store ${field.replace(/[[\].]/g, '\\$&')} `));
    }
    expect(await adapter.list('plan', { where: {}, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
  });

  it('an event whose record id SQLite cannot key is refused naming it', async () => {
    const adapter = fresh();
    const batch = createBatch(['plan', planRecord({ id: 'plan-1' })]);
    const error = await expectFault(adapter.commit({ ...batch, events: [{ ...batch.events[0]!, record_id: 'plan-1\u0000' }] }), 'unrepresentable');
    expect(error.details).toMatchObject({ field: 'events[0].record_id' });
    expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
  });
});

