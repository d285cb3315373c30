import { checkKind, checkListQuery } from '../contract';
import type { CommittedChange, HistoryEvent, HistoryPage, ListQuery, ListResult, Scope, StorageAdapter, StoredKind, StoredOfKind } from '../contract';
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
import { announcementOf, channelOf, postgresFeed, type PostgresListenClient } from './feed';
import { randomId } from '../../random-id';

export interface PostgresAdapterOptions {
  /** Anything with `query(text, params)`: a `pg` Pool or Client, a PGlite. The adapter never ends it. */
  client: PostgresClient;
  /** The PostgreSQL schema `migrate` created the tables in. Default `'instance_plan'`. */
  schema?: string;
  /**
   * A change feed across processes (LISTEN/NOTIFY): a connection kept for listening (a connected
   * `pg.Client`, or a PGlite). With it the adapter has `subscribe`, and hears every commit on the
   * schema, from every process, in commit order. Without it, each manager announces its own.
   */
  listen?: PostgresListenClient;
  /**
   * Whether each commit announces itself (`pg_notify`, in its transaction) for the adapters that
   * listen. Default true, so that a process that only writes is heard by those that listen;
   * false leaves it out (a deployment where nobody listens), and listeners then miss its commits.
   */
  notify?: boolean;
}

/** The PostgreSQL adapter: with `listen`, a change feed across processes; without, managers announce their own commits. */
export interface PostgresAdapter extends StorageAdapter {
  /** The schema the tables live in. */
  readonly schema: string;
  /** With `listen`: settles once this adapter listens (every commit after it is heard, its own included). */
  readonly listening?: Promise<void>;
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
  const listen = (options as { listen?: unknown }).listen as PostgresListenClient | undefined;
  if (listen !== undefined && typeof (listen as { listen?: unknown }).listen !== 'function' && (typeof (listen as { query?: unknown }).query !== 'function' || typeof (listen as { on?: unknown }).on !== 'function')) {
    throw new TypeError('postgresAdapter: listen must be a connection kept for LISTEN: a connected pg.Client (query and on), or a PGlite (listen)');
  }
  const notify = (options as { notify?: unknown }).notify ?? true;
  if (typeof notify !== 'boolean') throw new TypeError(`postgresAdapter: notify must be true or false, got ${typeof notify}`);
  if (listen && !notify) throw new TypeError('postgresAdapter: an adapter that listens also notifies (it hears its own commits through the feed): leave notify out');
  /** This adapter in its announcements, and the number of its next one. */
  const origin = randomId();
  let commits = 0;
  const feed = listen && postgresFeed(schema, origin, listen, client, `${s}.${EVENTS}`);
  // The commit also notifies in its transaction, so a batch that does not commit announces nothing:
  // its payloads in order (one, or the pieces of a large one), each a notification.
  const notifyingCommit = `SELECT ${commit.slice('SELECT '.length)}, (SELECT count(*) FROM (SELECT pg_notify($8, payload) FROM unnest($9::text[]) WITH ORDINALITY AS sent(payload, i) ORDER BY i) AS notified)`;
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
      // A batch of checks only changes nothing, and announces nothing.
      if (!notify || batch.writes.length === 0) {
        await run('commit', commit, commitParams(call));
        return;
      }
      if (!feed) {
        await run('commit', notifyingCommit, [...commitParams(call), channelOf(schema), announcementOf(schema, origin, ++commits, batch)]);
        return;
      }
      // Listening first, so that this adapter hears its own commit too.
      await feed.listening.catch(() => undefined);
      const announcement = feed.announce(batch, ++commits);
      try {
        await run('commit', notifyingCommit, [...commitParams(call), feed.channel, announcement.payloads]);
      } finally {
        announcement.settled();
      }
    },

    ...(feed && {
      listening: feed.listening,
      subscribe(listener: (change: CommittedChange) => void) {
        if (typeof listener !== 'function') throw new TypeError('subscribe: the listener must be a function');
        return feed.subscribe(listener);
      },
    }),

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
