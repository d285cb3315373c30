// A JSON body that names a key twice in one object is refused (400, naming the key): JSON.parse
// would keep the last one and drop the first without a word, so {"plan_id": A, "plan_id": B}
// would change B. Through the handler, and the scanner against random JSON (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager } from '../src';
import { createFetchHandler, scopedManagers } from '../src/http';
import { duplicateKey } from '../src/http/json-keys';

describe('duplicate keys in a JSON body', () => {
  it('are refused with 400 VALIDATION_ERROR naming the key, and nothing changes', async () => {
    const adapter = memoryAdapter();
    const manager = new PlanManager({ adapter, scope: { organization_id: 'acme' } });
    const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'a' });
    const [first, second] = [
      await manager.createPlan({ instance_id: instance.id, title: 'A', steps: [] }),
      await manager.createPlan({ instance_id: instance.id, title: 'B', steps: [] }),
    ];
    const handler = createFetchHandler(scopedManagers({ adapter }), { authenticate: () => ({ organization_id: 'acme' }) });
    const post = (body: string) =>
      handler(new Request('http://localhost/api/agents/tools/instance_plan/update', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body }));
    const response = await post(`{"plan_id": "${first.id}", "title": "renamed", "plan_id": "${second.id}"}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      success: false,
      error: {
        code: 'VALIDATION_ERROR',
        message: 'Invalid request body: names the key "plan_id" twice in one object: send each key once',
        issues: [{ path: '(body)', message: 'names the key "plan_id" twice in one object: send each key once' }],
        key: 'plan_id',
      },
    });
    expect((await manager.getPlan(second.id)).title).toBe('B');
    expect((await manager.getPlan(first.id)).title).toBe('A');
    // The same key written with an escape is the same key.
    expect((await post(`{"plan_id": "${first.id}", "plan\\u005fid": "${second.id}"}`)).status).toBe(400);
  });

  it('the scanner finds the key named twice at any depth, and nothing in JSON that names each key once', () => {
    expect(duplicateKey('{"a":1,"b":{"c":1,"c":2}}')).toBe('c');
    expect(duplicateKey('{"a":[{"x":1},{"x":2}],"b":"{\\"a\\":1}","a\\"":1}')).toBeUndefined();
    expect(duplicateKey('{"k":"a,\\"k\\":","k":2}')).toBe('k');
    expect(duplicateKey('[{"a":1,"a":1}]')).toBe('a');
    expect(duplicateKey('{"\\u00e9":1,"é":2}')).toBe('é');
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(duplicateKey(JSON.stringify(value))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), (object, value) => {
        const key = Object.keys(object)[0]!;
        const text = JSON.stringify(object);
        // The same key again, at the end of the object.
        expect(duplicateKey(`${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value)}}`)).toBe(key);
      }),
      { numRuns: 500 },
    );
  });
});
