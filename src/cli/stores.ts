// The stores the command line opens, named by a URL-like string:
//   sqlite:./plans.db   sqlite:/var/lib/agent/plans.db   (better-sqlite3, or node:sqlite on Node 22.5+)
//   postgres://user@host:5432/db?schema=instance_plan     (pg; postgresql:// too)
// The drivers are optional peers of the package: a missing one is named, with how to install it.
import type { StorageAdapter } from '../adapters/contract';
import { migrate as migrateSqlite, sqliteAdapter, type SqliteDatabase } from '../adapters/sqlite/index';
import { migrate as migratePostgres, postgresAdapter } from '../adapters/postgres/index';

export class UsageError extends Error {}

export interface OpenStore {
  /** How the store was named, without a password. */
  readonly name: string;
  readonly adapter: StorageAdapter;
  /** Creates or upgrades the store's tables; answers what it did. */
  migrate(): Promise<string>;
  close(): Promise<void>;
}

/** A driver the store needs (an optional peer of the package), or a UsageError saying how to get it. */
async function driver<T>(name: string, install: string): Promise<T> {
  try {
    const loaded = (await import(name)) as { default?: T };
    return (loaded.default ?? loaded) as T;
  } catch {
    throw new UsageError(`this store needs ${install}`);
  }
}

/**
 * The store `url` names, opened. `create`: a SQLite file that is not there is made (migrate).
 * `listen`: a PostgreSQL store also keeps a connection that listens, so that its adapter hears
 * every process's commits (the inspector follows them live); a SQLite file has no change feed.
 */
export async function openStore(url: string, { create = false, listen = false }: { create?: boolean; listen?: boolean } = {}): Promise<OpenStore> {
  if (url.startsWith('sqlite:')) return openSqlite(url, url.slice('sqlite:'.length), create);
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, listen);
  throw new UsageError(`${JSON.stringify(url)} names no store: write sqlite:<file> (sqlite:./plans.db) or postgres://user@host/database`);
}

async function openSqlite(url: string, file: string, create: boolean): Promise<OpenStore> {
  if (file === '') throw new UsageError('sqlite: needs a file, e.g. sqlite:./plans.db');
  const { existsSync } = await import('node:fs');
  if (!create && !existsSync(file)) throw new UsageError(`${url}: no such file (migrate creates one: instance-plan migrate ${url})`);
  const database = await openSqliteFile(file);
  return {
    name: url,
    adapter: sqliteAdapter({ database }),
    async migrate() {
      const { from, to } = migrateSqlite(database);
      return from === to ? `${url} is at format ${to} already` : `${url} migrated from format ${from} to ${to}`;
    },
    async close() {
      database.close();
    },
  };
}

type SqliteHandle = SqliteDatabase & { close(): void };

/** better-sqlite3 when it is installed, else Node's own node:sqlite (22.5 and later). */
async function openSqliteFile(file: string): Promise<SqliteHandle> {
  const install = 'better-sqlite3 (npm install better-sqlite3), or Node 22.5 or later (node:sqlite)';
  const Database = await driver<new (file: string) => SqliteHandle>('better-sqlite3', install).catch(async () => (await driver<{ DatabaseSync: new (file: string) => SqliteHandle }>('node:sqlite', install)).DatabaseSync);
  return new Database(file);
}

async function openPostgres(url: string, listen: boolean): Promise<OpenStore> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${JSON.stringify(url)} is not a PostgreSQL URL (postgres://user@host:5432/database)`);
  }
  const schema = parsed.searchParams.get('schema') ?? 'instance_plan';
  parsed.searchParams.delete('schema');
  const { Pool, Client } = await driver<{
    Pool: new (options: { connectionString: string; max: number; connectionTimeoutMillis: number }) => PgPool;
    Client: new (options: { connectionString: string; connectionTimeoutMillis: number }) => PgClient;
  }>('pg', 'pg (npm install pg)');
  // A server that does not answer is given up on after 10 s (pg waits for ever by default).
  const pool = new Pool({ connectionString: parsed.href, max: 4, connectionTimeoutMillis: 10_000 });
  // A lost connection is answered by the next query; unheard, the event would end the process.
  pool.on('error', () => undefined);
  const listener = listen ? new Client({ connectionString: parsed.href, connectionTimeoutMillis: 10_000 }) : undefined;
  if (listener) {
    listener.on('error', () => undefined);
    await listener.connect().catch(async (error: unknown) => {
      await pool.end();
      // The driver's reason (a refused connection, a wrong password, no such database) is for the
      // operator at the terminal: the URL is named without its password.
      throw new Error(`cannot connect to ${redacted(parsed)}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
  const name = `${redacted(parsed)}${schema === 'instance_plan' ? '' : ` (schema ${schema})`}`;
  return {
    name,
    adapter: postgresAdapter({ client: pool, schema, notify: true, ...(listener ? { listen: listener } : {}) }),
    async migrate() {
      const { version } = await migratePostgres(pool, { schema });
      return `${name} is at version ${version}`;
    },
    async close() {
      // Both, whatever the other does.
      await Promise.allSettled([listener?.end(), pool.end()]);
    },
  };
}

/** The URL as it may be printed: its password starred. */
function redacted(url: URL): string {
  const shown = new URL(url.href);
  shown.password = shown.password ? '***' : '';
  return shown.href;
}

interface PgClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  on(event: 'error', listener: () => void): unknown;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  end(): Promise<void>;
}

interface PgPool {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  on(event: 'error', listener: () => void): unknown;
  end(): Promise<void>;
}
