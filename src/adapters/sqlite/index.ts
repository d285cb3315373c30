// instance-plan/sqlite: the SQLite storage adapter, durable on one machine (several processes on one file).

import { createAdapter, type SqliteAdapter, type SqliteAdapterOptions } from './adapter';

/**
 * Stores instances, plans, leases and their history in one SQLite file, through a synchronous
 * handle you open: better-sqlite3 (Node 20+), `node:sqlite` (Node 22.5+) or `bun:sqlite` (Bun).
 * None is a dependency; the adapter tells them apart by shape. Run `migrate(database)` first.
 *
 * - Every change is one `BEGIN IMMEDIATE` transaction: the read, the version checks
 *   (`UPDATE ... WHERE id = ? AND version = ?`, checked by the changed-row count), the lease
 *   checks and the history events, all or nothing. Several processes may share the file:
 *   `migrate` turns on WAL, and a call that finds the database locked tries again after growing
 *   pauses (the event loop stays free) for up to `busyTimeoutMs`, then is answered
 *   `STORAGE_ERROR` with reason `busy`.
 * - Lists page in SQL (an index per filter, newest first, `LIMIT`/`OFFSET`, a count).
 * - No change feed: each `PlanManager` announces its own commits.
 * - Faults are `STORAGE_ERROR` with `details.reason` (`busy`, `read_only`, `full`, `corrupt`,
 *   `not_an_instance_plan_database`, `not_migrated`, `version_too_new`, `closed`, ...).
 *
 * @example
 * import Database from 'better-sqlite3';
 * import { PlanManager } from 'instance-plan';
 * import { migrate, sqliteAdapter } from 'instance-plan/sqlite';
 *
 * const database = new Database('plans.db');
 * migrate(database);
 * const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
 */
export function sqliteAdapter(options: SqliteAdapterOptions): SqliteAdapter {
  return createAdapter(options);
}

export { migrate } from './migrate';
export { SCHEMA_VERSION } from './schema';
export type { SqliteAdapter, SqliteAdapterOptions } from './adapter';
export type { SqliteDatabase, SqliteDriver, SqliteStatement } from './driver';
export type { SqliteFaultReason } from './faults';
