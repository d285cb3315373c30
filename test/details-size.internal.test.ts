// The walk over a step's `details` (inspectJson, src/schemas/inputs.ts, internal): it runs before
// zod parses anything, and must count sizes and depths exactly as test/details-size.test.ts
// expects of the schemas a user calls.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectJson, MAX_DETAILS_DEPTH } from '../src/schemas/inputs';

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
  });

  it('finds "__proto__" at any depth, and reports length first when both apply', () => {
    const withProto = JSON.parse('{"a":[{"b":{"__proto__":1}}]}');
    expect(inspectJson(withProto, Infinity)).toBe('proto key');
    expect(inspectJson(withProto, 5)).toBe('too long');
    expect(inspectJson({ ok: ['x', 1, null, true] }, Infinity)).toBeUndefined();
  });
});
