import { defineConfig } from 'vitest/config';
import { alias, chromium } from '../vitest.config';

// The IndexedDB part of `npm run bench`: real Chromium, one file, figures written to
// bench/.browser-results.json for bench/run.mjs to put into RESULTS.md.
export default defineConfig({
  resolve: { alias },
  optimizeDeps: { include: ['idb', 'immer', 'zod/mini'] },
  test: {
    include: ['bench/browser/*.test.ts'],
    testTimeout: 600_000,
    browser: { enabled: true, headless: true, provider: chromium, instances: [{ browser: 'chromium' }] },
  },
});
