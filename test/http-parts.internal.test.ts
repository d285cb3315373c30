// The HTTP handler's internal parts (src/http): its tables, the JSON depth scan that runs before JSON.parse,
// the media-type check, and the bearer token reader. test/http-parts.test.ts and test/http.test.ts
// check the handler they make up.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ERROR_CODES, Instance } from '../src';
import { bearerToken } from '../src/http/auth';
import { TRANSITION_INSTANCE_FIELDS } from '../src/http/instance-view';
import { STATUS_BY_CODE } from '../src/http/status';
import { jsonDepth } from '../src/http/json-depth';
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

describe('jsonDepth', () => {
  test('agrees with the depth of the parsed value, for any JSON (property)', () => {
    const depthOf = (value: unknown): number =>
      typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(jsonDepth(text, 100)).toBe(depthOf(value));
      }),
      { numRuns: 500 },
    );
  });

  test('brackets inside strings, escaped quotes and backslashes do not count', () => {
    expect(jsonDepth('{"a":"[[[{{{","b":"\\"[[[","c":"\\\\","d":[1]}', 100)).toBe(2);
  });

  test('stops as soon as the limit is passed', () => {
    expect(jsonDepth('['.repeat(10_000_000), 3)).toBe(4);
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
