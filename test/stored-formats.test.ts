// Stores written by 0.1.0 open after the upgrade and read exactly what 0.1.0 wrote: its memory
// adapter's dump, its IndexedDB database (over fake-indexeddb here; the Chromium run is in
// test/indexeddb.browser.test.ts) and its PostgreSQL schema (on PGlite here; on a real server in
// test/postgres.server.test.ts). The fixtures were written by 0.1.0 itself (scripts/fixtures).
import 'fake-indexeddb/auto';
import { PGlite } from '@electric-sql/pglite';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { loadDump } from 'instance-plan';
import { migrate as migrateSqlite, sqliteAdapter, type SqliteDatabase } from 'instance-plan/sqlite';
import { indexedDBAdapter, SCHEMA_VERSION as IDB_VERSION } from 'instance-plan/indexeddb';
import { migrate, postgresAdapter, SCHEMA_VERSION as PG_VERSION } from 'instance-plan/postgres';
import { expectWhat010Wrote, INDEXEDDB_EXPORT, MEMORY_DUMP, postgresDumpInto, restoreIndexedDB } from './support/fixtures-0.1.0';
import { deleteDatabase, freshName } from './support/idb-harness';

describe('stores written by 0.1.0', () => {
  it('the memory adapter\'s dump loads, and reads back exactly', async () => {
    // A dump of version 1 (the records' shape of 0.1.0) is brought forward as it is read.
    expect(JSON.parse(MEMORY_DUMP[0]!)).toEqual({ format: 'instance-plan dump', version: 1 });
    await expectWhat010Wrote(await loadDump(MEMORY_DUMP));
  });

  it('the memory adapter\'s dump loads into a SQLite file (an adapter 0.1.0 did not have), and reads back exactly', async () => {
    const database = new Database(':memory:') as unknown as SqliteDatabase & { close(): void };
    try {
      migrateSqlite(database);
      await expectWhat010Wrote(await loadDump(MEMORY_DUMP, sqliteAdapter({ database })));
    } finally {
      database.close();
    }
  });

  it('a SQLite file of format 1 (written before the records\' shape 2) migrates, and reads back exactly', async () => {
    const database = new Database(':memory:') as unknown as SqliteDatabase & { close(): void; exec(sql: string): void };
    try {
      database.exec(readFileSync(new URL('./fixtures/sqlite-format-1/sqlite.sql', import.meta.url), 'utf8'));
      expect(migrateSqlite(database)).toEqual({ from: 1, to: 2 });
      await expectWhat010Wrote(sqliteAdapter({ database }));
      expect(migrateSqlite(database)).toEqual({ from: 2, to: 2 });
    } finally {
      database.close();
    }
  });

  it('its IndexedDB database opens (upgraded where the layout grew) and reads back exactly', async () => {
    const name = freshName('from-0.1.0');
    await restoreIndexedDB(indexedDB, name);
    const adapter = indexedDBAdapter({ name });
    try {
      expect(INDEXEDDB_EXPORT.version).toBeLessThanOrEqual(IDB_VERSION);
      await expectWhat010Wrote(adapter);
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });

  it('its PostgreSQL schema is migrated to this version and reads back exactly', async () => {
    const db = new PGlite();
    try {
      await db.exec(postgresDumpInto('from_0_1_0'));
      await db.exec('SET search_path TO DEFAULT');
      expect((await db.query<{ version: number }>('SELECT version FROM from_0_1_0.schema_version')).rows).toEqual([{ version: 1 }]);
      expect(await migrate(db, { schema: 'from_0_1_0' })).toEqual({ version: PG_VERSION });
      await expectWhat010Wrote(postgresAdapter({ client: db, schema: 'from_0_1_0' }));
    } finally {
      await db.close();
    }
  });
});
