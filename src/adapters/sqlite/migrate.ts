import type { SqliteDatabase } from './driver';
import { statements, type Statements } from './driver';
import { fault, storageFault } from './faults';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './schema';

/**
 * Creates or upgrades the tables of instance-plan in `database`, in one `BEGIN IMMEDIATE`
 * transaction (several processes may run it at once: one upgrades, the others find it done).
 * Idempotent. Also turns on WAL, so readers and one writer work at once across processes.
 * Refuses, with `STORAGE_ERROR` and nothing changed, a database of another program (reason
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
export function migrate(database: SqliteDatabase): { from: number; to: number } {
  const sql = statements(database);
  try {
    // WAL is a property of the file, set outside a transaction; an in-memory database keeps its own mode.
    sql.get('PRAGMA journal_mode = WAL');
    sql.exec('PRAGMA busy_timeout = 5000');
    sql.exec('BEGIN IMMEDIATE');
  } catch (error) {
    throw storageFault('migrate', error);
  }
  try {
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

/**
 * The format version of the database, or a refusal: a database another program made (an
 * application id of its own, or tables but none of ours), or one newer than this code.
 */
export function checkFormat(sql: Statements, operation: string): number {
  const applicationId = Number(sql.get<{ application_id: number }>('PRAGMA application_id')?.application_id ?? 0);
  const version = Number(sql.get<{ user_version: number }>('PRAGMA user_version')?.user_version ?? 0);
  const tables = Number(sql.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?.n ?? 0);
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
