import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

/**
 * Why the examples cannot be run as written (`node examples/...`), or undefined when they can.
 * Run that way, 'instance-plan' resolves to dist/ through package.json "exports", so dist/
 * must exist and be newer than every source file; CI builds before it tests.
 */
export function builtPackageProblem(): string | undefined {
  const needed = ['dist/index.js', 'dist/tool/index.js', 'dist/http/index.js', 'dist/http/node.js'].map((path) => new URL(path, root));
  if (!needed.every((file) => existsSync(file))) return 'the package is not built: run npm run build';
  const built = Math.min(...needed.map((file) => statSync(file).mtimeMs));
  const sources = readdirSync(new URL('src/', root), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  const changed = Math.max(...sources.map((entry) => statSync(`${entry.parentPath}/${entry.name}`).mtimeMs));
  return changed > built ? 'dist/ is older than src/: run npm run build' : undefined;
}
