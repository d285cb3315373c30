import { checkKind, checkListQuery } from '../contract';
import type { HistoryEvent, HistoryPage, ListQuery, ListResult, Scope, StorageAdapter, StoredKind, StoredOfKind } from '../contract';
import { scopedRead, type SqlDialect } from '../scoped-read';
import type { Instance, Plan, RecordKind, RecordOfKind } from '../../schemas/records';
import { deepFreeze } from '../freeze';
import { checkHistoryPage } from '../history-page';
import { checkOptions, quoted, type PostgresClient } from './client';
import { commitParams, commitStatement, conflictOf, prepareCommit } from './commit';
import { fault, storageFault } from './faults';
import { representable } from '../text-keys';
import { listStatement } from './list';
import { storedVersion, tooNew } from './migrate';
import { EVENTS, SCHEMA_VERSION, TABLES } from './schema';

export interface PostgresAdapterOptions {
  /** Anything with `query(text, params)`: a `pg` Pool or Client, a PGlite. The adapter never ends it. */
  client: PostgresClient;
  /** The PostgreSQL schema `migrate` created the tables in. Default `'instance_plan'`. */
  schema?: string;
}

/** The PostgreSQL adapter: a `StorageAdapter` without a change feed (managers announce their own commits). */
export interface PostgresAdapter extends StorageAdapter {
  /** The schema the tables live in. */
  readonly schema: string;
}

/**
 * The adapter over a client. Every method is one statement; a commit is one call of the
 * function `migrate` installed. The schema version is checked on first use (and again after a
 * failed check), so a database that was never migrated fails with a message saying so.
 */
export function createAdapter(options: PostgresAdapterOptions): PostgresAdapter {
  const { client, schema } = checkOptions('postgresAdapter', options);
  const s = quoted(schema);
  const table = (kind: StoredKind) => `${s}.${TABLES[kind]}`;
  const dialect: SqlDialect = { table, record: (alias) => `${alias}.record::text`, placeholder: (n) => `$${n}` };
  const commit = commitStatement(s);
  let ready: Promise<void> | undefined;

  const checkSchema = async (): Promise<void> => {
    const version = await storedVersion(client, schema);
    if (version > SCHEMA_VERSION) throw tooNew(schema, undefined, SCHEMA_VERSION, version);
    if (version < SCHEMA_VERSION) {
      throw fault(
        'not_migrated',
        `PostgreSQL schema ${JSON.stringify(schema)} is at version ${version}, and this code needs version ${SCHEMA_VERSION}: ` +
          `run migrate(client${schema === 'instance_plan' ? '' : `, { schema: ${JSON.stringify(schema)} }`}) from instance-plan/postgres first.`,
        undefined,
        { schema, stored_version: version, code_version: SCHEMA_VERSION },
      );
    }
  };

  /** Runs one statement; faults leave as `STORAGE_ERROR` with their reason. */
  const run = async (operation: string, text: string, params: unknown[]): Promise<unknown[]> => {
    if (!ready) {
      const check = checkSchema();
      ready = check;
      // A failed check is not remembered: the next call looks again (migrate may have run since).
      check.catch(() => {
        if (ready === check) ready = undefined;
      });
    }
    try {
      await ready;
      return (await client.query(text, params)).rows;
    } catch (error) {
      throw conflictOf(error) ?? storageFault(operation, error);
    }
  };

  return {
    schema,

    // A scope's fields are conditions of the read: another scope's record never leaves the server.
    async get<K extends StoredKind>(kind: K, id: string, scope?: Scope): Promise<StoredOfKind[K] | undefined> {
      checkKind(kind, TABLES);
      if (typeof id !== 'string') throw new TypeError(`get: the id must be a string, got ${typeof id}`);
      // An id a text column cannot hold was never stored: scopedRead answers null for it.
      const statement = scopedRead(dialect, kind, id, scope);
      if (!statement) return undefined;
      const row = (await run('get', statement.text, statement.params))[0] as { record: string } | undefined;
      return row === undefined ? undefined : (parsed(row.record) as StoredOfKind[K]);
    },

    // The plan and its instance in one query (one round trip, one snapshot).
    async getPlanWithInstance(planId, scope) {
      if (typeof planId !== 'string') throw new TypeError(`get: the id must be a string, got ${typeof planId}`);
      const statement = scopedRead(dialect, 'plan', planId, scope, true);
      if (!statement) return undefined;
      const row = (await run('get', statement.text, statement.params))[0] as { record: string; instance: string | null } | undefined;
      return row && { plan: parsed(row.record) as Plan, instance: row.instance === null ? undefined : (parsed(row.instance) as Instance) };
    },

    async list<K extends RecordKind>(kind: K, query: ListQuery<K>): Promise<ListResult<RecordOfKind[K]>> {
      checkKind(kind, { instance: TABLES.instance, plan: TABLES.plan });
      const filters = checkListQuery(kind, query);
      const statement = listStatement(table(kind), filters, query.limit, query.offset);
      if (!statement) return { records: [], total: 0 };
      const rows = (await run('list', statement.text, statement.params)) as { total: unknown; record: string | null }[];
      return {
        records: rows.filter((row) => row.record !== null).map((row) => parsed(row.record!) as RecordOfKind[K]),
        total: Number(rows[0]?.total ?? 0),
      };
    },

    async commit(batch) {
      const call = prepareCommit(batch);
      await run('commit', commit, commitParams(call));
    },

    async history(recordId: string, page?: HistoryPage): Promise<HistoryEvent[]> {
      if (typeof recordId !== 'string') throw new TypeError(`history: the record id must be a string, got ${typeof recordId}`);
      const { after_seq, limit } = checkHistoryPage(page);
      if (!representable(recordId)) return [];
      const rows = await run('history', `SELECT event::text AS event FROM ${s}.${EVENTS} WHERE record_id = $1 AND seq > $2 ORDER BY seq, position LIMIT $3`, [
        recordId,
        after_seq,
        limit === Infinity ? null : limit,
      ]);
      return deepFreeze((rows as { event: string }[]).map((row) => parsed(row.event) as HistoryEvent));
    },
  };
}

/** A stored JSON text as the record it holds, frozen as every record handed out is. */
function parsed(text: string): unknown {
  return deepFreeze(JSON.parse(text));
}
