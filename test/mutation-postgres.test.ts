// Behaviour of the PostgreSQL adapter (src/adapters/postgres) that mutation testing would
// otherwise leave unchecked: test/postgres.test.ts and the conformance suite run on PGlite, and
// test/postgres.server.test.ts (a real server) does not run under Stryker. Covered here: option
// checks and schema quoting, migrate's lock, faults and version reporting, the schema check on
// first use, fault classification and wording, strings text cannot hold (never sent, never
// matched against their U+FFFD look-alikes), the locking order of a batch, and the lease columns.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, type CommitBatch } from 'instance-plan';
import { migrate, postgresAdapter, SCHEMA_VERSION, type PostgresClient } from 'instance-plan/postgres';
import { prepareCommit } from '../src/adapters/postgres/commit';
import { reasonOf } from '../src/adapters/postgres/faults';
import { codeUnitKey } from '../src/adapters/postgres/keys';
import { createBatch, eventOf, instanceRecord, leaseRecord, planRecord, updateOf } from '../src/testing/conformance/fixtures';
import { expectRejection } from './support/core-fixtures';
import { expectFault, freshSchema, schemaRunner, watched } from './support/pg-harness';

// One database for the file (starting PGlite takes seconds); every test gets a schema of its own.
const db = new PGlite();
afterAll(() => db.close());
const withSchema = schemaRunner(db, 'mutpg');

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

const pgError = (code: string, message = `error ${code}`, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

/** 32-bit FNV-1a (offset basis 2166136261, prime 16777619) of an ASCII string, unsigned. */
function fnv1a(text: string): number {
  let h = 2166136261n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 16777619n) % 2n ** 32n;
  }
  return Number(h);
}

describe('options', () => {
  it('postgresAdapter and migrate refuse null options, a missing client and a non-string schema, naming the entry point', () => {
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

describe('migrate', () => {
  it('holds an advisory lock keyed by the 32-bit FNV-1a hash of the schema name, so schemas do not wait for each other', async () => {
    const keys: Record<string, number> = {};
    for (const schema of [freshSchema('lock_a'), freshSchema('lock_b')]) {
      await withSchema(
        async () => {
          const { client, calls } = watched(db);
          await migrate(client, { schema });
          expect(calls).toHaveLength(1); // one statement, one transaction
          const lock = /pg_advisory_xact_lock\((\d+),\s*(-?\d+)\)/.exec(calls[0]!.text);
          expect(lock, 'the migration takes an advisory lock').not.toBeNull();
          keys[schema] = Number(lock![2]);
          expect(keys[schema]! >>> 0).toBe(fnv1a(schema));
        },
        { migrated: false },
      );
    }
    const [a, b] = Object.values(keys);
    expect(a).not.toBe(b);
  });

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

describe('faults', () => {
  it('classifies every documented SQLSTATE class, socket code and connection message', () => {
    const cases: [unknown, string][] = [
      [pgError('08006'), 'connection'],
      [pgError('08001'), 'connection'],
      [pgError('57P02'), 'connection'],
      [pgError('57P03'), 'connection'],
      [pgError('57P04'), 'failed'],
      [pgError('40001'), 'serialization'],
      [pgError('40002'), 'failed'],
      [pgError('40P01'), 'deadlock'],
      [pgError('42P01'), 'not_migrated'],
      [pgError('42883'), 'not_migrated'],
      [pgError('3F000'), 'not_migrated'],
      [pgError('42601'), 'failed'],
      [pgError('54000'), 'too_large'],
      [pgError('54001'), 'too_large'],
      [pgError('53200'), 'insufficient_resources'],
      [pgError('53300'), 'insufficient_resources'],
      [pgError('25006'), 'read_only'],
      [pgError('25001'), 'failed'],
      [pgError('57014'), 'canceled'],
      ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].map((code): [unknown, string] => [pgError(code), 'connection']),
      [new Error('Connection terminated unexpectedly'), 'connection'],
      [new Error('Connection error'), 'connection'],
      [new Error('timeout exceeded when trying to connect'), 'connection'],
      [new Error('Client was closed and is not queryable'), 'connection'],
      [new Error('Cannot use a pool after calling end on the pool'), 'connection'],
      [new Error('PGlite is closed'), 'connection'],
      [new Error('syntax error at or near "x"'), 'failed'],
      // Several addresses tried: connection only when one of them was refused for that reason.
      [new AggregateError([pgError('XX000'), new Error('nope')], 'all failed'), 'failed'],
      [new AggregateError([new Error('nope'), pgError('ECONNRESET')], 'all failed'), 'connection'],
      [{ code: 42, message: 'not a string code' }, 'failed'],
      [undefined, 'failed'],
      [null, 'failed'],
      ['a string', 'failed'],
    ];
    for (const [cause, reason] of cases) expect(reasonOf(cause), String((cause as Error)?.message ?? cause)).toBe(reason);
  });

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

describe('strings text cannot hold', () => {
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

describe('commit batches', () => {
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

  it('locks in one order: by kind (instance, lease, plan), then id by UTF-16 code units, a check before a write', () => {
    const instance = instanceRecord({ id: 'b' });
    const plans = ['\uffff', '😀', 'a'].map((id) => planRecord({ id }));
    const call = prepareCommit({
      writes: [
        ...plans.map((record) => ({ kind: 'plan' as const, record, expected_version: null })),
        { kind: 'lease', record: leaseRecord({ id: 'b' }), expected_version: 1 },
        { kind: 'instance', record: instance, expected_version: null },
      ],
      events: [],
      checks: [
        { kind: 'lease', id: 'b', expected_version: 1 },
        { kind: 'plan', id: '😀', expected_version: null },
        { kind: 'instance', id: 'c', expected_version: 2 },
        { kind: 'instance', id: 'a', expected_version: null },
      ],
    });
    const items = JSON.parse(call.items) as { op: string; kind: string; id: string }[];
    expect(items.map(({ op, kind, id }) => `${kind} ${id} ${op}`)).toEqual([
      'instance a check',
      'instance b write',
      'instance c check',
      'lease b check',
      'lease b write',
      'plan a write',
      'plan 😀 check',
      'plan 😀 write',
      'plan \uffff write',
    ]);
    // Each write carries its own record.
    for (const item of items as unknown as { op: string; id: string; slot: number }[]) {
      if (item.op === 'write') expect((JSON.parse(call.records[item.slot - 1]!) as { id: string }).id).toBe(item.id);
    }
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

describe('reads', () => {
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

  it('order keys are the UTF-16 code units, big-endian hex (the documented example)', () => {
    expect(codeUnitKey('a😀')).toBe('0061d83dde00');
    expect(codeUnitKey('')).toBe('');
    expect(codeUnitKey('\u0001\uffff')).toBe('0001ffff');
  });
});
