// instance-plan/postgres: the PostgreSQL storage adapter, for many workers on one database.

import { createAdapter, type PostgresAdapter, type PostgresAdapterOptions } from './adapter';

/**
 * Stores instances, plans, leases and their history in PostgreSQL, through any client with a
 * `query(text, params)` method: a `pg` Pool or Client, or a PGlite. Run `migrate(client)` first
 * (once per deployment, or on every start: it is idempotent).
 *
 * - A commit is one statement (a call of the function `migrate` installs), so it is one
 *   transaction whichever pooled connection runs it: every write an `UPDATE ... WHERE id = $1
 *   AND version = $2` (or an insert), every check a `SELECT ... FOR SHARE`, and the first that
 *   does not match rolls the whole batch back and is reported as `CONFLICT`.
 * - Lists page in the database (`ORDER BY created_at DESC, id` through an index per filter,
 *   `LIMIT`/`OFFSET`, and a count), reading only the page's records.
 * - A change feed across processes with `listen` (a connection kept for LISTEN): every commit
 *   notifies in its transaction, and `subscribe` hears the commits of every process on the
 *   schema in commit order. Without it `subscribe` is absent, and each manager announces its own.
 * - Faults are `STORAGE_ERROR` with `details.reason` (`connection`, `serialization`,
 *   `not_migrated`, ...) and the driver's error as the cause.
 *
 * @example
 * import pg from 'pg';
 * import { PlanManager } from 'instance-plan';
 * import { migrate, postgresAdapter } from 'instance-plan/postgres';
 *
 * const client = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(client);
 * const manager = new PlanManager({ adapter: postgresAdapter({ client }) });
 */
export function postgresAdapter(options: PostgresAdapterOptions): PostgresAdapter {
  return createAdapter(options);
}

export { migrate, type MigrateOptions } from './migrate';
export { SCHEMA_VERSION } from './schema';
export type { PostgresAdapter, PostgresAdapterOptions } from './adapter';
export type { PostgresClient } from './client';
export type { PostgresListenClient } from './feed';
export type { PostgresFaultReason } from './faults';
