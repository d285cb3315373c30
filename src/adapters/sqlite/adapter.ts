import { checkBatch } from '../batch';
import {
  checkKind,
  checkListQuery,
  conflictError,
  INDEXED_FIELDS,
  type CommitBatch,
  type HistoryEvent,
  type HistoryPage,
  type ListQuery,
  type ListResult,
  type Scope,
  type StorageAdapter,
  type StoreReader,
  type StoredKind,
  type StoredOfKind,
} from '../contract';
import { deepFreeze } from '../freeze';
import { checkHistoryPage } from '../history-page';
import { codeUnitKey, representable } from '../text-keys';
import type { Instance, Lease, Plan, RecordKind, RecordOfKind, StoredRecord } from '../../schemas/records';
import { driverOf, isClosed, statements, type SqliteDatabase, type SqliteDriver } from './driver';
import { fault, storageFault } from './faults';
import { checkFormat } from './migrate';
import { SCHEMA_VERSION, TABLES } from './schema';
import { scopedRead, type SqlDialect } from '../scoped-read';

const DIALECT: SqlDialect = { table: (kind) => TABLES[kind], record: (alias) => `${alias}.record`, placeholder: () => '?' };

export interface SqliteAdapterOptions {
  /** An open handle: better-sqlite3's `Database`, `node:sqlite`'s `DatabaseSync` or `bun:sqlite`'s `Database`. The adapter never closes it. */
  database: SqliteDatabase;
  /**
   * How long a call waits, in all, while another connection holds the lock, before it is
   * answered `STORAGE_ERROR` with reason `busy`, in ms. Default 5000. The wait is a series of
   * growing pauses that leave the event loop free (the adapter sets the handle's own
   * `busy_timeout`, which would block it, to 0).
   */
  busyTimeoutMs?: number;
}

/** The SQLite adapter: a `StorageAdapter` without a change feed (managers announce their own commits). */
export interface SqliteAdapter extends StorageAdapter {
  /** Which driver the handle is. */
  readonly driver: SqliteDriver;
}

/** One write of a batch, with everything its statement binds computed before the transaction. */
interface PreparedWrite {
  kind: StoredKind;
  id: string;
  expected: number | null;
  columns: unknown[];
  version: number;
  text: string;
}

const COLUMNS: Record<StoredKind, readonly string[]> = {
  instance: ['id_key', 'created_key', ...INDEXED_FIELDS.instance],
  plan: ['id_key', 'created_key', ...INDEXED_FIELDS.plan],
  lease: ['owner', 'token', 'expires_at'],
};

/**
 * Only one transaction at a time on a handle: a change that reads inside its transaction
 * (`transact`) awaits between its statements, and another change on the same handle must not
 * begin in the middle of it. Across handles and processes, SQLite's own lock does this. The
 * queues live in a registry every copy of this module shares (an app may load both the ESM and
 * the CommonJS build), keyed by the handle.
 */
const writers: WeakMap<object, Promise<unknown>> = ((globalThis as Record<symbol, unknown>)[Symbol.for('instance-plan/sqlite writers')] ??= new WeakMap()) as WeakMap<
  object,
  Promise<unknown>
>;

function exclusive<T>(database: object, run: () => Promise<T>): Promise<T> {
  const before = writers.get(database) ?? Promise.resolve();
  const mine = before.then(run, run);
  writers.set(database, mine.catch(() => undefined));
  return mine;
}

/** `setTimeout`, which every runtime has (typed here: the library has no DOM or Node types). */
const timers = globalThis as unknown as { setTimeout(run: () => void, ms: number): unknown };
const pause = (ms: number) => new Promise<void>((resolve) => timers.setTimeout(resolve, ms));

export function createAdapter(options: SqliteAdapterOptions): SqliteAdapter {
  if (typeof options !== 'object' || options === null) throw new TypeError('sqliteAdapter: options must be an object { database }');
  const { database } = options;
  if (typeof database?.prepare !== 'function' || typeof database.exec !== 'function') {
    throw new TypeError('sqliteAdapter: database must be an open SQLite handle (better-sqlite3, node:sqlite or bun:sqlite)');
  }
  const busyTimeoutMs = whole('busyTimeoutMs', options.busyTimeoutMs ?? 5000);
  const driver = driverOf(database);
  const sql = statements(database);
  let ready = false;

  /** Runs `body` once the database is known to be ours and current; every fault leaves as `STORAGE_ERROR`. */
  const run = <T>(operation: string, body: () => T): T => {
    try {
      if (isClosed(database)) throw fault('closed', `SQLite ${operation} failed: the database handle is closed; open the file again and make a new adapter.`);
      if (!ready) {
        // Waiting for a lock happens in `patiently`, without blocking the event loop.
        sql.exec('PRAGMA busy_timeout = 0');
        const version = checkFormat(sql, operation);
        if (version < SCHEMA_VERSION) {
          throw fault('not_migrated', `SQLite ${operation} refused: the database is at format version ${version} and this code needs ${SCHEMA_VERSION}: run migrate(database) from instance-plan/sqlite first.`, undefined, {
            stored_version: version,
            code_version: SCHEMA_VERSION,
          });
        }
        ready = true;
      }
      return body();
    } catch (error) {
      throw storageFault(operation, error);
    }
  };

  /**
   * Runs `body` (one statement, or the start of a transaction), and while another connection
   * holds the lock tries again after a growing pause, until `busyTimeoutMs` has passed: then `busy`.
   */
  const patiently = async <T>(operation: string, body: () => T): Promise<T> => {
    const deadline = Date.now() + busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return run(operation, body);
      } catch (error) {
        if ((error as { details?: { reason?: unknown } }).details?.reason !== 'busy' || Date.now() >= deadline) throw error;
        await pause(Math.min(2 ** attempt * 2, 100, Math.max(deadline - Date.now(), 1)) * (0.5 + Math.random() / 2));
      }
    }
  };

  const parsed = (text: string | undefined) => (text === undefined ? undefined : deepFreeze(JSON.parse(text)));

  /** How a read runs: `patiently` on its own, `run` inside a transaction (which holds the lock already). */
  type Via = <T>(operation: string, body: () => T) => T | Promise<T>;

  // A scope's fields are conditions of the read: another scope's record is never parsed.
  const get = async <K extends StoredKind>(kind: K, id: string, scope: Scope | undefined, via: Via): Promise<StoredOfKind[K] | undefined> => {
    checkKind(kind, TABLES);
    if (typeof id !== 'string') throw new TypeError(`get: the id must be a string, got ${typeof id}`);
    // An id a text key cannot hold was never stored: scopedRead answers null for it.
    const statement = scopedRead(DIALECT, kind, id, scope);
    if (!statement) return undefined;
    return via('get', () => parsed(sql.get<{ record: string }>(statement.text, ...statement.params)?.record));
  };

  const getPlanWithInstance = async (planId: string, scope: Scope | undefined, via: Via) => {
    if (typeof planId !== 'string') throw new TypeError(`get: the id must be a string, got ${typeof planId}`);
    const statement = scopedRead(DIALECT, 'plan', planId, scope, true);
    if (!statement) return undefined;
    const row = await via('get', () => sql.get<{ record: string; instance: string | null }>(statement.text, ...statement.params));
    return row && { plan: parsed(row.record) as Plan, instance: parsed(row.instance ?? undefined) as Instance | undefined };
  };

  const reader: Required<StoreReader> = {
    get: (kind, id, scope) => get(kind, id, scope, run),
    getPlanWithInstance: (planId, scope) => getPlanWithInstance(planId, scope, run),
  };

  const count = (kind: RecordKind, field: string, value: string, by: number) =>
    sql.run('INSERT INTO counts (kind, field, value, n) VALUES (?, ?, ?, ?) ON CONFLICT (kind, field, value) DO UPDATE SET n = n + excluded.n', kind, field, value, by);

  /** Moves the counters a record's write changes: its kind's total when it is new, and each indexed field whose value changed. */
  const moveCounts = (kind: RecordKind, names: readonly string[], before: Record<string, unknown> | undefined, columns: unknown[]) => {
    if (before === undefined) count(kind, '', '', 1);
    for (const field of INDEXED_FIELDS[kind]) {
      const was = before?.[field] ?? null;
      const now = columns[names.indexOf(field)] ?? null;
      if (was === now) continue;
      if (typeof was === 'string') count(kind, field, was, -1);
      if (typeof now === 'string') count(kind, field, now, 1);
    }
  };

  /** Writes a prepared batch inside the open transaction; the first mismatch throws `CONFLICT`. */
  const write = ({ writes, checks, events, prune }: ReturnType<typeof prepare>) => {
    const versionOf = (kind: StoredKind, id: string) => {
      const row = sql.get<{ version: number | bigint }>(`SELECT version FROM ${TABLES[kind]} WHERE id = ?`, id);
      return row === undefined ? null : Number(row.version);
    };
    for (const { kind, id, expected } of checks) {
      const actual = representable(id) ? versionOf(kind, id) : null;
      if (actual !== expected) throw conflictError(kind, id, expected, actual);
    }
    for (const { kind, id, expected, columns, version, text } of writes) {
      const table = TABLES[kind];
      const names = COLUMNS[kind];
      if (expected === null) {
        const inserted = sql.run(`INSERT OR IGNORE INTO ${table} (id, ${names.join(', ')}, version, record) VALUES (?, ${names.map(() => '?').join(', ')}, ?, ?)`, id, ...columns, version, text);
        if (inserted !== 1) throw conflictError(kind, id, expected, versionOf(kind, id));
        if (kind !== 'lease') moveCounts(kind, names, undefined, columns);
        continue;
      }
      // Only the indexed columns whose value changes are set: SQLite rewrites the index entries
      // of every column an UPDATE names, changed or not (four times the cost for a plan).
      const stored = sql.get<Record<string, unknown>>(`SELECT ${names.join(', ')}, version FROM ${table} WHERE id = ?`, id);
      const actual = stored === undefined ? null : Number(stored.version);
      if (actual !== expected) throw conflictError(kind, id, expected, actual);
      const set = names.filter((name, i) => stored![name] !== columns[i]);
      const values = set.map((name) => columns[names.indexOf(name)]);
      const updated = sql.run(`UPDATE ${table} SET ${set.map((name) => `${name} = ?, `).join('')}version = ?, record = ? WHERE id = ? AND version = ?`, ...values, version, text, id, expected);
      if (updated !== 1) throw conflictError(kind, id, expected, versionOf(kind, id));
      if (kind !== 'lease') moveCounts(kind, names, stored, columns);
    }
    // Bounded history: older events go in the same transaction (through events_by_record).
    for (const [recordId, before] of prune) sql.run('DELETE FROM events WHERE record_id = ? AND seq < ?', recordId, before);
    for (const [recordId, seq, event] of events) sql.run('INSERT INTO events (record_id, seq, event) VALUES (?, ?, ?)', recordId, Number(seq), event);
  };

  /** `BEGIN IMMEDIATE`: the write lock first, so what is read inside is what the commit finds. */
  const begin = (operation: string): Promise<void> => patiently(operation, () => sql.exec('BEGIN IMMEDIATE'));

  const rollback = () => {
    try {
      sql.exec('ROLLBACK');
    } catch {
      // nothing left to roll back (SQLite rolled it back itself, or the handle is gone)
    }
  };

  /** Commits inside the open transaction, or rolls back and throws: our own errors as they are, the store's as `STORAGE_ERROR`. */
  const finish = (prepared: ReturnType<typeof prepare> | undefined) => {
    try {
      if (prepared) write(prepared);
      sql.exec('COMMIT');
    } catch (error) {
      rollback();
      throw storageFault('commit', error);
    }
  };

  return {
    driver,

    get: (kind, id, scope) => get(kind, id, scope, patiently),

    getPlanWithInstance: (planId, scope) => getPlanWithInstance(planId, scope, patiently),

    async list<K extends RecordKind>(kind: K, query: ListQuery<K>): Promise<ListResult<RecordOfKind[K]>> {
      checkKind(kind, { instance: TABLES.instance, plan: TABLES.plan });
      const filters = checkListQuery(kind, query);
      if (filters.some(([, value]) => !representable(value))) return { records: [], total: 0 };
      // One statement, so the total and the page come from one snapshot (field names are
      // INDEXED_FIELDS', never the caller's). With at most one filter the total is a counter;
      // with several it is counted by walking the matches of the first filter's index.
      const where = filters.length === 0 ? '' : `WHERE ${filters.map(([field]) => `${field} = ?`).join(' AND ')}`;
      const values = filters.map(([, value]) => value);
      const table = TABLES[kind];
      const [counter, counterValues] =
        filters.length <= 1
          ? ['SELECT coalesce((SELECT n FROM counts WHERE kind = ? AND field = ? AND value = ?), 0) AS total', [kind, filters[0]?.[0] ?? '', filters[0]?.[1] ?? '']]
          : [`SELECT count(*) AS total FROM ${table} ${where}`, values];
      const rows = await patiently('list', () =>
        sql.all<{ total: number | bigint; record: string | null }>(
          `SELECT c.total AS total, p.record AS record FROM (${counter}) AS c
           LEFT JOIN (SELECT record, created_key, id_key FROM ${table} ${where} ORDER BY created_key DESC, id_key LIMIT ? OFFSET ?) AS p ON 1
           ORDER BY p.created_key DESC, p.id_key`,
          ...counterValues,
          ...values,
          query.limit,
          query.offset,
        ),
      );
      return {
        records: rows.filter((row) => row.record !== null).map((row) => parsed(row.record!) as RecordOfKind[K]),
        total: Number(rows[0]?.total ?? 0),
      };
    },

    async commit(batch) {
      const prepared = prepare(batch);
      await exclusive(database, async () => {
        await begin('commit');
        finish(prepared);
      });
    },

    async transact(work) {
      return exclusive(database, async () => {
        await begin('commit');
        let given: Awaited<ReturnType<typeof work>>;
        let prepared: ReturnType<typeof prepare> | undefined;
        try {
          given = await work(reader);
          prepared = given.batch ? prepare(given.batch) : undefined;
        } catch (error) {
          // The work's own refusal (or a malformed batch) leaves as it is, with nothing written.
          rollback();
          throw error;
        }
        finish(prepared);
        return given.result;
      });
    },

    async history(recordId: string, page?: HistoryPage): Promise<HistoryEvent[]> {
      if (typeof recordId !== 'string') throw new TypeError(`history: the record id must be a string, got ${typeof recordId}`);
      const { after_seq, limit } = checkHistoryPage(page);
      if (!representable(recordId)) return [];
      const rows = await patiently('history', () =>
        sql.all<{ event: string }>('SELECT event FROM events WHERE record_id = ? AND seq > ? ORDER BY seq, position LIMIT ?', recordId, after_seq, limit === Infinity ? -1 : limit),
      );
      return deepFreeze(rows.map((row) => JSON.parse(row.event) as HistoryEvent));
    },
  };
}

/**
 * Checks a batch and computes everything its statements bind before any transaction begins, so
 * a malformed batch is a `TypeError`, a key SQLite text cannot hold is `STORAGE_ERROR`
 * (`unrepresentable`), a record that cannot be serialised fails here, and in each case nothing
 * is written.
 */
function prepare(batch: CommitBatch) {
  const checks = checkBatch(batch).map(({ kind, id, expected_version: expected }) => ({ kind, id, expected }));
  const writes = batch.writes.map(({ kind, record, expected_version: expected }, i): PreparedWrite => {
    const where = `writes[${i}].record`;
    const id = key(record.id, `${where}.id`);
    let columns: unknown[];
    if (kind === 'lease') {
      const { owner, token, expires_at: expiresAt } = record as Lease;
      if (!Number.isSafeInteger(token)) throw new TypeError(`commit: ${where}.token must be an integer`);
      columns = [owner === null ? null : key(owner, `${where}.owner`), token, key(expiresAt, `${where}.expires_at`)];
    } else {
      const stored = record as StoredRecord;
      columns = [
        codeUnitKey(id),
        codeUnitKey(stored.created_at),
        ...INDEXED_FIELDS[kind].map((field) => {
          const value = (stored as unknown as Record<string, unknown>)[field];
          // Filters are strings: a field that is not one (null) matches no filter.
          return typeof value === 'string' ? key(value, `${where}.${field}`) : null;
        }),
      ];
    }
    return { kind, id, expected, columns, version: record.version, text: JSON.stringify(record) };
  });
  const events = batch.events.map((event, i) => [key(event.record_id, `events[${i}].record_id`), String(event.seq), JSON.stringify(event)]);
  const prune = (batch.prune ?? []).filter(({ record_id }) => representable(record_id)).map(({ record_id, before_seq }): [string, number] => [record_id, before_seq]);
  return { writes, checks, events, prune };
}

/** A string bound for a text key column: refused (nothing written) when SQLite would not keep it exactly. */
function key(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new TypeError(`commit: ${where} must be a string`);
  if (!representable(value)) {
    throw fault('unrepresentable', `SQLite cannot store ${where} ${JSON.stringify(value)} as a key: a text key cannot hold unpaired surrogates nor U+0000. Nothing was written; use another value.`, undefined, {
      field: where,
    });
  }
  return value;
}

function whole(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`sqliteAdapter: ${name} must be a whole number of 0 or more, got ${String(value)}`);
  return value;
}
