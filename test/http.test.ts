import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { Instance, memoryAdapter, PlanManager, type Plan, type Scope, type StorageAdapter } from '../src';
import { createFetchHandler, scopedManagers, type FetchHandlerOptions, type ManagerSource } from '../src/http';
import { toNodeListener, type NodeListenerOptions } from '../src/http/node';

// End to end: a real Node HTTP server on 127.0.0.1 serving the fetch handler through the Node
// bridge, called with real fetch (and, where fetch cannot send what we need, node:http).

// The Transition Instance endpoint's documented example response, exactly as documented.
const DOCUMENTED_TRANSITION_RESPONSE = {
  organization_id: '<string>',
  agent_type_id: '<string>',
  created_at: '2023-11-07T05:31:56Z',
  updated_at: '2023-11-07T05:31:56Z',
  id: '<string>',
  task_id: '<string>',
  status: 'starting',
  started_at: '<string>',
  ended_at: '<string>',
  turn_count: 0,
  tokens_total: 0,
  needs_input: false,
  current_step: '<string>',
  last_action_at: '<string>',
  session_id: '<string>',
};

const KEYS: Record<string, Scope> = {
  // The Instance Plan tool's documented curl example uses this key and this site.
  YOUR_API_KEY: { organization_id: 'acme', site_id: 'YOUR_SITE_ID' },
  'globex-key': { organization_id: 'globex' },
};

async function listen(handler: (request: Request) => Promise<Response>, options: NodeListenerOptions = {}): Promise<{ url: string; server: Server }> {
  const server = createServer(toNodeListener(handler, options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

function client(base: string) {
  return async function post(path: string, body: unknown, init: { key?: string | null; headers?: Record<string, string>; method?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? 'YOUR_API_KEY'}`;
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? 'POST',
      headers,
      ...(init.method === 'GET' ? {} : { body: typeof body === 'string' ? body : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
}

const TOOL = '/api/agents/tools/instance_plan';

describe('the HTTP endpoints, end to end', () => {
  const adapter = memoryAdapter();
  const acme = new PlanManager({ adapter, scope: { organization_id: 'acme' } });
  const globex = new PlanManager({ adapter, scope: { organization_id: 'globex' } });
  const authenticate = vi.fn<FetchHandlerOptions['authenticate']>((_request, token) => KEYS[token] ?? null);
  const onError = vi.fn();
  let url = '';
  let server: Server;
  let post: ReturnType<typeof client>;
  let acmeInstance: Instance;
  let globexInstance: Instance;

  beforeAll(async () => {
    ({ url, server } = await listen(createFetchHandler(scopedManagers({ adapter }), { authenticate, onError })));
    post = client(url);
    acmeInstance = await acme.createInstance({ agent_type_id: 'lead-qualifier' });
    await acme.transitionInstance(acmeInstance.id, { status: 'running' });
    globexInstance = await globex.createInstance({ agent_type_id: 'support' });
  });
  afterAll(() => close(server));

  async function createPlan(steps = [{ title: 'Fetch lead data', type: 'tool_call' }, { title: 'Qualify lead', type: 'process' }]): Promise<Plan> {
    const answer = await post(`${TOOL}/create`, { instance_id: acmeInstance.id, title: 'A plan', steps });
    expect(answer.status).toBe(200);
    return answer.body.plan;
  }

  test("the Instance Plan tool's documented curl example: create with a bearer key, JSON body, site, instance, steps", async () => {
    // Exactly the request of the Instance Plan tool's REST example, with a real instance id for INSTANCE_UUID.
    const response = await fetch(`${url}/api/agents/tools/instance_plan/create`, {
      method: 'POST',
      headers: { Authorization: 'Bearer YOUR_API_KEY', 'Content-Type': 'application/json' },
      body: `{
"site_id": "YOUR_SITE_ID",
"instance_id": "${acmeInstance.id}",
"title": "Lead qualification flow",
"plan_type": "objective",
"steps": [
{ "title": "Fetch lead data", "type": "tool_call" },
{ "title": "Qualify lead", "type": "process" }
]
}`,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json();
    expect(body).toMatchObject({ success: true, plan: { id: expect.any(String), title: 'Lead qualification flow' } });
    expect(body.plan).toMatchObject({ site_id: 'YOUR_SITE_ID', instance_id: acmeInstance.id, plan_type: 'objective', status: 'pending' });
    expect(body.plan.steps.map((step: { title: string }) => step.title)).toEqual(['Fetch lead data', 'Qualify lead']);
    expect(body.next_step).toMatchObject({ title: 'Fetch lead data' });
    expect(await acme.getPlan(body.plan.id)).toEqual(body.plan);
  });

  test('a whole plan over HTTP: get (list), execute_step, update with a summary', async () => {
    const plan = await createPlan();
    const listed = await post(`${TOOL}/get`, { instance_id: acmeInstance.id, status: 'pending' });
    expect(listed.status).toBe(200);
    expect(listed.body.plans.map((p: Plan) => p.id)).toContain(plan.id);
    for (const step of plan.steps) {
      for (const [status, output] of [['in_progress', undefined], ['completed', `${step.title}: done`]] as const) {
        const answer = await post(`${TOOL}/execute_step`, { plan_id: plan.id, step_id: step.id, step_status: status, ...(output ? { step_output: output } : {}) });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      }
    }
    const updated = await post(`${TOOL}/update`, { plan_id: plan.id, status: 'completed', summary: 'Qualified.' });
    expect(updated.status).toBe(200);
    expect(updated.body.plan).toMatchObject({ status: 'completed', summary: 'Qualified.' });
    // The body may repeat the route's action.
    expect((await post(`${TOOL}/get`, { action: 'list', instance_id: acmeInstance.id })).status).toBe(200);
  });

  test('transition returns the instance record exactly as the Transition Instance endpoint documents it: its fields, its order, no version', async () => {
    const answer = await post(`/agents/instances/${acmeInstance.id}/transition`, { status: 'waiting' });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(Object.keys(DOCUMENTED_TRANSITION_RESPONSE));
    const { version: _version, status_reason: _reason, max_turns: _turns, max_tokens: _tokens, ...stored } = await acme.getInstance(acmeInstance.id);
    expect(answer.body).toEqual(stored);
    expect(answer.body).toMatchObject({ status: 'waiting', needs_input: true });
    // Every field of the stored record but version and the library's own (the reason, the budgets),
    // so nothing of the documented response is missing either: its fifteen fields.
    const libraryOnly = ['version', 'status_reason', 'max_turns', 'max_tokens'];
    expect(new Set(Object.keys(answer.body))).toEqual(new Set(Object.keys(Instance.shape).filter((key) => !libraryOnly.includes(key))));
    expect(Object.keys(answer.body)).toHaveLength(15);

    const again = await post(`/agents/instances/${acmeInstance.id}/transition`, { status: 'waiting' });
    expect(again).toMatchObject({ status: 200, body: answer.body }); // a retry changes nothing
    const back = await post(`/agents/instances/${acmeInstance.id}/transition`, { status: 'running' });
    expect(back.body).toMatchObject({ status: 'running', needs_input: false });
  });

  test("the Transition Instance endpoint's documented curl request: its headers and body, plus the bearer key every request needs", async () => {
    const fresh = await acme.createInstance({ agent_type_id: 'lead-qualifier' });
    const documentedRequest = (headers: Record<string, string>) =>
      fetch(`${url}/agents/instances/${fresh.id}/transition`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: "\n{\n  \"status\": \"starting\"\n}\n" });
    // As the documentation prints it, without a key: refused.
    expect((await documentedRequest({})).status).toBe(401);
    // With the key: "starting" is the status it has, so the retry-safe answer is the record, unchanged.
    const answer = await documentedRequest({ Authorization: 'Bearer YOUR_API_KEY' });
    expect(answer.status).toBe(200);
    const body = await answer.json();
    expect(Object.keys(body)).toEqual(Object.keys(DOCUMENTED_TRANSITION_RESPONSE));
    expect(body).toMatchObject({ id: fresh.id, status: 'starting', started_at: null, turn_count: 0, needs_input: false });
    expect((await acme.getInstance(fresh.id)).version).toBe(fresh.version);
  });

  describe('authentication', () => {
    test.each([
      ['no Authorization header', null, {}],
      ['another scheme', null, { authorization: 'Basic dXNlcjpwYXNz' }],
      ['"Bearer" without a token', null, { authorization: 'Bearer ' }],
      ['a token with spaces', null, { authorization: 'Bearer two words' }],
    ])('%s: 401, with what to send, and authenticate is not asked', async (_name, key, headers) => {
      authenticate.mockClear();
      const answer = await post(`${TOOL}/get`, { instance_id: acmeInstance.id }, { key, headers });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Authorization: Bearer <api key>') } });
      expect(authenticate).not.toHaveBeenCalled();
    });

    test('a key authenticate does not know: 401 invalid_token; the scheme is case-insensitive', async () => {
      const answer = await post(`${TOOL}/get`, { instance_id: acmeInstance.id }, { key: 'stolen-key' });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(answer.body.error.code).toBe('UNAUTHORIZED');
      const lower = await post(`${TOOL}/get`, { instance_id: acmeInstance.id }, { key: null, headers: { authorization: 'bearer YOUR_API_KEY' } });
      expect(lower.status).toBe(200);
    });

    test('authentication comes before the body is read: a bad key with a bad body is still 401', async () => {
      expect((await post(`${TOOL}/create`, '{not json', { key: 'stolen-key' })).status).toBe(401);
      expect((await post(`${TOOL}/create`, '{}', { key: null, headers: { 'content-type': 'text/plain' } })).status).toBe(401);
    });
  });

  describe('scopes: a caller never reaches another scope\'s records, and cannot tell they exist', () => {
    test('every route answers 404 for another organization\'s records, exactly as for ids that do not exist', async () => {
      const plan = await createPlan();
      const before = await acme.getPlan(plan.id);
      const asGlobex = { key: 'globex-key' };
      const attempts: [string, (id: string) => unknown][] = [
        [`${TOOL}/update`, (id) => ({ plan_id: id, title: 'Taken over' })],
        [`${TOOL}/execute_step`, (id) => ({ plan_id: id, step_id: plan.steps[0]!.id, step_status: 'in_progress' })],
      ];
      for (const [path, body] of attempts) {
        const theirs = await post(path, body(plan.id), asGlobex);
        const nobody = await post(path, body('no-such-plan'), asGlobex);
        expect(theirs.status).toBe(404);
        expect(theirs.body.error).toEqual({ ...nobody.body.error, id: plan.id, message: nobody.body.error.message.replace('no-such-plan', plan.id) });
      }
      const transition = await post(`/agents/instances/${acmeInstance.id}/transition`, { status: 'stopped' }, asGlobex);
      const unknown = await post('/agents/instances/no-such-instance/transition', { status: 'stopped' }, asGlobex);
      expect(transition.status).toBe(404);
      expect(unknown.status).toBe(404);
      expect(transition.body.error.kind).toBe(unknown.body.error.kind);
      const create = await post(`${TOOL}/create`, { instance_id: acmeInstance.id, title: 'Mine now', steps: [] }, asGlobex);
      expect(create.status).toBe(404);
      const listed = await post(`${TOOL}/get`, { instance_id: acmeInstance.id }, asGlobex);
      expect(listed).toMatchObject({ status: 200, body: { success: true, plans: [], total: 0 } });
      // Nothing changed.
      expect(await acme.getPlan(plan.id)).toEqual(before);
      expect((await acme.getInstance(acmeInstance.id)).status).not.toBe('stopped');
    });

    test('a caller may act on its own scope\'s records', async () => {
      const answer = await post(`/agents/instances/${globexInstance.id}/transition`, { status: 'running' }, { key: 'globex-key' });
      expect(answer).toMatchObject({ status: 200, body: { id: globexInstance.id, organization_id: 'globex', status: 'running' } });
    });

    test('a site-scoped caller cannot create a plan for another site', async () => {
      const answer = await post(`${TOOL}/create`, { instance_id: acmeInstance.id, site_id: 'OTHER_SITE', title: 'T', steps: [] });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues).toEqual([{ path: 'site_id', message: expect.stringContaining('"YOUR_SITE_ID"') }]);
    });
  });

  describe('refusals of the manager, with their status', () => {
    test('409: STEP_ORDER names the blocking step; INVALID_TRANSITION the allowed targets; PLAN_CLOSED where work is allowed', async () => {
      const plan = await createPlan();
      const skip = await post(`${TOOL}/execute_step`, { plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' });
      expect(skip.status).toBe(409);
      expect(skip.body.error).toMatchObject({ code: 'STEP_ORDER', blocking_step: { id: plan.steps[0]!.id } });

      const early = await post(`${TOOL}/update`, { plan_id: plan.id, status: 'completed', summary: 'Too soon' });
      expect(early.status).toBe(409);
      expect(early.body.error).toMatchObject({ code: 'INVALID_TRANSITION', from: 'pending', to: 'completed' });

      await post(`${TOOL}/update`, { plan_id: plan.id, status: 'cancelled' });
      const closed = await post(`${TOOL}/execute_step`, { plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
      expect(closed.status).toBe(409);
      expect(closed.body.error).toMatchObject({ code: 'PLAN_CLOSED', allowed_in: ['pending', 'in_progress'] });

      const terminal = await acme.createInstance({ agent_type_id: 'short-lived' });
      await post(`/agents/instances/${terminal.id}/transition`, { status: 'stopped' });
      const revive = await post(`/agents/instances/${terminal.id}/transition`, { status: 'running' });
      expect(revive.status).toBe(409);
      expect(revive.body).toEqual({ success: false, error: expect.objectContaining({ code: 'INVALID_TRANSITION', from: 'stopped', to: 'running', allowed: [] }) });
    });

    test('400: an unknown status or an extra key on the transition names the field and what it accepts', async () => {
      const unknown = await post(`/agents/instances/${acmeInstance.id}/transition`, { status: 'sleeping' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.issues).toEqual([{ path: 'status', message: expect.stringContaining('"running"') }]);
      const extra = await post(`/agents/instances/${acmeInstance.id}/transition`, { status: 'running', force: true });
      expect(extra.status).toBe(400);
      expect(extra.body.error.message).toContain('"force"');
    });
  });

  describe('bad input of every class', () => {
    test('an unknown action: a body naming another action is 400; an unknown sub-route is 404 listing the routes', async () => {
      const other = await post(`${TOOL}/create`, { action: 'delete', plan_id: 'p' });
      expect(other.status).toBe(400);
      expect(other.body.error).toMatchObject({ code: 'VALIDATION_ERROR', issues: [{ path: 'action', message: 'must be "create" on this endpoint (or left out)' }] });
      const route = await post(`${TOOL}/delete`, { plan_id: 'p' });
      expect(route.status).toBe(404);
      expect(route.body.error).toMatchObject({ code: 'NOT_FOUND', kind: 'route', routes: expect.arrayContaining([`${TOOL}/get`, '/agents/instances/{instance_id}/transition']) });
    });

    test('wrong types: each field named with what it accepts', async () => {
      const answer = await post(`${TOOL}/create`, { instance_id: acmeInstance.id, title: 42, steps: 'all of them', plan_type: 'epic' });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(['plan_type', 'steps', 'title']);
      for (const [body, what] of [['[1,2]', 'an array'], ['null', 'null'], ['"create"', 'a string'], ['7', 'a number']] as const) {
        const notObject = await post(`${TOOL}/create`, body);
        expect(notObject.status).toBe(400);
        expect(notObject.body.error.message).toBe(`Invalid request body: must be a JSON object (the create call's parameters), got ${what}`);
      }
    });

    test('"__proto__": refused by name at the top and inside details; nothing is polluted or stored', async () => {
      const top = await post(`${TOOL}/get`, `{"instance_id":"${acmeInstance.id}","__proto__":{"polluted":true}}`);
      expect(top.status).toBe(400);
      expect(top.body.error.message).toContain('unknown key: "__proto__"');
      const nested = await post(
        `${TOOL}/create`,
        `{"instance_id":"${acmeInstance.id}","title":"T","steps":[{"title":"S","type":"review","details":{"__proto__":{"polluted":true}}}]}`,
      );
      expect(nested.status).toBe(400);
      expect(nested.body.error.issues).toEqual([{ path: 'steps[0].details', message: 'must not contain the key "__proto__"' }]);
      const transition = await post(`/agents/instances/${acmeInstance.id}/transition`, '{"status":"running","__proto__":{"status":"stopped"}}');
      expect(transition.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((await acme.listPlans({ instance_id: acmeInstance.id })).plans.some((plan) => plan.title === 'T')).toBe(false);
    });

    test('wrong content type: 415 naming the type and what to send', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ 'content-type': 'text/plain' }, 'the Content-Type is "text/plain"'],
        [{ 'content-type': 'application/x-www-form-urlencoded' }, 'the Content-Type is "application/x-www-form-urlencoded"'],
        [{ 'content-type': 'application/json; charset=iso-8859-1' }, 'the charset is "iso-8859-1"'],
      ];
      for (const [headers, reason] of cases) {
        const answer = await post(`${TOOL}/get`, { instance_id: acmeInstance.id }, { headers });
        expect(answer.status).toBe(415);
        expect(answer.body.error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', accepted: ['application/json'], message: expect.stringContaining(reason) });
      }
      // fetch sends a string body as text/plain unless told otherwise; without any Content-Type:
      const bare = await rawRequest(url, { path: `${TOOL}/get`, headers: { authorization: 'Bearer YOUR_API_KEY' }, body: '{}' });
      expect(bare.status).toBe(415);
      expect(JSON.parse(bare.body).error.message).toContain('the request has no Content-Type');
      // JSON by another name is JSON.
      const vendor = await post(`${TOOL}/get`, { instance_id: acmeInstance.id }, { headers: { 'content-type': 'application/vnd.api+json; charset=UTF-8' } });
      expect(vendor.status).toBe(200);
    });

    test('not JSON, not UTF-8, empty: 400 saying which', async () => {
      const broken = await post(`${TOOL}/get`, '{"instance_id": ');
      expect(broken.status).toBe(400);
      expect(broken.body.error).toMatchObject({ code: 'VALIDATION_ERROR', issues: [{ path: '(body)', message: expect.stringContaining('is not valid JSON') }] });
      const latin1 = await post(`${TOOL}/get`, new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
      expect(latin1.status).toBe(400);
      expect(latin1.body.error.message).toBe('Invalid request body: is not valid UTF-8 text');
      const empty = await post(`/agents/instances/${acmeInstance.id}/transition`, '');
      expect(empty.status).toBe(400);
      expect(empty.body.error.message).toBe('Invalid request body: is empty: send a JSON object');
    });

    test('deep nesting: refused before parsing, however deep; 32 levels pass the depth check', async () => {
      const nest = (levels: number) => `{"instance_id":"${acmeInstance.id}","title":"T","steps":[{"title":"S","type":"review","details":{"d":${'['.repeat(levels - 4)}1${']'.repeat(levels - 4)}}}]}`;
      const deep = await post(`${TOOL}/create`, nest(33));
      expect(deep.status).toBe(400);
      expect(deep.body.error).toMatchObject({ code: 'VALIDATION_ERROR', limit: 32, message: 'Invalid request body: nests deeper than 32 levels of objects and arrays (the maxDepth limit)' });
      const atLimit = await post(`${TOOL}/create`, nest(32));
      expect(atLimit.status).toBe(200);
      // Half a million levels: answered at once, no stack overflow, the server lives on.
      const abyss = await post(`${TOOL}/get`, '['.repeat(500_000) + ']'.repeat(500_000));
      expect(abyss.status).toBe(400);
      expect(abyss.body.error.limit).toBe(32);
      expect((await post(`${TOOL}/get`, { instance_id: acmeInstance.id })).status).toBe(200);
    });

    test('an object of more keys than maxKeys (1,000), at any depth: refused before parsing; 1,000 keys pass the check', async () => {
      const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
      const wide = await post(`${TOOL}/create`, { instance_id: acmeInstance.id, title: 'T', steps: [{ title: 'S', type: 'review', details: keys(1_001) }] });
      expect(wide.status).toBe(400);
      expect(wide.body.error).toMatchObject({ code: 'VALIDATION_ERROR', limit: 1_000, message: 'Invalid request body: has an object of more than 1000 keys (the maxKeys limit)' });
      const atLimit = await post(`${TOOL}/create`, { instance_id: acmeInstance.id, title: 'T', steps: [{ title: 'S', type: 'review', details: keys(1_000) }] });
      expect(atLimit.status).toBe(200);
      const flood = await post(`${TOOL}/create`, keys(60_000));
      expect([flood.status, flood.body.error.limit]).toEqual([400, 1_000]);
      expect((await post(`${TOOL}/get`, { instance_id: acmeInstance.id })).status).toBe(200);
    });

    test('a huge body: 413 at 1 MiB + 1 byte, whether the length is declared or streamed; exactly 1 MiB is read', async () => {
      const MiB = 1024 * 1024;
      const padded = (size: number) => {
        const json = JSON.stringify({ instance_id: acmeInstance.id });
        return json.slice(0, -1) + ' '.repeat(size - json.length) + '}';
      };
      expect((await post(`${TOOL}/get`, padded(MiB))).status).toBe(200);
      const declared = await post(`${TOOL}/get`, padded(MiB + 1));
      expect(declared.status).toBe(413);
      expect(declared.body.error).toEqual({ code: 'PAYLOAD_TOO_LARGE', limit: MiB, message: expect.stringContaining(`larger than ${MiB} bytes (the maxBodyBytes limit)`) });

      // Streamed in chunks without Content-Length: cut off as it arrives.
      let sent = 0;
      const chunk = new Uint8Array(64 * 1024).fill(0x20);
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 4 * MiB) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const response = await fetch(`${url}${TOOL}/get`, {
        method: 'POST',
        headers: { authorization: 'Bearer YOUR_API_KEY', 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(413);
      expect((await response.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
      // The server is still there for the next request.
      expect((await post(`${TOOL}/get`, { instance_id: acmeInstance.id })).status).toBe(200);
    });

    test('a declared length over the limit is refused before a byte of the body is sent', async () => {
      const answer = await rawRequest(url, {
        path: `${TOOL}/get`,
        headers: { authorization: 'Bearer YOUR_API_KEY', 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024 * 1024) },
        sendBody: false,
      });
      expect(answer.status).toBe(413);
    });

    test('other methods: 405 with Allow: POST', async () => {
      const answer = await post(`${TOOL}/get`, undefined, { method: 'GET' });
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe('POST');
      expect(answer.body.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', allowed: ['POST'] });
    });

    test('a malformed percent-encoding in the instance id: 400', async () => {
      const answer = await post('/agents/instances/%E0%A4%A/transition', { status: 'running' });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues).toEqual([{ path: 'instance_id', message: 'is not valid percent-encoding' }]);
    });

    test('no internal error was reported in all of the above', () => {
      expect(onError).not.toHaveBeenCalled();
    });
  });
});

describe('faults of the server side: 500, with nothing of its internals', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map(close)));
  async function serve(managers: ManagerSource, options: Partial<FetchHandlerOptions> = {}) {
    const started = await listen(createFetchHandler(managers, { authenticate: (_request, token) => KEYS[token] ?? null, ...options }));
    servers.push(started.server);
    return client(started.url);
  }

  test('a store that fails: 500 STORAGE_ERROR with its reason; the store\'s own words reach onError only', async () => {
    const base = memoryAdapter();
    const setup = new PlanManager({ adapter: base, scope: { organization_id: 'acme' } });
    const instance = await setup.createInstance({ agent_type_id: 'x' });
    const failing: StorageAdapter = { ...base, commit: async () => Promise.reject(new Error('disk I/O error at 10.0.0.7:5432')) };
    const handlerErrors = vi.fn();
    const managerErrors = vi.fn();
    const post = await serve(scopedManagers({ adapter: failing, onError: managerErrors }), { onError: handlerErrors });
    const answer = await post(`/agents/instances/${instance.id}/transition`, { status: 'running' });
    expect(answer.status).toBe(500);
    const wire = {
      code: 'STORAGE_ERROR',
      message: 'The store failed before it could confirm this change (reason: failed); it may have been stored. Read the record again before you retry.',
      reason: 'failed',
      may_have_landed: true,
    };
    expect(answer.body.error).toEqual(wire);
    expect(handlerErrors).toHaveBeenCalledWith(expect.objectContaining({ code: 'STORAGE_ERROR', message: expect.stringContaining('disk I/O error at 10.0.0.7:5432') }));
    const tool = await post(`${TOOL}/create`, { instance_id: instance.id, title: 'T', steps: [] });
    expect(tool.status).toBe(500);
    expect(tool.body.error).toEqual(wire);
    expect(managerErrors).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringContaining('disk I/O error at 10.0.0.7:5432') }), { operation: 'handle', action: 'create' });
    expect(JSON.stringify([answer.body, tool.body])).not.toContain('10.0.0.7');
  });

  test('authenticate that throws: 500 INTERNAL_ERROR; the reason goes to onError, not to the caller', async () => {
    const onError = vi.fn();
    const post = await serve(new PlanManager(), {
      authenticate: () => {
        throw new Error('key store unreachable at 10.0.0.7');
      },
      onError,
    });
    const answer = await post(`${TOOL}/get`, {});
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal error; nothing was changed. Try again later.' } });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'key store unreachable at 10.0.0.7' }));
  });

  test('one manager for all: narrowed to each caller\'s scope per request; a caller outside the manager\'s own scope is 500 rather than a leak', async () => {
    const adapter = memoryAdapter();
    const unscoped = new PlanManager({ adapter });
    const other = await unscoped.createInstance({ organization_id: 'globex', agent_type_id: 'x' });
    const mine = await unscoped.createInstance({ organization_id: 'acme', agent_type_id: 'x' });
    const shared = await serve(unscoped);
    // The acme caller works on acme's instance, and cannot tell globex's exists.
    expect((await shared(`/agents/instances/${mine.id}/transition`, { status: 'running' })).status).toBe(200);
    const hidden = await shared(`/agents/instances/${other.id}/transition`, { status: 'running' });
    const never = await shared('/agents/instances/never-made/transition', { status: 'running' });
    expect([hidden.status, hidden.body.error.code]).toEqual([404, 'NOT_FOUND']);
    expect(hidden.body.error.message).toBe(never.body.error.message.replace('never-made', other.id));
    expect((await unscoped.getInstance(other.id)).status).toBe('starting');
    // A plan made over HTTP takes the caller's site, as a manager of that scope would fill it.
    const created = await shared(`${TOOL}/create`, { instance_id: mine.id, title: 'Mine', steps: [] });
    expect(created.body.plan).toMatchObject({ site_id: 'YOUR_SITE_ID' });
    const globexView = await shared(`${TOOL}/get`, { instance_id: mine.id }, { key: 'globex-key' });
    expect(globexView.body).toEqual({ success: true, plans: [], total: 0 });

    // A manager scoped to acme serves acme's callers; globex's is outside it: 500, naming the field only.
    const acmeOnly = await serve(new PlanManager({ adapter, scope: { organization_id: 'acme', site_id: 'YOUR_SITE_ID' } }));
    expect((await acmeOnly(`/agents/instances/${mine.id}/transition`, { status: 'paused' })).status).toBe(200);
    const outside = await acmeOnly(`/agents/instances/${other.id}/transition`, { status: 'running' }, { key: 'globex-key' });
    expect(outside.status).toBe(500);
    expect(outside.body.error).toEqual({
      code: 'INTERNAL_ERROR',
      message: "The server is misconfigured: its manager's scope does not cover the caller's (organization_id). Nothing was changed.",
    });
  });

  test('authenticate returning a malformed scope: 500, not a wider scope', async () => {
    const post = await serve(new PlanManager(), { authenticate: () => ({ organization_id: 42 }) as unknown as Scope });
    const answer = await post(`${TOOL}/get`, {});
    expect(answer.status).toBe(500);
    expect(answer.body.error.message).toContain('invalid scope (organization_id of type number)');
  });

  test('the Node bridge: a handler that throws is answered 500 JSON, and the connection is closed, not left waiting', async () => {
    const onError = vi.fn();
    let calls = 0;
    const started = await listen(async (request) => {
      calls++;
      if (calls === 1) throw new Error('handler bug');
      return new Response(await request.text(), { status: 201, headers: { 'x-echo': 'yes' } });
    }, { onError });
    servers.push(started.server);
    const first = await fetch(`${started.url}/anything`, { method: 'POST', body: 'unread' });
    expect(first.status).toBe(500);
    expect(first.headers.get('connection')).toBe('close');
    expect(await first.json()).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal error; nothing was changed. Try again later.' } });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'handler bug' }));
    // Any handler is served: status, headers and the body it read.
    const second = await fetch(`${started.url}/anything`, { method: 'POST', body: 'echo me' });
    expect([second.status, second.headers.get('x-echo'), await second.text()]).toEqual([201, 'yes', 'echo me']);
  });

  test('a smaller body limit and depth are honoured', async () => {
    const post = await serve(new PlanManager(), { authenticate: () => ({}), maxBodyBytes: 64, maxDepth: 2 });
    expect((await post(`${TOOL}/get`, { status: 'x'.repeat(64) })).status).toBe(413);
    expect((await post(`${TOOL}/get`, { status: [['paused']] })).body.error.limit).toBe(2);
    expect((await post(`${TOOL}/get`, { status: ['paused'] })).status).toBe(400); // depth 2 passes; the type does not
  });
});

/** A request node:http sends as told: no Content-Type, or a declared length and no body. */
function rawRequest(base: string, options: { path: string; headers: Record<string, string>; body?: string; sendBody?: boolean }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${base}${options.path}`, { method: 'POST', headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode!, body });
        request.destroy();
      });
    });
    request.on('error', reject);
    if (options.sendBody === false) request.flushHeaders();
    else request.end(options.body);
  });
}
