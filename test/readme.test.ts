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

// The framework table: each row's imports and lines of use, written to a file as a user would
// paste them (after a manager, an instance id and a prompt), must type-check under the strict
// settings of the tests, against the frameworks' own types, with no cast.
describe('README.md framework table', () => {
  const section = readme.slice(readme.indexOf('## With your agent framework'), readme.indexOf('## Quick start'));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| framework') && !line.startsWith('|---'))
    .map((line) => {
      const [name, imports, uses] = line.split(' | ').map((cell) => cell.replace(/^\| /, '').replace(/ \|$/, ''));
      const code = (cell: string) => cell.split('<br>').map((part) => part.trim().replace(/^`|`$/g, ''));
      return { name: name!, imports: code(imports!), uses: code(uses!) };
    });

  test('it has a row per framework, each used in at most three lines', () => {
    expect(rows.map((row) => row.name.split(' (')[0])).toEqual(['Vercel AI SDK', 'OpenAI Agents SDK', 'LangChain and LangGraph', 'Anthropic', 'Mastra', 'MCP']);
    for (const row of rows) expect(row.uses.length, row.name).toBeLessThanOrEqual(3);
  });

  test('every row type-checks as pasted, against the frameworks it names', () => {
    const configPath = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
    const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('.', import.meta.url)));
    const paths = rows.map((row, i) => {
      const path = fileURLToPath(new URL(`./.readme-framework-${i}-${process.pid}.ts`, import.meta.url));
      const setup = ["import { PlanManager } from 'instance-plan';", 'const manager = new PlanManager();', "const instance_id = 'an-instance-id';", "const prompt = 'Research instance plans.';"];
      writeFileSync(path, [...row.imports, ...setup, ...row.uses, 'export {};', ''].join('\n'));
      return path;
    });
    try {
      const program = ts.createProgram(paths, { ...options, noEmit: true, noUnusedLocals: false });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((diagnostic) => paths.includes(diagnostic.file?.fileName ?? ''))
        .map((diagnostic) => `${rows[paths.indexOf(diagnostic.file!.fileName)]!.name}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
      expect(problems).toEqual([]);
      for (const row of rows) expect(row.imports.concat(row.uses).join('\n'), row.name).not.toMatch(/\bas (any|unknown|never)\b|<any>/);
    } finally {
      for (const path of paths) rmSync(path, { force: true });
    }
  }, 60_000);
});
