// The records' shape 2 on the SQL stores: their migrations bring an instance written in shape 1
// forward (status_reason, max_turns, max_tokens, null), in its row, its creation event and its
// snapshots, whatever text it holds: \u0000 and lone surrogates, which PostgreSQL's json
// functions refuse to read, stay exactly as they were, and so does every plan event. (What
// 0.1.0 wrote is opened in test/stored-formats.test.ts.)
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { replay, type HistoryEvent, type Instance } from 'instance-plan';
import type { CommitBatch } from 'instance-plan/adapter';
import { migrate as migratePostgres, postgresAdapter } from 'instance-plan/postgres';
import { migrate as migrateSqlite, sqliteAdapter, type SqliteDatabase } from 'instance-plan/sqlite';
import { commitParams, commitStatement, prepareCommit } from '../src/adapters/postgres/commit';
import { runMigrations } from '../src/adapters/postgres/migrate';
import { MIGRATIONS as PG_MIGRATIONS } from '../src/adapters/postgres/schema';
import { APPLICATION_ID, MIGRATIONS as SQLITE_MIGRATIONS } from '../src/adapters/sqlite/schema';
import { codeUnitKey } from '../src/adapters/text-keys';
import { at, instanceRecord, planRecord, stepRecord } from '../src/testing/conformance/fixtures';
import { schemaRunner } from './support/pg-harness';

const ODD = 'a\u0000b \ud800 c "value":{ "snapshot":{ "version":1} end';

/** An instance of shape 1 (0.1.0's), its history with a snapshot, and a plan whose event holds the odd text too. */
function shape1Store() {
  const { status_reason: _r, max_turns: _t, max_tokens: _k, ...first } = instanceRecord({ id: 'instance-1', current_step: ODD });
  const second = { ...first, current_step: `${ODD} again`, updated_at: at(1), version: 2 };
  const events: HistoryEvent[] = [
    { seq: 1, record_id: 'instance-1', record_kind: 'instance', at: first.created_at, type: 'instance.created', from: null, to: 'running', changes: [{ op: 'replace', path: [], value: first }] },
    {
      seq: 2,
      record_id: 'instance-1',
      record_kind: 'instance',
      at: at(1),
      type: 'instance.current_step_set',
      from: 'running',
      to: 'running',
      changes: [{ op: 'replace', path: ['current_step'], value: second.current_step }],
      snapshot: second as unknown as Instance,
    },
  ];
  const plan = planRecord({ id: 'plan-1', instance_id: 'instance-1', steps: [stepRecord({ id: 'step-1', output: ODD })] });
  const planEvent: HistoryEvent = { seq: 1, record_id: 'plan-1', record_kind: 'plan', at: plan.created_at, type: 'plan.created', from: null, to: plan.status, changes: [{ op: 'replace', path: [], value: plan }] };
  return { instance: second, events, plan, planEvent };
}

/** What the migration must leave: the same, with the three fields null. */
function expectShape2(instance: Instance | undefined, events: HistoryEvent[], planEvents: HistoryEvent[], given: ReturnType<typeof shape1Store>) {
  const shape2 = (record: object) => ({ ...record, status_reason: null, max_turns: null, max_tokens: null });
  expect(instance).toEqual(shape2(given.instance));
  expect(events).toEqual([
    { ...given.events[0], changes: [{ op: 'replace', path: [], value: shape2(given.events[0]!.changes[0]!.value as object) }] },
    { ...given.events[1], snapshot: shape2(given.events[1]!.snapshot!) },
  ]);
  expect(replay(events)).toEqual(instance);
  expect(planEvents).toEqual([given.planEvent]);
}

describe('the records\' shape 2 on the SQL stores', () => {
  const db = new PGlite();
  afterAll(() => db.close());
  const withSchema = schemaRunner(db, 'shape2');

  it('PostgreSQL migration 3 brings an instance forward in its row, creation event and snapshot, odd text kept', async () => {
    await withSchema(
      async (schema) => {
        await runMigrations(db, schema, PG_MIGRATIONS.slice(0, 2));
        const given = shape1Store();
        const batch: CommitBatch = {
          writes: [
            { kind: 'instance', record: given.instance as unknown as Instance, expected_version: null },
            { kind: 'plan', record: given.plan, expected_version: null },
          ],
          events: [...given.events, given.planEvent],
        };
        await db.query(commitStatement(`"${schema}"`), commitParams(prepareCommit(batch)));
        expect(await migratePostgres(db, { schema })).toEqual({ version: PG_MIGRATIONS.length });
        const adapter = postgresAdapter({ client: db, schema });
        expectShape2(await adapter.get('instance', 'instance-1'), await adapter.history('instance-1'), await adapter.history('plan-1'), given);
        expect((await adapter.get('plan', 'plan-1'))?.steps[0]!.output).toBe(ODD);
      },
      { migrated: false },
    );
  });

  it('PostgreSQL migration 3 leaves the events of a plan that shares its id with an instance as they are', async () => {
    await withSchema(
      async (schema) => {
        await runMigrations(db, schema, PG_MIGRATIONS.slice(0, 2));
        const given = shape1Store();
        const plan = planRecord({ id: 'instance-1', instance_id: 'instance-1' });
        const planEvent: HistoryEvent = { ...given.planEvent, record_id: plan.id, changes: [{ op: 'replace', path: [], value: plan }] };
        const batch: CommitBatch = {
          writes: [
            { kind: 'instance', record: given.instance as unknown as Instance, expected_version: null },
            { kind: 'plan', record: plan, expected_version: null },
          ],
          events: [...given.events, planEvent],
        };
        await db.query(commitStatement(`"${schema}"`), commitParams(prepareCommit(batch)));
        await migratePostgres(db, { schema });
        const events = await postgresAdapter({ client: db, schema }).history('instance-1');
        expect(events.filter((event) => event.record_kind === 'plan')).toEqual([planEvent]);
        expect(events.filter((event) => event.record_kind === 'instance').map((event) => event.seq)).toEqual([1, 2]);
      },
      { migrated: false },
    );
  });

  it('PostgreSQL migration 3 refuses an instance row of a layout it does not know, and changes nothing', async () => {
    await withSchema(
      async (schema) => {
        await runMigrations(db, schema, PG_MIGRATIONS.slice(0, 2));
        const { instance } = shape1Store();
        await db.query(commitStatement(`"${schema}"`), commitParams(prepareCommit({ writes: [{ kind: 'instance', record: instance as unknown as Instance, expected_version: null }], events: [] })));
        // The same record, written by some other program with spaces: not the adapter's JSON text.
        await db.query(`UPDATE "${schema}".instances SET record = (' ' || record::text)::json`);
        await expect(migratePostgres(db, { schema })).rejects.toMatchObject({ code: 'STORAGE_ERROR', details: { reason: 'upgrade_failed' } });
        expect((await db.query(`SELECT version FROM "${schema}".schema_version`)).rows).toEqual([{ version: 2 }]);
      },
      { migrated: false },
    );
  });

  it('SQLite migration 2 brings an instance forward in its row, creation event and snapshot, odd text kept', async () => {
    const database = new Database(':memory:');
    try {
      database.exec(SQLITE_MIGRATIONS[0]!);
      database.pragma(`application_id = ${APPLICATION_ID}`);
      database.pragma('user_version = 1');
      const given = shape1Store();
      const row = (record: { id: string; created_at: string; version: number }, columns: Record<string, unknown>) => ({
        id: record.id,
        id_key: codeUnitKey(record.id),
        created_key: codeUnitKey(record.created_at),
        version: record.version,
        record: JSON.stringify(record),
        ...columns,
      });
      database.prepare('INSERT INTO instances (id, id_key, created_key, organization_id, status, agent_type_id, task_id, version, record) VALUES (@id, @id_key, @created_key, @organization_id, @status, @agent_type_id, @task_id, @version, @record)')
        .run(row(given.instance, { organization_id: 'org-1', status: 'running', agent_type_id: 'researcher', task_id: null }));
      database.prepare('INSERT INTO plans (id, id_key, created_key, instance_id, status, plan_type, site_id, user_id, agent_id, version, record) VALUES (@id, @id_key, @created_key, @instance_id, @status, @plan_type, @site_id, @user_id, @agent_id, @version, @record)')
        .run(row(given.plan, { instance_id: 'instance-1', status: given.plan.status, plan_type: given.plan.plan_type, site_id: null, user_id: null, agent_id: null }));
      const insertEvent = database.prepare('INSERT INTO events (record_id, seq, event) VALUES (?, ?, ?)');
      for (const event of [...given.events, given.planEvent]) insertEvent.run(event.record_id, event.seq, JSON.stringify(event));
      expect(migrateSqlite(database as unknown as SqliteDatabase)).toEqual({ from: 1, to: SQLITE_MIGRATIONS.length });
      const adapter = sqliteAdapter({ database: database as unknown as SqliteDatabase });
      expectShape2(await adapter.get('instance', 'instance-1'), await adapter.history('instance-1'), await adapter.history('plan-1'), given);
    } finally {
      database.close();
    }
  });
});
