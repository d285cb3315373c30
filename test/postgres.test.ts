// The PostgreSQL adapter against PGlite: real PostgreSQL compiled to WebAssembly, in process, so
// every run covers it without a server. test/postgres.server.test.ts runs the conformance suite
// and the multi-process races against a real server when DATABASE_URL is set, and checks that
// migrations of different schemas do not wait for each other. Also here: option checks and schema
// quoting, migrate's faults and version reporting, the schema check on first use, fault wording,
// strings text cannot hold (never sent, never matched against their U+FFFD look-alikes), and the
// lease columns.
import { createServer } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, PlanManager, replay, type Plan } from 'instance-plan';
import { type CommitBatch } from 'instance-plan/adapter';
import { migrate, postgresAdapter, SCHEMA_VERSION, type PostgresClient } from 'instance-plan/postgres';
import fc from 'fast-check';
import { adapterConformance, checkInvariants, planManagerCommands, runPlanManagerModel } from 'instance-plan/testing';
import { reasonOf } from '../src/adapters/postgres/faults';
import { runMigrations } from '../src/adapters/postgres/migrate';
import { MIGRATIONS } from '../src/adapters/postgres/schema';
import { createBatch, eventOf, leaseRecord, planRecord, stepRecord, T0, updateOf } from '../src/testing/conformance/fixtures';
import { expectRejection } from './support/core-fixtures';
import { expectFault, pgConformance, pgError, pgFeedConformance, schemaRunner, watched } from './support/pg-harness';

// One database for the file (starting PGlite takes seconds); every test gets a schema of its own.
const db = new PGlite();
afterAll(() => db.close());
const withSchema = schemaRunner(db, 'pglite');

adapterConformance({ ...pgConformance('PostgreSQL adapter (PGlite)', db), describe, it });
// PGlite is one connection: it listens and notifies itself, as a server's connections do each other.
adapterConformance({ ...pgFeedConformance('PostgreSQL adapter with LISTEN/NOTIFY (PGlite)', db, db, async () => ({ listen: db, close: async () => {} })), describe, it });

describe('PlanManager on the PostgreSQL adapter (PGlite)', () => {
  it('agrees with the reference model and keeps every invariant (questions, budgets, restarts and copies included)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 30, size: 'max' }), (commands) =>
        withSchema(async (schema) => {
          const adapter = postgresAdapter({ client: db, schema });
          await runPlanManagerModel(() => new PlanManager({ adapter }), commands, { adapter, open: (store) => new PlanManager({ adapter: store === adapter ? postgresAdapter({ client: db, schema }) : store }) });
          expect(await checkInvariants(adapter)).toEqual([]);
        }),
      ),
      { numRuns: 20 },
    );
  }, 120_000);
});

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
      expect(error.message).toMatch(new RegExp(`to version ${SCHEMA_VERSION + 1} failed, so it stays at its previous version: .*no_such_function`));
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

  it('refuses bad options with a TypeError naming them and the entry point: null options, a missing client, a non-string or malformed schema', async () => {
    expect(() => postgresAdapter({ client: {} as never })).toThrow(/client must have a query\(text, params\) method/);
    expect(() => postgresAdapter({ client: db, schema: 'bad"name' })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => postgresAdapter({ client: db, schema: '' })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => migrate(db, { schema: 'a'.repeat(64) })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => postgresAdapter(undefined as never)).toThrow(/options must be an object/);
    expect(() => postgresAdapter(null as never)).toThrow(/^postgresAdapter: options must be an object/);
    expect(() => postgresAdapter('x' as never)).toThrow(/^postgresAdapter: options must be an object/);
    expect(() => postgresAdapter({} as never)).toThrow(/^postgresAdapter: client must have a query\(text, params\) method/);
    expect(() => postgresAdapter({ client: { query: 'no' } } as never)).toThrow(/client must have a query/);
    // null would pass the pattern as the text "null": the type is checked first.
    expect(() => postgresAdapter({ client: db, schema: null as never })).toThrow(/^postgresAdapter: schema must be a plain SQL identifier.*got null/);
    expect(() => postgresAdapter({ client: db, schema: 7 as never })).toThrow(TypeError);
    expect(() => postgresAdapter({ client: db, schema: '1abc' })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => postgresAdapter({ client: db, schema: 'a-b' })).toThrow(/schema must be a plain SQL identifier/);
    expect(() => migrate(undefined as never)).toThrow(/^migrate: client must have a query/);
    expect(() => migrate(db, { schema: 'bad name' })).toThrow(/^migrate: schema must be a plain SQL identifier/);
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
        // The page is cut in the database straight from the index, rows already in list order: the
        // Limit reads the index scan itself, with no sort of every match beneath it.
        expect(text).toMatch(/Limit[^\n]*\n\s*->\s+Index Scan using plans_by_instance_id/);
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

/** A fake client: the schema check passes (or does what `check` says), every other statement throws `cause`. */
function failing(cause: unknown, check: () => Promise<{ rows: unknown[] }> = async () => ({ rows: [{ version: SCHEMA_VERSION }] })) {
  const calls: string[] = [];
  const client: PostgresClient = {
    async query(text) {
      calls.push(text);
      if (/schema_version/.test(text) && !/commit_batch/.test(text)) return check();
      throw cause;
    },
  };
  return { client, calls };
}


describe('options: the schema name', () => {
  it('the schema defaults to "instance_plan", and a name of 63 characters is accepted', () => {
    expect(postgresAdapter({ client: db }).schema).toBe('instance_plan');
    expect(postgresAdapter({ client: db, schema: `_A${'b'.repeat(61)}` }).schema).toHaveLength(63);
  });

  it('a schema name keeps its case (it is quoted in SQL), through migrate and the adapter', async () => {
    const schema = `MiXed_${process.pid}`;
    await withSchema(
      async () => {
        const names = await db.query<{ schema_name: string }>(`SELECT schema_name FROM information_schema.schemata WHERE lower(schema_name) = lower($1)`, [schema]);
        expect(names.rows.map((row) => row.schema_name)).toEqual([schema]);
        const adapter = postgresAdapter({ client: db, schema });
        const plan = planRecord({ id: 'plan-1' });
        await adapter.commit(createBatch(['plan', plan]));
        expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
        expect(await adapter.list('plan', { where: {}, limit: 5, offset: 0 })).toEqual({ records: [plan], total: 1 });
        expect(await adapter.history('plan-1')).toHaveLength(1);
      },
      { schema },
    );
  });

  it('migrate(client) without options migrates "instance_plan", where postgresAdapter({ client }) finds it; again, it keeps the data', async () => {
    await withSchema(
      async () => {
        expect(await migrate(db)).toEqual({ version: SCHEMA_VERSION });
        const adapter = postgresAdapter({ client: db });
        const plan = planRecord({ id: 'plan-1' });
        await adapter.commit(createBatch(['plan', plan]));
        expect(await migrate(db)).toEqual({ version: SCHEMA_VERSION });
        expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      },
      { migrated: false, schema: 'instance_plan' },
    );
  });
});


describe('migrate: newer schemas and faults', () => {
  it('a schema migrated by newer code is refused by migrate with both versions, and left as it was', async () => {
    await withSchema(async (schema) => {
      await db.query(`UPDATE "${schema}".schema_version SET version = ${SCHEMA_VERSION + 3}`);
      const error = await expectFault(migrate(db, { schema }), 'version_too_new');
      expect(error.details).toMatchObject({ schema, stored_version: SCHEMA_VERSION + 3, code_version: SCHEMA_VERSION });
      expect(error.message).toContain(`version ${SCHEMA_VERSION + 3}`);
      expect((await db.query(`SELECT version FROM "${schema}".schema_version`)).rows).toEqual([{ version: SCHEMA_VERSION + 3 }]);
    });
  });

  it('a "newer schema" error without readable versions is still version_too_new, not a crash', async () => {
    const error = await expectFault(migrate(failing(pgError('IP426')).client), 'version_too_new');
    expect(error.details).toMatchObject({ schema: 'instance_plan', code_version: SCHEMA_VERSION });
    expect(error.details.stored_version ?? null).toBeNull();
    expect(error.message).toContain('PostgreSQL schema "instance_plan" is at version (unknown)');
    expect(error.message).toContain('a newer version of instance-plan has migrated it. Update this code');
  });

  it('faults of the database keep their reason, naming migrate and the schema; any other failure is upgrade_failed', async () => {
    for (const [cause, reason] of [
      [pgError('40001', 'could not serialize access'), 'serialization'],
      [pgError('ECONNREFUSED', 'connect ECONNREFUSED'), 'connection'],
      [pgError('25006', 'read-only transaction'), 'read_only'],
      [pgError('57014', 'canceling statement'), 'canceled'],
    ] as const) {
      const error = await expectFault(migrate(failing(cause).client, { schema: 'some_schema' }), reason);
      expect(error.cause).toBe(cause);
      expect(error.message).toMatch(/migrate/);
      expect(error.message).toContain('some_schema');
      expect(error.message).toContain(cause.message);
    }
    const broken = pgError('XX000', 'internal error in a migration');
    const failed = await expectFault(migrate(failing(broken).client, { schema: 'some_schema' }), 'upgrade_failed');
    expect(failed.cause).toBe(broken);
    expect(failed.details).toMatchObject({ schema: 'some_schema', code_version: SCHEMA_VERSION });
    expect(failed.message).toContain('internal error in a migration');
    expect(failed.message).toContain('some_schema');
    // Something that is not an Error: its text still reaches the message.
    const odd = await expectFault(migrate(failing('the disk said no').client), 'upgrade_failed');
    expect(odd.message).toContain('the disk said no');
    // A driver rejecting with nothing at all is still STORAGE_ERROR, not a TypeError of ours.
    for (const nothing of [null, undefined]) {
      const empty = await expectFault(migrate(failing(nothing).client), 'upgrade_failed');
      expect(empty.message).toContain(String(nothing));
    }
  });
});


describe('the schema check on first use', () => {
  it('a database never migrated, under the default schema, says to run migrate(client) without options', async () => {
    const error = await expectFault(postgresAdapter({ client: failing(pgError('XX000'), async () => Promise.reject(pgError('3F000'))).client }).get('plan', 'p'), 'not_migrated');
    expect(error.message).toContain('run migrate(client) from instance-plan/postgres');
    expect(error.details).toMatchObject({ schema: 'instance_plan', stored_version: 0, code_version: SCHEMA_VERSION });
  });

  it('a schema that exists without our tables, or whose schema_version is empty, is at version 0: not_migrated', async () => {
    await withSchema(
      async (schema) => {
        await db.query(`CREATE SCHEMA "${schema}"`);
        const error = await expectFault(postgresAdapter({ client: db, schema }).list('plan', { where: {}, limit: 1, offset: 0 }), 'not_migrated');
        expect(error.details).toMatchObject({ schema, stored_version: 0, code_version: SCHEMA_VERSION });
        expect(error.message).toContain(`PostgreSQL schema "${schema}" is at version 0, and this code needs version ${SCHEMA_VERSION}`);
        expect(error.message).toContain(`run migrate(client, { schema: "${schema}" })`);
      },
      { migrated: false },
    );
    const empty = failing(pgError('XX000'), async () => ({ rows: [] }));
    const error = await expectFault(postgresAdapter({ client: empty.client }).history('plan-1'), 'not_migrated');
    expect(error.details).toMatchObject({ stored_version: 0 });
    expect(empty.calls).toHaveLength(1); // the statement itself was never sent
  });

  it('a fault during the check keeps its own reason, and the next call checks again', async () => {
    let checks = 0;
    const { client, calls } = failing(pgError('XX000'), async () => {
      checks++;
      if (checks === 1) throw pgError('40001', 'could not serialize access');
      return { rows: [{ version: SCHEMA_VERSION }] };
    });
    const adapter = postgresAdapter({ client });
    await expectFault(adapter.get('plan', 'plan-1'), 'serialization');
    await expectFault(adapter.get('plan', 'plan-1'), 'failed'); // checked again, then the read itself failed
    await expectFault(adapter.get('plan', 'plan-1'), 'failed');
    expect(checks).toBe(2); // a passed check is remembered
    expect(calls.filter((text) => !/schema_version/.test(text))).toHaveLength(2);
  });

  it('calls made at once before the first check share one check', async () => {
    await withSchema(async (schema) => {
      const { client, calls } = watched(db);
      const adapter = postgresAdapter({ client, schema });
      await Promise.all([adapter.get('plan', 'a'), adapter.history('a'), adapter.list('plan', { where: {}, limit: 1, offset: 0 })]);
      expect(calls.filter((call) => /schema_version/.test(call.text))).toHaveLength(1);
      expect(calls).toHaveLength(4);
    });
  });
});


describe('faults: what a STORAGE_ERROR says', () => {
  it('a failed statement names its operation, and the driver\'s code and message, in the STORAGE_ERROR', async () => {
    const cause = pgError('53100', 'could not extend file');
    const operations: [string, (adapter: ReturnType<typeof postgresAdapter>) => Promise<unknown>][] = [
      ['get', (adapter) => adapter.get('plan', 'plan-1')],
      ['list', (adapter) => adapter.list('plan', { where: {}, limit: 1, offset: 0 })],
      ['commit', (adapter) => adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]))],
      ['history', (adapter) => adapter.history('plan-1')],
    ];
    for (const [operation, call] of operations) {
      const error = await expectFault(call(postgresAdapter({ client: failing(cause).client })), 'insufficient_resources');
      expect(error.message).toMatch(new RegExp(`\\b${operation}\\b`));
      expect(error.message).toMatch(/53100\W+could not extend file/);
      expect(error.details.driver_code).toBe('53100');
      expect(error.cause).toBe(cause);
    }
  });

  it('a rejection that is not an Error (a string, undefined, null) is still a STORAGE_ERROR with what it said', async () => {
    const said = await expectFault(postgresAdapter({ client: failing('socket hung up badly').client }).get('plan', 'p'), 'failed');
    expect(said.message).toContain('socket hung up badly');
    expect(said.details.driver_code).toBeUndefined();
    for (const nothing of [undefined, null]) {
      const error = await expectFault(postgresAdapter({ client: failing(nothing).client }).get('plan', 'p'), 'failed');
      expect(error.cause).toBe(nothing);
      expect(error.details.driver_code).toBeUndefined();
    }
  });

  it('an IP409 error without the function\'s detail is a STORAGE_ERROR, not a CONFLICT or a crash', async () => {
    const cause = pgError('IP409', 'version conflict');
    const error = await expectFault(postgresAdapter({ client: failing(cause).client }).commit(createBatch(['plan', planRecord({ id: 'plan-1' })])), 'failed');
    expect(error.cause).toBe(cause);
    // Only the function's own IP409 carries a conflict: another error's detail is not read as one.
    const unique = pgError('23505', 'duplicate key value violates unique constraint', { detail: 'Key (id)=(plan-1) already exists.' });
    const other = await expectFault(postgresAdapter({ client: failing(unique).client }).commit(createBatch(['plan', planRecord({ id: 'plan-1' })])), 'failed');
    expect(other.cause).toBe(unique);
  });
});


describe('strings text cannot hold: reads, checks and key columns send nothing', () => {
  it('reads and filters with them send nothing and never match the U+FFFD a driver would turn them into', async () => {
    await withSchema(async (schema) => {
      const lookalike = planRecord({ id: 'plan-\ufffd', site_id: 'site-\ufffd', status: 'pending' });
      await postgresAdapter({ client: db, schema }).commit(createBatch(['plan', lookalike]));
      const { client, calls } = watched(db);
      const adapter = postgresAdapter({ client, schema });
      await adapter.get('plan', 'warm-up');
      calls.length = 0;
      expect(await adapter.get('plan', 'plan-\ud800')).toBeUndefined();
      expect(await adapter.get('plan', 'plan-\udfff')).toBeUndefined();
      expect(await adapter.history('plan-\ud800')).toEqual([]);
      expect(await adapter.history('plan-\udc00')).toEqual([]);
      // One good filter and one that cannot be stored: nothing matches.
      expect(await adapter.list('plan', { where: { status: 'pending', site_id: 'site-\udc00' }, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
      expect(await adapter.list('plan', { where: { site_id: 'site-\ud800', status: 'pending' }, limit: 10, offset: 0 })).toEqual({ records: [], total: 0 });
      expect(calls).toEqual([]);
      // A surrogate pair is representable: it is looked up.
      expect(await adapter.get('plan', 'plan-😀')).toBeUndefined();
      expect(calls).toHaveLength(1);
    });
  });

  it('a check of such an id holds exactly when it expects no record, even beside a U+FFFD look-alike', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      await adapter.commit({ writes: [{ kind: 'lease', record: leaseRecord({ id: 'instance-\ufffd' }), expected_version: null }], events: [] });
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit({ ...createBatch(['plan', plan]), checks: [{ kind: 'lease', id: 'instance-\ud800', expected_version: null }] });
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      const next = updateOf('plan', plan, { title: 'changed' });
      const error = await expectRejection(adapter.commit({ ...next.batch, checks: [{ kind: 'lease', id: 'instance-\ud800', expected_version: 1 }] }), 'CONFLICT');
      expect(error.details).toMatchObject({ kind: 'lease', id: 'instance-\ud800', expected_version: 1, actual_version: null });
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
    });
  });

  it('a lease owner or an event record_id text cannot hold is refused as unrepresentable, naming it, and nothing is sent', async () => {
    const { client, calls } = watched(db);
    const adapter = postgresAdapter({ client });
    const lease = await expectFault(
      adapter.commit({ writes: [{ kind: 'lease', record: leaseRecord({ id: 'instance-1', owner: 'worker\u0000' }), expected_version: null }], events: [] }),
      'unrepresentable',
    );
    expect(lease.message).toContain('writes[0].record.owner');
    expect(lease.details.field).toBe('writes[0].record.owner');
    const plan = planRecord({ id: 'plan-1' });
    const event = await expectFault(adapter.commit({ writes: [], events: [{ ...eventOf('plan', plan, null), record_id: 'plan-\udc00' }] }), 'unrepresentable');
    expect(event.message).toContain('events[0].record_id');
    expect(event.details.field).toBe('events[0].record_id');
    const expires = await expectFault(
      adapter.commit({ writes: [{ kind: 'lease', record: leaseRecord({ id: 'instance-1', expires_at: '\ud800' }), expected_version: null }], events: [] }),
      'unrepresentable',
    );
    expect(expires.message).toContain('writes[0].record.expires_at');
    // a record's id and its list filter fields are key columns too
    const badId = await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-\u0000' })])), 'unrepresentable');
    expect(badId.details.field).toBe('writes[0].record.id');
    const badSite = await expectFault(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-2', site_id: 'site-\ud800' })])), 'unrepresentable');
    expect(badSite.details.field).toBe('writes[0].record.site_id');
    expect(calls).toEqual([]);
  });
});


describe('commit batches: lease columns, and a check of a record the same batch writes', () => {
  it('refuses a malformed lease column with a TypeError naming it, before anything is sent', async () => {
    const { client, calls } = watched(db);
    const adapter = postgresAdapter({ client });
    const good = createBatch(['plan', planRecord({ id: 'plan-1' })]);
    const write = good.writes[0]!;
    const lease = { kind: 'lease' as const, record: leaseRecord({ id: 'instance-1' }), expected_version: null };
    // The generic shape checks (checkBatch) are the conformance suite's "malformed batches";
    // these are the parts only PostgreSQL's columns need.
    const bad: [unknown, RegExp][] = [
      [{ writes: [{ ...lease, record: { ...lease.record, token: '1' } }], events: [] }, /writes\[0\]\.record\.token must be an integer/],
      [{ writes: [{ ...lease, record: { ...lease.record, owner: 5 } }], events: [] }, /writes\[0\]\.record\.owner must be a string/],
      [{ writes: [{ ...lease, record: { ...lease.record, expires_at: null } }], events: [] }, /writes\[0\]\.record\.expires_at must be a string/],
    ];
    for (const [batch, message] of bad) {
      await expect(adapter.commit(batch as CommitBatch), JSON.stringify(batch)).rejects.toThrow(message);
      await expect(adapter.commit(batch as CommitBatch)).rejects.toBeInstanceOf(TypeError);
    }
    expect(calls).toEqual([]);
  });

  it('a batch that checks a record and writes it, both against the version before the batch, lands', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      const lease = leaseRecord({ id: 'instance-1' });
      await adapter.commit({ writes: [{ kind: 'lease', record: lease, expected_version: null }], events: [] });
      const renewed = { ...lease, expires_at: '2030-01-01T00:00:00.000Z', version: 2 };
      await adapter.commit({ writes: [{ kind: 'lease', record: renewed, expected_version: 1 }], events: [], checks: [{ kind: 'lease', id: 'instance-1', expected_version: 1 }] });
      expect(await adapter.get('lease', 'instance-1')).toEqual(renewed);
    });
  });

  it('the leases table holds owner, token and expires_at as columns (null owner once released)', async () => {
    await withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema });
      const lease = leaseRecord({ id: 'instance-1', owner: 'worker-x', token: 7, expires_at: '2025-03-01T09:05:00.000Z' });
      await adapter.commit({ writes: [{ kind: 'lease', record: lease, expected_version: null }], events: [] });
      const columns = () => db.query(`SELECT id, owner, token::text AS token, expires_at, version::text AS version FROM "${schema}".leases`);
      expect((await columns()).rows).toEqual([{ id: 'instance-1', owner: 'worker-x', token: '7', expires_at: '2025-03-01T09:05:00.000Z', version: '1' }]);
      const released = { ...lease, owner: null, version: 2 };
      await adapter.commit({ writes: [{ kind: 'lease', record: released, expected_version: 1 }], events: [] });
      expect((await columns()).rows).toEqual([{ id: 'instance-1', owner: null, token: '7', expires_at: '2025-03-01T09:05:00.000Z', version: '2' }]);
      expect(await adapter.get('lease', 'instance-1')).toEqual(released);
    });
  });
});


describe('reads refuse malformed calls', () => {
  it('get and history refuse a non-string id with a TypeError; get names leases among its kinds, and nothing is sent', async () => {
    const { client, calls } = watched(db);
    const adapter = postgresAdapter({ client });
    await expect(adapter.get('plan', 5 as never)).rejects.toThrow(/get: the id must be a string, got number/);
    await expect(adapter.history(undefined as never)).rejects.toThrow(/history: the record id must be a string, got undefined/);
    await expect(adapter.get('user' as never, 'x')).rejects.toThrow(/the kind must be "instance" or "plan" \(records\) or "lease", got "user"/);
    await expect(adapter.get('__proto__' as never, 'x')).rejects.toThrow(TypeError);
    await expect(adapter.list('toString' as never, { where: {}, limit: 1, offset: 0 })).rejects.toThrow(/the kind must be "instance" or "plan", got "toString"/);
    expect(calls).toEqual([]);
  });
});

describe('the change feed (LISTEN/NOTIFY) under what can go wrong', () => {
  const heardBy = async (adapter: ReturnType<typeof postgresAdapter>) => {
    await adapter.listening;
    const heard: { records: { id: string }[] }[] = [];
    adapter.subscribe!((change) => heard.push(change));
    return heard;
  };
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it('a batch of many records, too large for one notification, commits and is heard whole (the announcement in pieces)', () =>
    withSchema(async (schema) => {
      const writer = postgresAdapter({ client: db, schema, listen: db });
      const other = postgresAdapter({ client: db, schema, listen: db });
      const heard = await heardBy(other);
      // 150 plans with long ids: the ids alone are more than a notification may carry.
      const plans = Array.from({ length: 150 }, (_, i) => planRecord({ id: `plan-${'x'.repeat(80)}-${i}` }));
      await writer.commit(createBatch(...plans.map((plan) => ['plan', plan] as ['plan', Plan])));
      await until(() => heard.length > 0);
      expect(heard.map((change) => change.records.length)).toEqual([150]);
      expect(heard[0]!.records.map((record) => record.id)).toEqual(plans.map((plan) => plan.id));
    }));

  it('a payload on the channel that is not ours is ignored: nothing heard of it, nothing crashes, and the next commit is heard', () =>
    withSchema(async (schema) => {
      const adapter = postgresAdapter({ client: db, schema, listen: db });
      const heard = await heardBy(adapter);
      const channel = `ip_changes_${schema}`;
      for (const payload of ['not json', '{"s":"x"}', JSON.stringify({ s: schema, o: 'forged', n: 1, r: [['instance', 'i', 1]], e: 5 }), JSON.stringify({ s: schema, o: 'forged', n: 2, i: 1, of: 2, c: 'x' })]) {
        await db.query('SELECT pg_notify($1, $2)', [channel, payload]);
      }
      await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-real' })]));
      await until(() => heard.length > 0);
      expect(heard.map((change) => change.records.map((record) => record.id))).toEqual([['plan-real']]);
    }));

  it('a commit whose answer was lost after it committed is still heard by its own process, once', () =>
    withSchema(async (schema) => {
      // The statement runs and commits; the client then reports the connection lost.
      const lossy: PostgresClient = {
        async query(text, params) {
          const result = await db.query(text, params);
          if (text.includes('commit_batch')) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
          return result as { rows: unknown[] };
        },
      };
      const adapter = postgresAdapter({ client: lossy, schema, listen: db });
      const heard = await heardBy(adapter);
      await expectRejection(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-landed' })])), 'STORAGE_ERROR');
      await until(() => heard.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(heard.map((change) => change.records.map((record) => record.id))).toEqual([['plan-landed']]);
    }));
});
