// Run by .ci/runtimes with Node 22: node --test test/runtimes/sqlite-conformance.node22.test.mjs
import { after, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { closedHandle, sqliteConformance } from './sqlite-conformance.shared.mjs';

sqliteConformance({
  name: 'SQLite adapter (node:sqlite)',
  driver: 'node:sqlite',
  open: (file) => new DatabaseSync(file),
  describe,
  it: (name, body) => it(name, { timeout: 60_000 }, body),
  after,
});

closedHandle({ driver: 'node:sqlite', open: (file) => new DatabaseSync(file), it: (name, body) => it(name, { timeout: 60_000 }, body), after });
