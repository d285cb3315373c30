// Routing on the path as sent: dot segments (encoded or not) and empty segments are refused with
// 400, never resolved into another endpoint (which would pass any proxy rule keyed on path
// prefixes). Through node:http with raw request targets, and through the Fetch handler.
import { request as httpRequest, createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager } from '../src';
import { createFetchHandler, scopedManagers } from '../src/http';
import { toNodeListener } from '../src/http/node';

const adapter = memoryAdapter();
const handler = createFetchHandler(scopedManagers({ adapter }), { authenticate: () => ({ organization_id: 'acme' }) });
let server: Server;
let port: number;
let instanceId: string;

beforeAll(async () => {
  const manager = new PlanManager({ adapter, scope: { organization_id: 'acme' } });
  instanceId = (await manager.createInstance({ agent_type_id: 'a' })).id;
  await manager.createPlan({ instance_id: instanceId, title: 'P', steps: [] });
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** POSTs `{ instance_id }` to the request target exactly as written. */
function post(target: string): Promise<{ status: number; body: { error?: { code: string; issues?: unknown[] } } }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ instance_id: instanceId });
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: target, headers: { 'content-type': 'application/json', authorization: 'Bearer k', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as never }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('paths as sent', () => {
  it('the listed path answers, in origin form and in absolute form', async () => {
    expect((await post('/api/agents/tools/instance_plan/get')).status).toBe(200);
    expect((await post(`http://127.0.0.1:${port}/api/agents/tools/instance_plan/get`)).status).toBe(200);
  });

  it.each([
    ['/agents/instances/%2e%2e/%2e%2e/api/agents/tools/instance_plan/get', 'has a "." or ".." segment'],
    ['/agents/instances/x/../../../api/agents/tools/instance_plan/get', 'has a "." or ".." segment'],
    ['/api/agents/tools/./instance_plan/get', 'has a "." or ".." segment'],
    ['/api/agents/tools/instance_plan/%2E/get', 'has a "." or ".." segment'],
    ['/api/agents/tools/instance_plan/.%2e/instance_plan/get', 'has a "." or ".." segment'],
    ['//evil/api/agents/tools/instance_plan/get', 'has an empty segment ("//")'],
    ['/api/agents//tools/instance_plan/get', 'has an empty segment ("//")'],
    ['/agents/instances/x/..\\..\\..\\api/agents/tools/instance_plan/get', 'has a backslash (a URL parser reads it as "/")'],
    ['/agents/instances\\..\\..\\api/agents/tools/instance_plan/get', 'has a backslash (a URL parser reads it as "/")'],
    ['http://127.0.0.1/agents/instances/%2e%2e/%2e%2e/api/agents/tools/instance_plan/get', 'has a "." or ".." segment'],
  ])('%s is refused with 400 naming why, and routed nowhere', async (target, why) => {
    const answer = await post(target);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_ERROR', issues: [{ path: '(path)', message: why }] });
  });

  it('the Fetch handler refuses empty segments too (a Request has resolved dot segments already)', async () => {
    const response = await handler(
      new Request('http://localhost//evil/api/agents/tools/instance_plan/get', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: '{}' }),
    );
    expect(response.status).toBe(400);
  });
});
