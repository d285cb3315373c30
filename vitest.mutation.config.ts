import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * The tests Stryker runs against each mutant (`npm run mutation`): the Node suites that check
 * behaviour. Left out: the Chromium project (one browser per mutant is far too slow; the same
 * IndexedDB code runs over fake-indexeddb here), and tests that spawn processes or type-check
 * files (the examples and the README), which exercise no src/ line the others do not.
 *
 * Here only, the exact module id `fast-check` means test/support/fast-check-capped.ts: every
 * property runs at most 60 times per mutant (docs/testing.md, "Mutation testing", says why).
 */
export default mergeConfig(
  { ...base, test: { ...base.test, projects: undefined } },
  defineConfig({
    resolve: {
      alias: [{ find: /^fast-check$/, replacement: fileURLToPath(new URL('./test/support/fast-check-capped.ts', import.meta.url)) }],
    },
    test: {
      // Every Node suite, so that a new test file counts without being listed here.
      include: ['test/**/*.test.ts'],
      exclude: [
        'test/**/*.browser.test.ts',
        'test/runtimes/**',
        // They spawn processes, type-check files or compare pages with files: no src/ line the others miss.
        'test/examples-http.test.ts',
        'test/examples-mcp.test.ts',
        'test/sqlite.processes.test.ts',
        'test/readme.test.ts',
        'test/testing-docs.test.ts',
        'test/docs-snippets.test.ts',
        'test/cli.test.ts',
        'test/inspector.test.ts',
        // Needs DATABASE_URL (a real server); the PGlite suite runs the same code.
        'test/postgres.server.test.ts',
        // Imports every entry point per covered mutant, and kills nothing the others do not.
        'test/public-surface.test.ts',
      ],
    },
  }),
);
