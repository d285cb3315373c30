import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    adapter: 'src/adapter.ts',
    'machines/index': 'src/machines/index.ts',
    'adapters/indexeddb': 'src/adapters/indexeddb/index.ts',
    'adapters/postgres': 'src/adapters/postgres/index.ts',
    'adapters/sqlite': 'src/adapters/sqlite/index.ts',
    'testing/index': 'src/testing/index.ts',
    'tool/index': 'src/tool/index.ts',
    'http/index': 'src/http/index.ts',
    'http/node': 'src/http/node.ts',
    'http/openapi': 'src/http/openapi.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: true,
  treeshake: true,
});
