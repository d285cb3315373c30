import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Examples and docs import the package by name; in tests that name means the source.
const alias = { 'instance-plan': fileURLToPath(new URL('./src/index.ts', import.meta.url)) };

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
