// The PostgreSQL adapter against PGlite: real PostgreSQL compiled to WebAssembly, in process, so
// every run covers it without a server. test/postgres.server.test.ts runs the conformance suite
// and the multi-process races against a real server when DATABASE_URL is set.
import { createServer } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, PlanManager, replay, type Plan } from 'instance-plan';
import { migrate, postgresAdapter, SCHEMA_VERSION, type PostgresClient } from 'instance-plan/postgres';
import { adapterConformance, checkInvariants } from 'instance-plan/testing';
import { reasonOf } from '../src/adapters/postgres/faults';
import { runMigrations } from '../src/adapters/postgres/migrate';
import { MIGRATIONS } from '../src/adapters/postgres/schema';
import { createBatch, planRecord, stepRecord, T0, updateOf } from '../src/testing/conformance/fixtures';
import { expectFault, pgConformance, schemaRunner, watched } from './support/pg-harness';

// One database for the file (starting PGlite takes seconds); every test gets a schema of its own.
const db = new PGlite();
afterAll(() => db.close());
const withSchema = schemaRunner(db, 'pglite');

adapterConformance({ ...pgConformance('PostgreSQL adapter (PGlite)', db), describe, it });

describe('migrate', () => {
  it('creates the tables, an index per list filter and the commit function; running it again changes nothing', async () => {
    await withSchema(async (schema) => {
      expect(await migrate(db, { schema })).toEqual({ version: SCHEMA_VERSION });
      const tables = await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]);
      expect(tables.rows.map((row) => row.table_name)).toEqual(['events', 'instances', 'leases', 'plans', 'schema_version']);
      const indexes = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`, [schema]);
      const names = indexes.rows.map((row) => row.indexname);
      for (const field of ['organization_id', 'status', 'agent_type_id', 'task_id']) expect(names).toContain(`instances_by_${field}`);
      for (const field of ['instance_id', 'status', 'plan_type', 'site_id', 'user_id', 'agent_id']) expect(names).toContain(`plans_by_${field}`);
      expect(names).toEqual(expect.arrayContaining(['instances_newest', 'plans_newest', 'events_by_record']));
      const version = await db.query<{ version: number }>(`SELECT version FROM "${schema}".schema_version`);
      expect(version.rows).toEqual([{ version: SCHEMA_VERSION }]);
    });
  });

  it('several migrations at once leave one schema at the current version', async () => {
    await withSchema(
      async (schema) => {
        const results = await Promise.all([migrate(db, { schema }), migrate(db, { schema }), migrate(db, { schema })]);
        expect(results).toEqual([{ version: SCHEMA_VERSION }, { version: SCHEMA_VERSION }, { version: SCHEMA_VERSION }]);
        const version = await db.query(`SELECT version FROM "${schema}".schema_version`);
        expect(version.rows).toHaveLength(1);
      },
      { migrated: false },
    );
  });

  it('upgrades a schema along added migrations, keeping its data', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      const addTitleIndex = (s: string) => `CREATE INDEX plans_by_title ON ${s}.plans ((record->>'title'));`;
      expect(await runMigrations(db, schema, [...MIGRATIONS, addTitleIndex])).toEqual({ version: SCHEMA_VERSION + 1 });
      const indexes = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [schema]);
      expect(indexes.rows.map((row) => row.indexname)).toContain('plans_by_title');
      // This code now meets a newer schema: the adapter refuses it, and migrate leaves it alone.
      const error = await expectFault(postgresAdapter({ client: db, schema }).get('plan', 'plan-1'), 'version_too_new');
      expect(error.details).toMatchObject({ schema, stored_version: SCHEMA_VERSION + 1, code_version: SCHEMA_VERSION });
      await expectFault(migrate(db, { schema }), 'version_too_new');
      expect((await db.query(`SELECT version FROM "${schema}".schema_version`)).rows).toEqual([{ version: SCHEMA_VERSION + 1 }]);
    });
  });

  it('a failing migration leaves the schema as it was (one transaction)', async () => {
    await withSchema(async (schema) => {
      const broken = (s: string) => `CREATE TABLE ${s}.extra (a int); SELECT no_such_function();`;
      const error = await expectFault(runMigrations(db, schema, [...MIGRATIONS, broken]), 'upgrade_failed');
      expect(error.message).toMatch(/to version 2 failed, so it stays at its previous version: .*no_such_function/);
      const tables = await db.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'extra'`, [schema]);
      expect(tables.rows).toEqual([]);
      expect((await db.query(`SELECT version FROM "${schema}".schema_version`)).rows).toEqual([{ version: SCHEMA_VERSION }]);
    });
  });

  it('an adapter on a schema never migrated says to run migrate, and works once it has run', async () => {
    await withSchema(
      async (schema) => {
        const adapter = postgresAdapter({ client: db, schema });
        const error = await expectFault(adapter.get('plan', 'plan-1'), 'not_migrated');
        expect(error.message).toContain(`run migrate(client, { schema: "${schema}" })`);
        expect(error.details).toMatchObject({ stored_version: 0, code_version: SCHEMA_VERSION });
        await migrate(db, { schema });
        expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
      },
      { migrated: false },
    );
  });

  it('refuses bad options with a TypeError naming them', async () => {
    expect(() => postgresAdapter({ client: {} as never })).toThrow(/client must have a query\(text, params\) method/);
    expect(() => postgresAdapter({ client: db, schema: 'bad"name' })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => postgresAdapter({ client: db, schema: '' })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => migrate(db, { schema: 'a'.repeat(64) })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => postgresAdapter(undefined as never)).toThrow(/options must be an object/);
  });
});

describe('lists page in the database', () => {
  it('every list is one statement, answered with the page alone (never every match), in index order', async () => {
    await withSchema(async (schema) => {
      const seed = postgresAdapter({ client: db, schema });
      const plans = Array.from({ length: 60 }, (_, i) =>
        planRecord({ id: `plan-${String(i).padStart(2, '0')}`, instance_id: i % 2 ? 'instance-odd' : 'instance-even', created_at: new Date(Date.parse(T0) + (i % 7) * 1000).toISOString() }),
      );
      for (let i = 0; i < plans.length; i += 20) await seed.commit(createBatch(...plans.slice(i, i + 20).map((plan) => ['plan', plan] as ['plan', Plan])));
      const { client, calls } = watched(db);
      const adapter = postgresAdapter({ client, schema });
      await adapter.get('plan', 'warm-up'); // the schema check happens once, on first use
      calls.length = 0;
      const page = await adapter.list('plan', { where: { instance_id: 'instance-odd' }, limit: 7, offset: 10 });
      const odd = plans.filter((plan) => plan.instance_id === 'instance-odd').sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? 1 : -1));
      expect(page).toEqual({ records: odd.slice(10, 17), total: 30 });
      expect(calls).toHaveLength(1);
      expect(calls[0]!.rows).toBe(7);
      expect(calls[0]!.text).toMatch(/ORDER BY created_key DESC, id_key LIMIT \$2 OFFSET \$3/);
      const empty = await adapter.list('plan', { where: { instance_id: 'instance-odd' }, limit: 5, offset: 30 });
      expect(empty).toEqual({ records: [], total: 30 });
      expect(calls[1]!.rows).toBe(1); // the count alone
      // The filter's index hands rows over in list order: no sort of the matches.
      await db.exec('SET enable_seqscan = off');
      try {
        const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${calls[0]!.text}`, calls[0]!.params as unknown[]);
        const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
        expect(text).toMatch(/Index Scan using plans_by_instance_id/);
        expect(text).toMatch(/Limit/);
      } finally {
        await db.exec('RESET enable_seqscan');
      }
    });
  });

  it('orders by UTF-16 code units, as the contract and the other adapters do, not by code points', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      // By code points U+FFFF sorts before U+1F600; by UTF-16 code units 0xD83D sorts before 0xFFFF.
      const ids = ['\uffff', '😀', 'z', '\ud7ff'];
      await adapter.commit(createBatch(...ids.map((id) => ['plan', planRecord({ id })] as ['plan', Plan])));
      const page = await adapter.list('plan', { where: {}, limit: 10, offset: 0 });
      expect(page.records.map((plan) => plan.id)).toEqual(['z', '\ud7ff', '😀', '\uffff']);
    });
  });
});

describe('strings PostgreSQL text cannot hold', () => {
  it('keys with U+0000 or an unpaired surrogate are refused with STORAGE_ERROR "unrepresentable", and nothing is written', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      const good = planRecord({ id: 'plan-1' });
      for (const [what, bad] of [
        ['an id with U+0000', planRecord({ id: 'plan\u0000x' })],
        ['an id with a lone surrogate', planRecord({ id: 'plan\ud800' })],
        ['a filter field with a lone surrogate', planRecord({ id: 'plan-2', site_id: 'site\udc00' })],
      ] as const) {
        const error = await expectFault(adapter.commit(createBatch(['plan', good], ['plan', bad])), 'unrepresentable');
        expect(error.message, what).toMatch(/cannot hold U\+0000 nor unpaired surrogates/);
      }
      expect(await adapter.list('plan', { where: {}, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
      // Never stored, so never found: reads answer as for any unknown id, without a query.
      expect(await adapter.get('plan', 'plan\u0000x')).toBeUndefined();
      expect(await adapter.history('plan\ud800')).toEqual([]);
      expect(await adapter.list('plan', { where: { site_id: 'site\udc00' }, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
    });
  });

  it('inside a record (titles, outputs, details) every string round-trips exactly, U+0000 and lone surrogates included', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      const odd = 'nul \u0000 lone \ud800 and \udfff, pair 😀, \u2028 \\ "';
      const plan = planRecord({ id: 'plan-1', title: odd, steps: [stepRecord({ id: 'step-1', output: odd, details: { [odd]: [odd, { odd }] } })] });
      const batch = createBatch(['plan', plan]);
      await adapter.commit(batch);
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      expect(await adapter.history('plan-1')).toEqual(batch.events);
      const next = updateOf('plan', plan, { summary: odd });
      await adapter.commit(next.batch);
      expect((await adapter.list('plan', { where: { instance_id: plan.instance_id }, limit: 1, offset: 0 })).records).toEqual([next.record]);
    });
  });
});

describe('faults', () => {
  it('driver errors become STORAGE_ERROR with the reason, the driver\'s code and the cause', async () => {
    const cases: [unknown, string][] = [
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'connection'],
      [new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })], 'all failed'), 'connection'],
      [new Error('Connection terminated unexpectedly'), 'connection'],
      [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), 'connection'],
      [Object.assign(new Error('could not serialize access'), { code: '40001' }), 'serialization'],
      [Object.assign(new Error('deadlock detected'), { code: '40P01' }), 'deadlock'],
      [Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }), 'canceled'],
      [Object.assign(new Error('could not extend file'), { code: '53100' }), 'insufficient_resources'],
      [Object.assign(new Error('cannot execute UPDATE in a read-only transaction'), { code: '25006' }), 'read_only'],
      [Object.assign(new Error('something else'), { code: 'XX000' }), 'failed'],
    ];
    for (const [cause, reason] of cases) {
      expect(reasonOf(cause)).toBe(reason);
      let calls = 0;
      // The schema check passes, then the statement fails.
      const client: PostgresClient = {
        async query() {
          if (calls++ === 0) return { rows: [{ version: SCHEMA_VERSION }] };
          throw cause;
        },
      };
      const error = await expectFault(postgresAdapter({ client }).commit(createBatch(['plan', planRecord({ id: 'plan-1' })])), reason);
      expect(error.cause).toBe(cause);
      expect(error.message).toContain((cause as Error).message);
    }
  });

  it('a pg Pool that cannot connect (nothing listens on the port) is a "connection" fault with the socket error as cause', async () => {
    // A port that was free a moment ago: asked of the kernel, then closed again.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'nobody', database: 'nothing', connectionTimeoutMillis: 5_000 });
    try {
      const error = await expectFault(postgresAdapter({ client: pool }).get('plan', 'plan-1'), 'connection');
      expect(error.details.driver_code).toBe('ECONNREFUSED');
      expect(error.message).toMatch(/could not be reached/);
    } finally {
      await pool.end();
    }
  });

  it('a closed database is a "connection" fault, for reads and commits alike', async () => {
    const closed = new PGlite();
    await migrate(closed);
    const adapter = postgresAdapter({ client: closed });
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    await closed.close();
    await expectFault(adapter.get('plan', 'plan-1'), 'connection');
    await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-2' })])), 'connection');
  });

  it('a malformed batch is a TypeError before anything is sent', async () => {
    const { client, calls } = watched(db);
    const adapter = postgresAdapter({ client });
    const good = createBatch(['plan', planRecord({ id: 'plan-1' })]);
    // Every malformed part is the conformance suite's "malformed batches"; here: none reaches the server.
    const bad: [unknown, RegExp][] = [
      [{ writes: 'no' }, /commit: a batch/],
      [{ ...good, writes: [good.writes[0]!, good.writes[0]!] }, /writes plan "plan-1" twice/],
      [{ ...good, checks: [{ kind: 'lease', id: 7, expected_version: 1 }] }, /checks\[0\]\.id must be a string/],
    ];
    for (const [batch, message] of bad) await expect(adapter.commit(batch as never)).rejects.toThrow(message);
    await expect(adapter.list('plan', { where: { title: 'x' } as never, limit: 1, offset: 0 })).rejects.toThrow(/cannot be filtered by "title"/);
    await expect(adapter.list('plan', { where: {}, limit: -1, offset: 0 })).rejects.toThrow(/limit must be a whole number/);
    await expect(adapter.get('user' as never, 'x')).rejects.toThrow(/kind must be/);
    await expect(adapter.list('lease' as never, { where: {}, limit: 1, offset: 0 })).rejects.toThrow(/kind must be "instance" or "plan", got "lease"/);
    expect(calls).toEqual([]);
  });
});

describe('a PlanManager on PostgreSQL', () => {
  it('runs a plan to completion under a lease, keeping every invariant and a history that replays to the plan', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      const manager = new PlanManager({ adapter });
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
      await manager.transitionInstance(instance.id, { status: 'running' });
      const worker = manager.withLease(await manager.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 }));
      const plan = await worker.createPlan({ instance_id: instance.id, title: 'Ship it', steps: [{ title: 'Build', type: 'process' }, { title: 'Test', type: 'review' }] });
      for (const step of plan.steps) {
        await worker.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
        await worker.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'completed', step_output: `${step.title}: done` });
      }
      const done = await worker.updatePlan({ plan_id: plan.id, status: 'completed', summary: 'Built and tested.' });
      await worker.releaseLease(worker.lease!);
      expect(replay(await manager.history(plan.id))).toEqual(done);
      expect((await manager.getInstance(instance.id)).current_step).toBe('Test');
      expect(await checkInvariants(adapter)).toEqual([]);
      expect((await manager.listPlans({ instance_id: instance.id, status: 'completed' })).plans).toEqual([done]);
    });
  });
});
