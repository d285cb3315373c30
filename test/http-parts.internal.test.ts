// The HTTP handler's internal parts (src/http): its tables, the JSON depth scan that runs before JSON.parse,
// the media-type check, and the bearer token reader. test/http-parts.test.ts and test/http.test.ts
// check the handler they make up.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ERROR_CODES, Instance } from '../src';
import { bearerToken } from '../src/http/auth';
import { TRANSITION_INSTANCE_FIELDS } from '../src/http/instance-view';
import { STATUS_BY_CODE } from '../src/http/status';
import { jsonShapeScanner } from '../src/http/json-shape';
import { notJsonBecause } from '../src/http/media-type';
import { HttpRefusal } from '../src/http/refusal';

describe('tables', () => {
  test('every error code of the manager has a status', () => {
    expect(Object.keys(STATUS_BY_CODE).sort()).toEqual([...ERROR_CODES].sort());
  });

  test('the Transition Instance endpoint\'s fields are the instance record without version and the library\'s own fields', () => {
    // The endpoint answers exactly its published fields; the reason and the budgets are the library's.
    const libraryOnly = ['version', 'status_reason', 'max_turns', 'max_tokens'];
    expect(TRANSITION_INSTANCE_FIELDS).toHaveLength(15);
    expect(new Set(TRANSITION_INSTANCE_FIELDS)).toEqual(new Set(Object.keys(Instance.shape).filter((key) => !libraryOnly.includes(key))));
  });
});

describe('jsonShapeScanner', () => {
  const depthOf = (value: unknown): number =>
    typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
  const keysOf = (value: unknown): number =>
    typeof value !== 'object' || value === null ? 0 : Math.max(Array.isArray(value) ? 0 : Object.keys(value).length, ...Object.values(value).map(keysOf));
  /**
   * The scanner's answer for `text`, its UTF-8 bytes given in pieces cut at `cuts` (any byte,
   * inside a character too; a cut given twice is an empty piece, as a web stream may give).
   */
  const scan = (text: string, limits: { maxDepth: number; maxKeys: number }, cuts: number[] = []) => {
    const bytes = new TextEncoder().encode(text);
    const scanner = jsonShapeScanner(limits);
    const at = cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
    let from = 0;
    for (const to of [...at, bytes.length]) {
      const breach = scanner.push(bytes.subarray(from, to));
      if (breach) return breach;
      from = to;
    }
    return undefined;
  };

  test('agrees with the depth and the widest object of the parsed value, for any JSON given in any pieces (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 6 }), fc.array(fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2, 3)), { maxLength: 8 }), (value, maxDepth, maxKeys, cuts) => {
        const text = JSON.stringify(value);
        const depth = depthOf(value);
        const keys = keysOf(value);
        expect(scan(text, { maxDepth: 100, maxKeys: 100 }, cuts)).toBeUndefined();
        const breach = scan(text, { maxDepth, maxKeys }, cuts);
        expect(breach).toEqual(scan(text, { maxDepth, maxKeys }));
        if (depth <= maxDepth && keys <= maxKeys) expect(breach).toBeUndefined();
        else expect(breach).toBeDefined();
        // Whichever comes first in the text is named; only a breach the value has can be.
        if (breach?.limit === 'maxDepth') expect(depth).toBeGreaterThan(maxDepth);
        if (breach?.limit === 'maxKeys') expect(keys).toBeGreaterThan(maxKeys);
      }),
      { numRuns: 1_000 },
    );
  });

  test('brackets, braces and commas inside strings, escaped quotes and backslashes (also cut between chunks) do not count', () => {
    const text = '{"a":"[[[{{{,,,","b":"\\"[[[,","c":"\\\\","d":[1,2,3,4],"é€😀":"{,"}';
    expect(JSON.parse(text)).toMatchObject({ c: '\\' });
    for (let cut = 0; cut <= new TextEncoder().encode(text).length; cut++) {
      for (const cuts of [[cut], [cut, cut], [cut, cut, cut]]) {
        expect(scan(text, { maxDepth: 2, maxKeys: 5 }, cuts)).toBeUndefined();
        expect(scan(text, { maxDepth: 1, maxKeys: 5 }, cuts)).toEqual({ limit: 'maxDepth' });
        expect(scan(text, { maxDepth: 2, maxKeys: 4 }, cuts)).toEqual({ limit: 'maxKeys' });
      }
    }
    // A backslash that ends a chunk, an empty chunk, then the byte it escapes (a quote): still inside the string.
    expect(scan('{"a":"x\\"[[[[[b"}', { maxDepth: 3, maxKeys: 5 }, [8, 8])).toBeUndefined();
    // An array's elements are not keys; an empty object has none.
    expect(scan('[1,2,3,{},{"a":[{}, {}]}]', { maxDepth: 4, maxKeys: 1 })).toBeUndefined();
  });

  test('stops as soon as a limit is passed', () => {
    expect(scan('['.repeat(10_000_000), { maxDepth: 3, maxKeys: 10 })).toEqual({ limit: 'maxDepth' });
    expect(scan('{"k":0' + ',"k":0'.repeat(10_000_000), { maxDepth: 3, maxKeys: 10 })).toEqual({ limit: 'maxKeys' });
  });
});

describe('notJsonBecause', () => {
  test.each([
    ['application/json', undefined],
    ['Application/JSON; charset=UTF-8', undefined],
    ['application/json;charset="utf-8"', undefined],
    ['application/merge-patch+json', undefined],
    [null, 'the request has no Content-Type'],
    ['', 'the request has no Content-Type'],
    ['text/json', 'the Content-Type is "text/json"'],
    ['application/jsonp', 'the Content-Type is "application/jsonp"'],
    ['multipart/form-data; boundary=x', 'the Content-Type is "multipart/form-data"'],
    ['application/json; charset=utf-16', 'the charset is "utf-16"'],
  ])('%s', (contentType, reason) => {
    expect(notJsonBecause(contentType)).toBe(reason);
  });
});

describe('bearerToken', () => {
  test('reads RFC 6750 tokens, any case of the scheme', () => {
    expect(bearerToken('Bearer abc.DEF-123_~+/==')).toBe('abc.DEF-123_~+/==');
    expect(bearerToken('BEARER  k ')).toBe('k');
  });
  test.each([null, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearer a=b', 'Token abc'])('refuses %j with 401', (header) => {
    let refusal: unknown;
    try {
      bearerToken(header);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(HttpRefusal);
    expect(refusal).toMatchObject({ status: 401, code: 'UNAUTHORIZED', headers: { 'www-authenticate': 'Bearer' } });
  });
});
