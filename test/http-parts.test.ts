import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ERROR_CODES, Instance, memoryAdapter, PlanManager } from '../src';
import { createFetchHandler, scopedManagers, SEED_INSTANCE_FIELDS, STATUS_BY_CODE } from '../src/http';
import { bearerToken } from '../src/http/auth';
import { jsonDepth } from '../src/http/json-depth';
import { notJsonBecause } from '../src/http/media-type';
import { HttpRefusal } from '../src/http/refusal';

// The handler's parts, and the handler called with web-standard Requests directly, as Bun,
// Deno and Workers call it (no Node bridge).

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

describe('tables', () => {
  test('every error code of the manager has a status', () => {
    expect(Object.keys(STATUS_BY_CODE).sort()).toEqual([...ERROR_CODES].sort());
  });

  test('the seed 002 fields are the instance record without version', () => {
    expect(new Set(SEED_INSTANCE_FIELDS)).toEqual(new Set(Object.keys(Instance.shape).filter((key) => key !== 'version')));
  });
});

describe('scopedManagers', () => {
  test('one manager per scope, over one store, reused, the least recently used dropped past max', async () => {
    const managers = scopedManagers({}, { max: 2 });
    const acme = managers({ organization_id: 'acme' });
    expect(managers({ organization_id: 'acme' })).toBe(acme);
    expect(acme.scope).toEqual({ organization_id: 'acme' });
    // One store: a record written through one scope's manager is there for that scope only.
    const instance = await acme.createInstance({ agent_type_id: 'x' });
    const globex = managers({ organization_id: 'globex' });
    await expect(globex.getInstance(instance.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await managers({ organization_id: 'acme' }).getInstance(instance.id)).id).toBe(instance.id);
    // acme was used last; globex is dropped when a third scope arrives.
    managers({ organization_id: 'initech' });
    expect(managers({ organization_id: 'acme' })).toBe(acme);
    expect(managers({ organization_id: 'globex' })).not.toBe(globex);
  });

  test('a given adapter is the store of every scope', async () => {
    const adapter = memoryAdapter();
    const managers = scopedManagers({ adapter });
    const instance = await managers({ organization_id: 'acme' }).createInstance({ agent_type_id: 'x' });
    expect((await new PlanManager({ adapter }).getInstance(instance.id)).organization_id).toBe('acme');
  });

  test('refuses a max that is not a positive integer', () => {
    expect(() => scopedManagers({}, { max: 0 })).toThrow('max must be a positive integer, got 0');
  });
});

describe('the handler with web-standard Requests, no server', () => {
  const manager = new PlanManager();
  const handler = createFetchHandler(manager, { authenticate: (_request, token) => (token === 'k' ? {} : null), maxBodyBytes: 1000 });
  const headers = { authorization: 'Bearer k', 'content-type': 'application/json' };

  test('a call in, a Response out', async () => {
    const instance = await manager.createInstance({ organization_id: 'o', agent_type_id: 'x' });
    const response = await handler(new Request(`http://any.host/agents/instances/${encodeURIComponent(instance.id)}/transition`, { method: 'POST', headers, body: '{"status":"running"}' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: instance.id, status: 'running' });
  });

  test('a streamed body over the limit is cut off: the stream is cancelled, the rest never pulled', async () => {
    let pulled = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 100;
        controller.enqueue(new Uint8Array(100).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = await handler(new Request('http://any.host/api/agents/tools/instance_plan/get', { method: 'POST', headers, body, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(413);
    expect(cancelled).toBe(true);
    // 1000 bytes accepted; reading stopped at the chunk that passed them (plus what the stream buffers ahead).
    expect(pulled).toBeLessThanOrEqual(1300);
  });

  test('options are checked when the handler is made', () => {
    expect(() => createFetchHandler(manager, { authenticate: () => ({}), maxBodyBytes: 0 })).toThrow('maxBodyBytes must be a positive integer, got 0');
    expect(() => createFetchHandler(manager, { authenticate: () => ({}), maxDepth: 1.5 })).toThrow('maxDepth must be a positive integer, got 1.5');
    expect(() => createFetchHandler(manager, {} as never)).toThrow('createFetchHandler needs options.authenticate(request, token)');
  });
});
