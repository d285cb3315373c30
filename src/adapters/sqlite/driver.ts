/**
 * The part of a synchronous SQLite handle the adapter uses. better-sqlite3's `Database`,
 * `node:sqlite`'s `DatabaseSync` and `bun:sqlite`'s `Database` all have this shape: `exec` for
 * statements without results, `prepare` for statements run with positional parameters.
 */
export interface SqliteDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
}

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** Which driver a handle is, told apart by shape (none of them is imported). */
export type SqliteDriver = 'better-sqlite3' | 'node:sqlite' | 'bun:sqlite';

export function driverOf(database: SqliteDatabase): SqliteDriver {
  const handle = database as unknown as Record<string, unknown>;
  // better-sqlite3 has pragma() and transaction(); node:sqlite has isTransaction (or, before
  // 22.16, at least neither of those and a location()/open() API); Bun's has query() and serialize().
  if (typeof handle.pragma === 'function' && typeof handle.transaction === 'function') return 'better-sqlite3';
  if (typeof handle.query === 'function' && typeof handle.serialize === 'function') return 'bun:sqlite';
  return 'node:sqlite';
}

/**
 * Whether a handle was closed, where the driver says: better-sqlite3's `open`, node:sqlite's
 * `isOpen` (22.15+); Bun's `inTransaction`, and node:sqlite's `isTransaction`, throw once it is
 * closed. A closed Bun handle keeps answering the statements prepared before it closed, so this
 * is asked before every operation.
 */
export function isClosed(database: SqliteDatabase): boolean {
  const handle = database as unknown as Record<string, unknown>;
  if (typeof handle.open === 'boolean') return !handle.open;
  if (typeof handle.isOpen === 'boolean') return !handle.isOpen;
  try {
    void (handle.inTransaction ?? handle.isTransaction);
    return false;
  } catch {
    return true;
  }
}

/** Statements prepared once per handle and SQL text, run with rows normalised (Bun answers `null` for no row). */
export function statements(database: SqliteDatabase) {
  const prepared = new Map<string, SqliteStatement>();
  const statement = (sql: string) => {
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, (found = database.prepare(sql)));
    return found;
  };
  return {
    exec: (sql: string) => void database.exec(sql),
    run: (sql: string, ...params: unknown[]) => Number(statement(sql).run(...params).changes),
    get: <T>(sql: string, ...params: unknown[]) => (statement(sql).get(...params) ?? undefined) as T | undefined,
    all: <T>(sql: string, ...params: unknown[]) => statement(sql).all(...params) as T[],
  };
}

export type Statements = ReturnType<typeof statements>;
