// The SQLite adapter's conformance suite on a runtime's own driver, against the built package:
// shared by the Node 22 (node:sqlite) and Bun (bun:sqlite) runs of .ci/sqlite-runtimes, each
// of which passes its runner's describe/it and a way to open a database file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, sqliteAdapter } from '../../dist/adapters/sqlite.js';
import { adapterConformance } from '../../dist/testing/index.js';

/** Closing twice is closing once (node:sqlite throws on a second close; the suite closes, then disposes). */
const closer = (database) => {
  let closed = false;
  return () => {
    if (!closed) database.close();
    closed = true;
  };
};

export function sqliteConformance({ name, driver, open, describe, it, after }) {
  const folder = mkdtempSync(join(tmpdir(), `instance-plan-${driver.replace(':', '-')}-`));
  after(() => rmSync(folder, { recursive: true, force: true }));
  let files = 0;
  const fileOf = new WeakMap();
  adapterConformance({
    name,
    create() {
      const file = join(folder, `test-${++files}.db`);
      const database = open(file);
      migrate(database);
      const adapter = sqliteAdapter({ database });
      if (adapter.driver !== driver) throw new Error(`the adapter took ${driver} for ${adapter.driver}`);
      fileOf.set(adapter, file);
      return Object.assign(adapter, { close: closer(database) });
    },
    connect(adapter) {
      const database = open(fileOf.get(adapter));
      return Object.assign(sqliteAdapter({ database }), { close: closer(database) });
    },
    changeFeed: false,
    describe,
    it,
  });
}
