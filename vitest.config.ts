import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Examples and docs import the package by name; in tests that name means the source.
// Subpaths ('instance-plan/indexeddb', ...) get entries of their own here as they are added.
const alias = [{ find: /^instance-plan$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }];

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
