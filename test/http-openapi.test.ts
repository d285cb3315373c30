// The OpenAPI 3.1 document of the HTTP handler: generated from the zod schemas, served at
// GET /openapi.json, valid by a real OpenAPI validator, naming exactly the routes served, and
// true of what the server answers: a client generated from it (openapi-typescript's types,
// committed in test/fixtures/openapi-paths.ts, with openapi-fetch) drives a whole life against a
// real server over TCP, and every answer validates against the document's schema for it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanManager, replay } from 'instance-plan';
import { createFetchHandler } from 'instance-plan/http';
import { openApiDocument } from 'instance-plan/http/openapi';
import { inspectorPage } from 'instance-plan/http/inspector';
import { toNodeListener } from 'instance-plan/http/node';
import { ROUTES, GET_ROUTES } from '../src/http/routes';
import { TYPES_FILE, typesOf } from '../scripts/openapi-types.mjs';
import type { paths } from './fixtures/openapi-paths';

const KEY = 'key-acme';
let server: Server;
let baseUrl: string;
let manager: PlanManager;

beforeAll(async () => {
  manager = new PlanManager();
  const handler = createFetchHandler(manager, { authenticate: (_request, token) => (token === KEY ? { organization_id: 'acme' } : null), openapi: openApiDocument, inspector: inspectorPage });
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function served(): Promise<any> {
  const response = await fetch(`${baseUrl}/openapi.json`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(response.status).toBe(200);
  return response.json();
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    const document = await served();
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('names exactly the routes the handler serves, each with its method', async () => {
    const document = await served();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).filter((key) => key !== 'parameters').map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual([...ROUTES.map((route) => `POST ${route}`), ...GET_ROUTES.map((route) => `GET ${route}`)].sort());
  });

  it('is served only when the handler is given it', async () => {
    const without = createFetchHandler(new PlanManager(), { authenticate: () => ({}) });
    const response = await without(new Request('http://x/openapi.json', { headers: { authorization: 'Bearer k' } }));
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.get_routes).toEqual(['/events']);
    expect((await without(new Request('http://x/inspector'))).status).toBe(404);
    expect(() => createFetchHandler(new PlanManager(), { authenticate: () => ({}), openapi: {} as never })).toThrow('openapi must be openApiDocument from instance-plan/http/openapi');
  });

  it('is at the manager\'s limits, and needs a key like every route', async () => {
    const small = createFetchHandler(new PlanManager({ limits: { maxSteps: 3 } }), { authenticate: () => ({}), openapi: openApiDocument });
    const document = (await (await small(new Request('http://x/openapi.json', { headers: { authorization: 'Bearer k' } }))).json()) as any;
    expect(document.components.schemas.CreateCall.properties.steps.maxItems).toBe(3);
    expect((await fetch(`${baseUrl}/openapi.json`)).status).toBe(401);
    expect((await fetch(`${baseUrl}/openapi.json`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } })).status).toBe(405);
  });

  it('generates the committed client types (npm run openapi:types writes them)', async () => {
    expect(readFileSync(TYPES_FILE, 'utf8'), 'test/fixtures/openapi-paths.ts is stale: run npm run openapi:types').toBe(await typesOf(await served()));
  });
});

describe('a client generated from the document (openapi-fetch), against a real server', () => {
  it('drives a whole life, and every answer is what the document says it is', async () => {
    const document = await served();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    // The components as one schema document, so that their references resolve as in the document.
    ajv.addSchema({ $id: 'openapi', components: document.components });
    const checked: string[] = [];
    /** The answer of an operation validates against the document's schema for its status. */
    const conforms = (path: string, method: 'get' | 'post', status: number, body: unknown) => {
      const responses = document.paths[path][method].responses;
      const ref: string = (responses[status] ?? responses.default).content['application/json'].schema.$ref;
      const validate = ajv.getSchema(`openapi${ref}`)!;
      expect(validate(body), `${path} ${status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      checked.push(`${path} ${status}`);
    };
    const client = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${KEY}` } });

    const created = await client.POST('/api/instance-plan/instances/create', { body: { agent_type_id: 'researcher', max_turns: 10 } });
    conforms('/api/instance-plan/instances/create', 'post', 200, created.data);
    const instance = created.data!.instance;
    const running = await client.POST('/agents/instances/{instance_id}/transition', { params: { path: { instance_id: instance.id } }, body: { status: 'running' } });
    conforms('/agents/instances/{instance_id}/transition', 'post', 200, running.data);
    expect(running.data!.status).toBe('running');

    const plan = await client.POST('/api/agents/tools/instance_plan/create', {
      body: { instance_id: instance.id, title: 'Research', steps: [{ title: 'Search', type: 'tool_call', details: { tool: 'search', arguments: { q: 'x' } } }, { title: 'Ask', type: 'user_input' }] },
    });
    conforms('/api/agents/tools/instance_plan/create', 'post', 200, plan.data);
    const [search, ask] = plan.data!.plan.steps;
    for (const step_status of ['in_progress', 'completed'] as const) {
      const executed = await client.POST('/api/agents/tools/instance_plan/execute_step', { body: { plan_id: plan.data!.plan.id, step_id: search!.id, step_status, step_output: step_status === 'completed' ? 'found' : null } });
      conforms('/api/agents/tools/instance_plan/execute_step', 'post', 200, executed.data);
    }
    await client.POST('/api/agents/tools/instance_plan/execute_step', { body: { plan_id: plan.data!.plan.id, step_id: ask!.id, step_status: 'in_progress' } });
    const inbox = await client.POST('/api/instance-plan/instances/list', { body: { needs_input: true } });
    conforms('/api/instance-plan/instances/list', 'post', 200, inbox.data);
    expect(inbox.data!.total).toBe(1);
    const answered = await client.POST('/api/instance-plan/instances/answer', { body: { instance_id: instance.id, text: 'Yes' } });
    conforms('/api/instance-plan/instances/answer', 'post', 200, answered.data);
    const finished = await client.POST('/api/agents/tools/instance_plan/update', { body: { plan_id: plan.data!.plan.id, status: 'completed', summary: 'Done.' } });
    conforms('/api/agents/tools/instance_plan/update', 'post', 200, finished.data);
    const listed = await client.POST('/api/agents/tools/instance_plan/get', { body: { instance_id: instance.id } });
    conforms('/api/agents/tools/instance_plan/get', 'post', 200, listed.data);
    const turn = await client.POST('/api/instance-plan/instances/record_turn', { body: { instance_id: instance.id, tokens: 300 } });
    conforms('/api/instance-plan/instances/record_turn', 'post', 200, turn.data);
    const budget = await client.POST('/api/instance-plan/instances/set_budget', { body: { instance_id: instance.id, max_tokens: 10_000 } });
    conforms('/api/instance-plan/instances/set_budget', 'post', 200, budget.data);
    conforms('/api/instance-plan/instances/get', 'post', 200, (await client.POST('/api/instance-plan/instances/get', { body: { instance_id: instance.id } })).data);
    conforms('/api/instance-plan/plans/get', 'post', 200, (await client.POST('/api/instance-plan/plans/get', { body: { plan_id: plan.data!.plan.id } })).data);
    const history = await client.POST('/api/instance-plan/history', { body: { id: plan.data!.plan.id } });
    conforms('/api/instance-plan/history', 'post', 200, history.data);
    expect(replay(history.data!.events as never)).toEqual(finished.data!.plan);
    // A lease (the instance is another worker's while it is held: writes are refused meanwhile).
    const lease = await client.POST('/api/instance-plan/leases/acquire', { body: { instance_id: instance.id, owner: 'worker-1', ttl_ms: 60_000 } });
    conforms('/api/instance-plan/leases/acquire', 'post', 200, lease.data);
    const renewed = await client.POST('/api/instance-plan/leases/renew', { body: { lease: lease.data!.lease } });
    conforms('/api/instance-plan/leases/renew', 'post', 200, renewed.data);
    conforms('/api/instance-plan/leases/release', 'post', 200, (await client.POST('/api/instance-plan/leases/release', { body: { lease: renewed.data!.lease } })).data);

    // Refusals are the document's Refusal, on the tool's routes and the API's alike.
    const refused = await client.POST('/api/agents/tools/instance_plan/create', { body: { instance_id: instance.id, title: 'x', steps: [{ title: 'y', type: 'web_search' as never }] } });
    expect(refused.response.status).toBe(400);
    conforms('/api/agents/tools/instance_plan/create', 'post', 400, refused.error);
    const missing = await client.POST('/api/instance-plan/plans/get', { body: { plan_id: 'no-such-plan' } });
    expect(missing.error).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    conforms('/api/instance-plan/plans/get', 'post', 404, missing.error);

    // The change stream, as the client reads it (a stream of Server-Sent Events).
    const stream = await client.GET('/events', { parseAs: 'stream' });
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = stream.data!.getReader();
    let text = '';
    while (!text.includes('event: ready')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    checked.push('/events 200');

    // The inspector page, as the client reads it (HTML).
    const page = await client.GET('/inspector', { parseAs: 'text' });
    expect(page.response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.data).toContain('instance-plan inspector');
    checked.push('/inspector 200');

    // Every operation of the document was called.
    const operations = Object.keys(document.paths).filter((path) => path !== '/openapi.json');
    expect(new Set(checked.map((entry) => entry.split(' ')[0]))).toEqual(new Set(operations));
    expect(await manager.getPlan(plan.data!.plan.id)).toEqual(finished.data!.plan);
  });
});
