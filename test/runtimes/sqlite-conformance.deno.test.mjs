// Run by .ci/runtimes with Deno: deno test --allow-all test/runtimes/sqlite-conformance.deno.test.mjs
// Deno has node:sqlite (DatabaseSync), the driver the adapter takes on Node 22 too.
import { DatabaseSync } from 'node:sqlite';
import { collector } from './everywhere.shared.mjs';
import { closedHandle, sqliteConformance } from './sqlite-conformance.shared.mjs';

const tests = collector();
const cleanups = [];
const after = (cleanup) => cleanups.push(cleanup);
sqliteConformance({ name: `SQLite adapter (node:sqlite, Deno ${Deno.version.deno})`, driver: 'node:sqlite', open: (file) => new DatabaseSync(file), describe: tests.describe, it: tests.it, after });
closedHandle({ driver: 'node:sqlite', open: (file) => new DatabaseSync(file), it: tests.it, after });
for (const { name, body } of tests.tests) Deno.test({ name, fn: body, sanitizeOps: false, sanitizeResources: false });
Deno.test({ name: 'cleanup: the test files go', fn: () => cleanups.forEach((cleanup) => cleanup()) });
