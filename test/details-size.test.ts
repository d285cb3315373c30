import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createInputSchemas, DEFAULT_LIMITS } from '../src';
import { inspectJson, MAX_DETAILS_DEPTH } from '../src/schemas/inputs';

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
});

/**
 * The walk stops early only because its count is exact wherever JSON.stringify adds nothing of
 * its own (no escapes, no lone surrogates): then a value of n characters passes at n and is
 * stopped at n - 1 by the walk itself, before zod parses anything. Depth is counted the same way:
 * 64 levels of objects and arrays pass, the 65th is refused.
 */
describe('the walk over details (inspectJson)', () => {
  const plainText = fc.string({ unit: fc.constantFrom('a', 'Z', '7', ' ', 'é', '😀', '-'), maxLength: 8 });
  const { plain } = fc.letrec<{ plain: unknown }>((tie) => ({
    plain: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      plainText,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('plain'), { maxLength: 4 }),
      fc.dictionary(plainText, tie('plain'), { maxKeys: 4 }),
    ),
  }));

  it('counts exactly the characters of JSON.stringify for values that need no escapes', () => {
    fc.assert(
      fc.property(plain, (value) => {
        const length = JSON.stringify(value).length;
        expect(inspectJson(value, length)).toBeUndefined();
        expect(inspectJson(value, length - 1)).toBe('too long');
      }),
      { numRuns: 1_000 },
    );
  });

  it('is a lower bound for any JSON value: what fits is never called too long', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        expect(inspectJson(value, JSON.stringify(value).length)).not.toBe('too long');
      }),
      { numRuns: 1_000 },
    );
  });

  it('allows 64 levels of nesting and refuses the 65th, with a message naming the bound', () => {
    const nest = (levels: number, inner: unknown = 1): unknown => (levels === 0 ? inner : nest(levels - 1, levels % 2 ? [inner] : { k: inner }));
    expect(MAX_DETAILS_DEPTH).toBe(64);
    expect(inspectJson(nest(64), Infinity)).toBeUndefined();
    expect(inspectJson(nest(65), Infinity)).toBe('too deep');
    const schema = createInputSchemas(DEFAULT_LIMITS).stepInput;
    expect(schema.safeParse({ title: 't', type: 'process', details: { deep: nest(63) } }).success).toBe(true);
    expect(schema.safeParse({ title: 't', type: 'process', details: { deep: nest(64) } }).error?.issues).toEqual([
      { code: 'custom', path: ['details'], message: 'must nest at most 64 levels deep' },
    ]);
  });

  it('finds "__proto__" at any depth, and reports length first when both apply', () => {
    const withProto = JSON.parse('{"a":[{"b":{"__proto__":1}}]}');
    expect(inspectJson(withProto, Infinity)).toBe('proto key');
    expect(inspectJson(withProto, 5)).toBe('too long');
    expect(inspectJson({ ok: ['x', 1, null, true] }, Infinity)).toBeUndefined();
  });
});
