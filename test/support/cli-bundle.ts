// The command line, bundled from the source for the tests that run it as a child process (its
// drivers stay outside, as an installed package finds them). Answers the file to run with node.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

export async function cliBundle(name: string): Promise<string> {
  const outfile = `${root}node_modules/.cache/instance-plan/${name}.mjs`;
  mkdirSync(`${root}node_modules/.cache/instance-plan`, { recursive: true });
  await build({ entryPoints: [`${root}src/cli/bin.ts`], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, external: ['better-sqlite3', 'pg'], define: { __INSTANCE_PLAN_VERSION__: '"0.0.0-test"' }, logLevel: 'silent' });
  return outfile;
}
