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
      include: [
        'test/machines.test.ts',
        'test/machines.internal.test.ts',
        'test/transitions.test.ts',
        'test/tool-input.test.ts',
        'test/scope.test.ts',
        'test/concurrency.test.ts',
        'test/model.test.ts',
        'test/graph-coverage.test.ts',
        'test/details-size.test.ts',
        'test/details-size.internal.test.ts',
        'test/messages-locale.test.ts',
        'test/conformance.memory.test.ts',
        'test/conformance.indexeddb.test.ts',
        'test/conformance.meta.test.ts',
        'test/indexeddb.test.ts',
        'test/indexeddb.internal.test.ts',
        'test/tool-defs.test.ts',
        'test/http.test.ts',
        'test/http-parts.test.ts',
        'test/http-parts.internal.test.ts',
        'test/docs.test.ts',
        'test/demo.test.ts',
        'test/kit/*.test.ts',
        'test/leases.test.ts',
        'test/indexeddb-schema.internal.test.ts',
        'test/memory-index.internal.test.ts',
        'test/indexeddb-counts.test.ts',
        'test/postgres.test.ts',
        'test/postgres.internal.test.ts',
        'test/conformance.docs.test.ts',
        'test/testing-arbitraries.test.ts',
        'test/notifications.test.ts',
        'test/manager-options.test.ts',
        'test/history.test.ts',
        'test/listing.test.ts',
        'test/plan-updates.test.ts',
        'test/storage-faults.test.ts',
        'test/refusal-messages.test.ts',
        'test/validation.test.ts',
        'test/errors.test.ts',
        'test/tool-answers.test.ts',
        'test/memory-adapter.test.ts',
        'test/builtin-adapters.test.ts',
        'test/clone-json.internal.test.ts',
        'test/machine-effects.test.ts',
        'test/round-trips.test.ts',
        'test/repeated-step-reports.test.ts',
        'test/sqlite.test.ts',
        'test/recovery.test.ts',
        'test/bounded-history.test.ts',
      ],
    },
  }),
);
