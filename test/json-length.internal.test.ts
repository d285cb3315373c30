// jsonLength (src/schemas/json-length.ts, internal): a step's details measured as JSON without
// writing the JSON, for maxDetailsLength and maxPlanTextLength. It must be JSON.stringify's length
// exactly, for any value, escapes and lone surrogates included.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { jsonLength } from '../src/schemas/json-length';

describe('jsonLength', () => {
  it('is the length of JSON.stringify, for any JSON value with any text (property)', () => {
    const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', '\ud800', '\udc00', 'é', '😀', 'a') }));
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5, stringUnit: 'binary' }), fc.dictionary(text, fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null))), (value, more) => {
        for (const each of [{ value }, [value, more], more]) expect(jsonLength(each)).toBe(JSON.stringify(each).length);
      }),
      { numRuns: 1_000 },
    );
  });

  it('every UTF-16 code unit alone is measured as JSON.stringify writes it (escaped or not)', () => {
    for (let unit = 0; unit <= 0xffff; unit++) {
      const text = String.fromCharCode(unit);
      expect(jsonLength([text]), `U+${unit.toString(16)}`).toBe(JSON.stringify([text]).length);
    }
  });

  it('measures plain data without writing it: JSON.stringify runs only for a string with an escape', () => {
    const plain = { a: [1, -0.5, 1e21, Number.NaN, -Infinity, true, false, null, 'plain text', { b: 'x'.repeat(100) }], c: [], d: {} };
    const escaped = { e: 'a "quoted" line\n' };
    const expected = [JSON.stringify(plain).length, JSON.stringify(escaped).length];
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      expect(jsonLength(plain)).toBe(expected[0]);
      expect(stringify).not.toHaveBeenCalled();
      expect(jsonLength(escaped)).toBe(expected[1]);
      expect(stringify.mock.calls).toEqual([['a "quoted" line\n']]);
    } finally {
      stringify.mockRestore();
    }
  });

  it('numbers as JSON writes them: -0, exponents, and NaN and the infinities as null', () => {
    const numbers = [-0, 1e21, 1e-7, 123.456, -5e-324, Number.MAX_SAFE_INTEGER, Number.NaN, Infinity, -Infinity];
    expect(jsonLength(numbers)).toBe(JSON.stringify(numbers).length);
  });

  it('leaves what is not plain JSON data to JSON.stringify: toJSON, undefined, functions', () => {
    const odd = [{ at: new Date(0) }, { gone: undefined, kept: 1 }, [undefined, () => 1], { toJSON: () => 'x' }];
    for (const value of odd) expect(jsonLength(value)).toBe(JSON.stringify(value).length);
  });

  it('remembers each object it measured', () => {
    const value = { a: 'x'.repeat(10) };
    expect(jsonLength(value)).toBe(18);
    (value as { a: string }).a = 'changed afterwards';
    expect(jsonLength(value)).toBe(18);
  });
});
