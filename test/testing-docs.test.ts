import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/testing.md quotes whole test files of test/kit/ as its examples; they run as part of
// the suite, and this test fails when the page and the files drift apart.
const page = readFileSync(new URL('../docs/testing.md', import.meta.url), 'utf8');
const examples = [...page.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/g)].map((match) => ({
  path: match[1]!,
  code: match[2]!,
}));

describe('docs/testing.md examples', () => {
  it('quotes the three kit examples', () => {
    expect(examples.map((example) => example.path)).toEqual([
      'test/kit/your-adapter.test.ts',
      'test/kit/your-agent.test.ts',
      'test/kit/your-integration.test.ts',
    ]);
  });

  it.each(examples)('$path is quoted exactly as it runs', ({ path, code }) => {
    expect(code).toBe(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8'));
  });
});
