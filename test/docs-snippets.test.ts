// Every TypeScript block of README.md and docs/*.md type-checks as a user pastes it: under the
// strict settings of the tests, against the real types of the frameworks, drivers and platforms it
// names (the AI SDK, the OpenAI Agents SDK, LangChain, Anthropic's and OpenAI's SDKs, MCP,
// better-sqlite3, Chrome's extension APIs), with no cast. Names a page introduces in prose or in
// an earlier block (`manager`, `tool`, `model`, ...) are declared once, with the types the docs
// give them, in test/fixtures/docs-globals.d.ts. A block may import a file the page tells the
// reader to write: the localStorage adapter of docs/adapters.md, the client types openapi-typescript
// generates (test/fixtures/openapi-paths.ts).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const pages = ['README.md', ...readdirSync(new URL('docs/', root)).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const blocks = pages.flatMap((page) => {
  const text = read(page);
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => ({ page, line: text.slice(0, match.index).split('\n').length, code: match[1]! }));
});

const folder = new URL(`./.docs-snippets-${process.pid}/`, import.meta.url);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('the TypeScript blocks of the README and docs/', () => {
  it('there are blocks on the pages that show code', () => {
    expect(blocks.length).toBeGreaterThan(20);
  });

  it('each type-checks as pasted, strictly, against the real packages, with no cast', () => {
    mkdirSync(folder, { recursive: true });
    // The files pages tell the reader to write, beside the blocks that import them.
    const example = /<!-- example: local-storage-adapter -->\n```ts\n([\s\S]*?)```/.exec(read('docs/adapters.md'))![1]!;
    writeFileSync(new URL('local-storage-adapter.ts', folder), example);
    writeFileSync(new URL('instance-plan-api.ts', folder), read('test/fixtures/openapi-paths.ts'));
    const files = blocks.map((block, i) => {
      const path = fileURLToPath(new URL(`block-${i}.ts`, folder));
      writeFileSync(path, `${block.code}\nexport {};\n`);
      return path;
    });
    const configPath = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
    const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('.', import.meta.url)));
    const globals = fileURLToPath(new URL('./fixtures/docs-globals.d.ts', import.meta.url));
    const program = ts.createProgram([...files, globals], { ...options, noEmit: true, noUnusedLocals: false, types: ['node', 'chrome'] });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file && files.includes(diagnostic.file.fileName))
      .map((diagnostic) => {
        const block = blocks[files.indexOf(diagnostic.file!.fileName)]!;
        const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        return `${block.page}:${block.line + 1 + line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
      });
    expect(problems).toEqual([]);
    const casts = blocks.filter((block) => /\bas (any|unknown|never)\b|<any>|@ts-(ignore|expect-error)/.test(block.code)).map((block) => `${block.page}:${block.line}`);
    expect(casts).toEqual([]);
  }, 120_000);
});
