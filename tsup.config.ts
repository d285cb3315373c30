import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

const entries = {
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
  'http/inspector': 'src/http/inspector.ts',
};

export default defineConfig({
  // cli: npx instance-plan (package.json "bin"), an executable, not an entry to import.
  entry: { ...entries, cli: 'src/cli/bin.ts' },
  format: ['esm', 'cjs'],
  // Declarations for every entry but the executable.
  dts: { entry: entries },
  define: { __INSTANCE_PLAN_VERSION__: JSON.stringify(version) },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: true,
  treeshake: true,
});
