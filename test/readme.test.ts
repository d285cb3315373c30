import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, test, vi } from 'vitest';

// The quick start of README.md must run as written: it is written to a file beside this test
// (a dot-file, so neither tsc nor vitest picks it up by itself), type-checked against the source,
// and imported, with 'instance-plan' resolved to src/index.ts as in every test.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
const snippet = blocks[0] ?? '';
const snippetUrl = new URL(`./.readme-quick-start-${process.pid}.ts`, import.meta.url);
const snippetPath = fileURLToPath(snippetUrl);

describe('README.md for a user', () => {
  const shell = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((match) => match[1]!.trim());

  test('it starts by installing the package, before any other code', () => {
    const firstBlock = /^```(\w*)\n([\s\S]*?)^```/m.exec(readme);
    expect(firstBlock?.[1]).toBe('sh');
    expect(firstBlock?.[2]!.trim()).toBe('npm install instance-plan');
  });

  test('it shows exactly two repository commands: the demo and the tests (the rest is in CONTRIBUTING.md)', () => {
    const commands = shell.slice(1).flatMap((block) => block.split('\n')).map((line) => line.trim()).filter(Boolean);
    expect(commands).toEqual(['npm ci && npm run demo', 'npm test']);
    const runs = new Set([...readme.matchAll(/npm run (\w+)/g)].map((match) => match[1]));
    expect([...runs]).toEqual(['demo']);
    expect(readme).not.toMatch(/\.ci\/with-postgres/);
    expect(readme).toMatch(/\]\(CONTRIBUTING\.md\)/);
  });
});

describe('README.md quick start', () => {
  writeFileSync(snippetPath, snippet);
  afterAll(() => rmSync(snippetPath, { force: true }));

  test('there is exactly one ts block, short enough to read at a glance', () => {
    expect(blocks).toHaveLength(1);
    expect(snippet.trimEnd().split('\n').length).toBeLessThanOrEqual(22);
  });

  test('it type-checks against the library', () => {
    const configPath = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
    const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('.', import.meta.url)));
    const program = ts.createProgram([snippetPath], {
      ...options,
      noEmit: true,
      baseUrl: fileURLToPath(new URL('..', import.meta.url)),
      paths: { 'instance-plan': ['src/index.ts'] },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file?.fileName === snippetPath.replaceAll('\\', '/'))
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  test('it runs and prints what its `// →` comments say', async () => {
    const printed: unknown[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.join(' '));
    });
    try {
      await import(/* @vite-ignore */ snippetUrl.href);
    } finally {
      spy.mockRestore();
    }
    const promised = [...snippet.matchAll(/^\/\/ → (.*)$/gm)].map((match) => match[1]);
    expect(promised.length).toBeGreaterThan(0);
    expect(printed).toEqual(promised);
  });
});
