import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src';
import { createInputSchemas } from '../src/tool';

/** fc.jsonValue() also makes "__proto__" keys, which are refused for themselves, whatever the size. */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Object.entries(value).some(([key, inner]) => key === '__proto__' || hasProtoKey(inner));
const protoRefusal = [{ code: 'custom', path: ['details'], message: 'must not contain the key "__proto__"' }];

/**
 * The size of a step's `details` is checked by a walk without recursion before zod parses it.
 * That walk counts a lower bound of JSON.stringify's length, so it must never refuse a value
 * that fits exactly, whatever it holds (escapes, unicode, numbers, nesting).
 */
describe('details size check', () => {
  it('accepts every JSON value whose serialised size is exactly the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const details = { value };
        const limit = JSON.stringify(details).length;
        const schema = createInputSchemas({ ...DEFAULT_LIMITS, maxDetailsLength: limit }).stepInput;
        const result = schema.safeParse({ title: 't', type: 'process', details });
        if (hasProtoKey(details)) expect(result.error?.issues).toEqual(protoRefusal);
        else expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses every JSON value one character over the limit, naming it', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const details = { value };
        const limit = JSON.stringify(details).length - 1;
        const schema = createInputSchemas({ ...DEFAULT_LIMITS, maxDetailsLength: limit }).stepInput;
        const result = schema.safeParse({ title: 't', type: 'process', details });
        expect(result.success).toBe(false);
        if (!hasProtoKey(details)) expect(JSON.stringify(result.error?.issues)).toContain('maxDetailsLength');
      }),
      { numRuns: 2_000 },
    );
  });

  it('details may nest 64 levels deep (the step\'s own object counted), and a deeper value is refused naming the bound', () => {
    const nest = (levels: number, inner: unknown = 1): unknown => (levels === 0 ? inner : nest(levels - 1, levels % 2 ? [inner] : { k: inner }));
    const schema = createInputSchemas(DEFAULT_LIMITS).stepInput;
    expect(schema.safeParse({ title: 't', type: 'process', details: { deep: nest(63) } }).success).toBe(true);
    expect(schema.safeParse({ title: 't', type: 'process', details: { deep: nest(64) } }).error?.issues).toEqual([
      { code: 'custom', path: ['details'], message: 'must nest at most 64 levels deep' },
    ]);
  });
});
