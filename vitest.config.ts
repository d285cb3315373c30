import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Examples and docs import the package by name; in tests that name means the source.
// Each subpath gets an exact entry of its own, so 'instance-plan' never swallows a subpath.
export const alias = [
  { find: /^instance-plan$/, replacement: source('./src/index.ts') },
  { find: /^instance-plan\/adapter$/, replacement: source('./src/adapter.ts') },
  { find: /^instance-plan\/machines$/, replacement: source('./src/machines/index.ts') },
  { find: /^instance-plan\/indexeddb$/, replacement: source('./src/adapters/indexeddb/index.ts') },
  { find: /^instance-plan\/postgres$/, replacement: source('./src/adapters/postgres/index.ts') },
  { find: /^instance-plan\/sqlite$/, replacement: source('./src/adapters/sqlite/index.ts') },
  { find: /^instance-plan\/testing$/, replacement: source('./src/testing/index.ts') },
  { find: /^instance-plan\/tool$/, replacement: source('./src/tool/index.ts') },
  { find: /^instance-plan\/http$/, replacement: source('./src/http/index.ts') },
  { find: /^instance-plan\/http\/node$/, replacement: source('./src/http/node.ts') },
  { find: /^instance-plan\/http\/openapi$/, replacement: source('./src/http/openapi.ts') },
  { find: /^instance-plan\/http\/inspector$/, replacement: source('./src/http/inspector.ts') },
];

// The browser tests drive Debian's Chromium (Playwright cannot download one here); .ci/run
// installs it with apt-get when it is missing. CHROMIUM_PATH points elsewhere if needed.
export const chromium = playwright({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/**/*.browser.test.ts'] },
      },
      {
        extends: true,
        // Pre-bundled up front, so Vite does not discover them mid-run and reload the page.
        optimizeDeps: { include: ['idb', 'immer', 'xstate', 'zod/mini'] },
        test: {
          name: 'chromium',
          include: ['test/**/*.browser.test.ts'],
          browser: { enabled: true, headless: true, provider: chromium, instances: [{ browser: 'chromium' }] },
          // One file at a time: the files share an origin, and the quota test lowers its quota.
          fileParallelism: false,
        },
      },
    ],
  },
});
