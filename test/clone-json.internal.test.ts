// cloneJson (src/adapters/clone.ts, internal to the package): the deep copy every built-in adapter
// hands out and stores. A copy must be what JSON.parse would build from the same text: plain
// objects and arrays with ordinary properties, "__proto__" keys kept as data, no inherited keys,
// and nothing shared with the original.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloneJson } from '../src/adapters/clone';
import { expectJsonCopy, WITH_PROTO_KEYS } from './support/json-copy';


describe('cloneJson: the copy every adapter hands out and stores', () => {
  it('copies any JSON value into plain objects and arrays, sharing nothing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expectJsonCopy(cloneJson(value), value, { frozen: false });
      }),
      { numRuns: 300 },
    );
  });

  it('copies top-level null and primitives as they are', () => {
    for (const value of [null, 0, -1.5, '', 'text', true, false]) expect(cloneJson(value)).toBe(value);
  });

  it('copies "__proto__" keys as ordinary data, never as prototypes', () => {
    const original = JSON.parse(WITH_PROTO_KEYS) as Record<string, unknown>;
    const copy = cloneJson(original);
    expectJsonCopy(copy, original, { frozen: false });
    expect(JSON.stringify(copy)).toBe(JSON.stringify(original));
    // the copy is the caller's own, to change as it likes
    copy['__proto__'] = 'replaced';
    delete copy['c'];
    expect(Object.keys(copy)).toEqual(['__proto__', 'e']);
    expect(JSON.stringify(original)).toBe(JSON.stringify(JSON.parse(WITH_PROTO_KEYS)));
  });

  it('copies own keys only, even when Object.prototype has been given an enumerable key', () => {
    const original = { a: { b: 1 }, c: [{ d: 'x' }] };
    for (const polluted of [{ injected: true }, 'injected']) {
      Object.defineProperty(Object.prototype, 'pollution', { value: polluted, enumerable: true, configurable: true, writable: true });
      let copy: typeof original;
      try {
        copy = cloneJson(original);
      } finally {
        delete (Object.prototype as Record<string, unknown>)['pollution'];
      }
      expect(Object.keys(copy)).toEqual(['a', 'c']);
      expect(Object.keys(copy.a)).toEqual(['b']);
      expect(Object.keys(copy.c[0]!)).toEqual(['d']);
    }
  });
});
