import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Examples and docs import the package by name; in tests that name means the source.
// Subpaths ('instance-plan/indexeddb', ...) get entries of their own here as they are added.
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const alias = [
  { find: /^instance-plan$/, replacement: source('./src/index.ts') },
  { find: /^instance-plan\/tool$/, replacement: source('./src/tool/index.ts') },
  { find: /^instance-plan\/http$/, replacement: source('./src/http/index.ts') },
  { find: /^instance-plan\/http\/node$/, replacement: source('./src/http/node.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
