// Run by .ci/runtimes with Bun: bun test test/runtimes/sqlite-conformance.bun.test.mjs
import { afterAll, describe, it } from 'bun:test';
import { Database } from 'bun:sqlite';
import { closedHandle, sqliteConformance } from './sqlite-conformance.shared.mjs';

sqliteConformance({
  name: 'SQLite adapter (bun:sqlite)',
  driver: 'bun:sqlite',
  open: (file) => new Database(file),
  describe,
  it: (name, body) => it(name, body, 60_000),
  after: afterAll,
});

closedHandle({ driver: 'bun:sqlite', open: (file) => new Database(file), it: (name, body) => it(name, body, 60_000), after: afterAll });
