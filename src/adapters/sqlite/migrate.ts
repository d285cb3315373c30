import type { SqliteDatabase } from './driver';
import { statements, type Statements } from './driver';
import { fault, reasonOf, storageFault } from './faults';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './schema';

/**
 * Creates or upgrades the tables of instance-plan in `database`, in one `BEGIN IMMEDIATE`
 * transaction: several processes may run it at once on one file (one upgrades, the others find
 * it done; each waits up to `busyTimeoutMs` for the others' locks). Idempotent. Turns on WAL,
 * so readers and one writer work at once across processes. Refuses, with `STORAGE_ERROR` and
 * the file left as it was, a database of another program (reason
 * `not_an_instance_plan_database`) and one written by a newer version (`version_too_new`,
 * naming both versions).
 *
 * @example
 * import Database from 'better-sqlite3';
 * import { migrate, sqliteAdapter } from 'instance-plan/sqlite';
 *
 * const database = new Database('plans.db');
 * migrate(database);
 * const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
 */
export function migrate(database: SqliteDatabase, { busyTimeoutMs = 5000 }: { busyTimeoutMs?: number } = {}): { from: number; to: number } {
  const sql = statements(database);
  const deadline = Date.now() + busyTimeoutMs;
  /** Runs `body`, again after a pause while another connection holds a lock, until the deadline. */
  const patiently = <T>(body: () => T): T => {
    for (let attempt = 0; ; attempt++) {
      try {
        return body();
      } catch (error) {
        if (reasonOf(error) !== 'busy' || Date.now() >= deadline) throw error;
        sleep(Math.min(2 ** attempt * 2, 100));
      }
    }
  };
  try {
    // SQLite's own busy wait does not cover every lock here (switching to WAL takes one it
    // will not wait for), so waiting is ours.
    sql.exec('PRAGMA busy_timeout = 0');
    // Another program's file is refused before anything of it changes, its journal mode included.
    patiently(() => checkFormat(sql, 'migrate'));
    // WAL is a property of the file, set outside a transaction; an in-memory database keeps its own mode.
    patiently(() => sql.get('PRAGMA journal_mode = WAL'));
    patiently(() => sql.exec('BEGIN IMMEDIATE'));
  } catch (error) {
    throw storageFault('migrate', error);
  }
  try {
    // Again, under the lock: another process may have migrated meanwhile.
    const from = checkFormat(sql, 'migrate');
    for (let version = from; version < SCHEMA_VERSION; version++) sql.exec(MIGRATIONS[version]!);
    if (from < SCHEMA_VERSION) {
      sql.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      sql.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
    sql.exec('COMMIT');
    return { from, to: SCHEMA_VERSION };
  } catch (error) {
    try {
      sql.exec('ROLLBACK');
    } catch {
      // nothing was begun, or it is rolled back already
    }
    throw storageFault('migrate', error);
  }
}

/** Waits `ms` without returning to the event loop (`migrate` is synchronous, as the drivers are). */
function sleep(ms: number): void {
  if (typeof SharedArrayBuffer === 'function') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The format version of the database, or a refusal: a database another program made (an
 * application id of its own, or tables but none of ours), or one newer than this code.
 */
export function checkFormat(sql: Statements, operation: string): number {
  // One statement, so one snapshot: read one by one, a migration committing in between would
  // show tables without the application id that the same transaction wrote.
  const format = sql.get<{ application_id: number; user_version: number; tables: number }>(
    `SELECT (SELECT application_id FROM pragma_application_id) AS application_id, (SELECT user_version FROM pragma_user_version) AS user_version,
       (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%') AS tables`,
  );
  const applicationId = Number(format?.application_id ?? 0);
  const version = Number(format?.user_version ?? 0);
  const tables = Number(format?.tables ?? 0);
  if (applicationId !== APPLICATION_ID && (applicationId !== 0 || tables > 0)) {
    throw fault('not_an_instance_plan_database', `SQLite ${operation} refused: this database belongs to another program (application id ${applicationId}, ${tables} tables); give instance-plan a database of its own. Nothing was changed.`, undefined, {
      application_id: applicationId,
    });
  }
  if (version > SCHEMA_VERSION) {
    throw fault('version_too_new', `SQLite ${operation} refused: the database is at format version ${version}, and this code knows versions up to ${SCHEMA_VERSION}; update instance-plan. Nothing was changed.`, undefined, {
      stored_version: version,
      code_version: SCHEMA_VERSION,
    });
  }
  return version;
}
