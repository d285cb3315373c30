import { describe, expect, test } from 'vitest';
import { memoryAdapter, PlanManager } from '../src';
import { createFetchHandler, scopedManagers } from '../src/http';

// The handler's public parts (scopedManagers), and the handler called with
// web-standard Requests directly, as Bun, Deno and Workers call it (no Node bridge). The internal
// parts (JSON depth, media type, bearer token) are in test/http-parts.internal.test.ts.

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
