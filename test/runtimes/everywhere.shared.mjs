// What every runtime the docs name runs, against the built package (dist/), in that runtime's own
// test runner (node:test, bun:test, Deno.test) or, where there is none (a Cloudflare Worker),
// the small runner below: the core on the memory adapter through a whole life of a plan, the
// memory adapter's conformance suite, and the HTTP handler answering real Requests (the tool's
// routes, the library's API, the Transition Instance endpoint, refusals, the change stream) and,
// when the runtime serves HTTP itself, real requests over TCP on 127.0.0.1.
import { memoryAdapter, PlanManager, replay } from '../../dist/index.js';
import { createFetchHandler } from '../../dist/http/index.js';
import { adapterConformance } from '../../dist/testing/index.js';

/** Deep equality of JSON-like values, or an Error saying where they differ. */
export function expectEqual(actual, expected, what) {
  const a = JSON.stringify(sorted(actual));
  const b = JSON.stringify(sorted(expected));
  if (a !== b) throw new Error(`${what}: expected ${b.slice(0, 400)}, got ${a.slice(0, 400)}`);
}

function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted(value[key])]));
  return value;
}

function expectTrue(condition, what) {
  if (!condition) throw new Error(what);
}

/** A test runner for runtimes without one: `describe`/`it` collect, `run` runs in order and reports. */
export function collector() {
  const tests = [];
  const path = [];
  return {
    describe(name, body) {
      path.push(name);
      try {
        body();
      } finally {
        path.pop();
      }
    },
    it(name, body) {
      tests.push({ name: [...path, name].join(' > '), body });
    },
    tests,
    async run() {
      const failed = [];
      for (const test of tests) {
        try {
          await test.body();
        } catch (error) {
          failed.push({ name: test.name, error: String(error?.stack ?? error) });
        }
      }
      return { total: tests.length, passed: tests.length - failed.length, failed };
    },
  };
}

const KEY = 'runtime-key';
const authenticate = (_request, token) => (token === KEY ? { organization_id: 'acme' } : null);

/** Reads Server-Sent Events off a body until `until` accepts one of them; answers them all. */
async function readEvents(body, until) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events = [];
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = block.split('\n').find((line) => line.startsWith('event: '))?.slice(7);
      const data = block.split('\n').find((line) => line.startsWith('data: '))?.slice(6);
      if (event) events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
    }
    if (events.some(until)) break;
  }
  await reader.cancel();
  return events;
}

/**
 * The checks. `serve(handler)`, when the runtime serves HTTP, answers `{ url, close() }`;
 * `sqlite`, when it has a synchronous SQLite, is `{ register(describe, it) }` (its conformance).
 */
export function everywhere({ runtime, describe, it, serve }) {
  describe(`${runtime}: the core on the memory adapter`, () => {
    it('a whole life: an instance runs a plan through the tool, step by step, to its summary; history replays it; subscribers hear every commit', async () => {
      const manager = new PlanManager({ adapter: memoryAdapter() });
      const heard = [];
      manager.subscribe((change) => heard.push(...change.records.map((record) => `${record.kind}:${record.version}`)));
      const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'researcher' });
      await manager.transitionInstance(instance.id, { status: 'running' });
      const tool = manager.forInstance(instance.id);
      const created = await tool.handle({ action: 'create', title: 'Research', steps: [{ title: 'Search', type: 'tool_call', details: { tool: 'search' } }, { title: 'Write', type: 'process' }] });
      expectTrue(created.success, `create: ${JSON.stringify(created)}`);
      let plan = created.plan;
      for (const step of plan.steps) {
        for (const step_status of ['in_progress', 'completed']) {
          const executed = await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status, ...(step_status === 'completed' && { step_output: `done: ${step.title}` }) });
          expectTrue(executed.success, `execute_step: ${JSON.stringify(executed)}`);
          plan = executed.plan;
        }
      }
      const refused = await tool.handle({ action: 'update', plan_id: plan.id, status: 'completed' });
      expectEqual([refused.success, refused.error?.code], [false, 'VALIDATION_ERROR'], 'completing without a summary');
      const finished = await tool.handle({ action: 'update', plan_id: plan.id, status: 'completed', summary: 'Found and wrote it up.' });
      expectEqual([finished.plan.status, finished.plan.summary, finished.next_step], ['completed', 'Found and wrote it up.', null], 'the finished plan');
      expectEqual(replay(await manager.history(plan.id)), finished.plan, 'the plan replayed from its history');
      expectTrue(Object.isFrozen(finished.plan) && Object.isFrozen(finished.plan.steps[0]), 'records are frozen');
      expectEqual(heard.filter((entry) => entry.startsWith('plan:')).length, 6, 'plan commits heard (create, four step moves, completion)');
    });
  });

  adapterConformance({ name: `${runtime}: memory adapter`, create: () => memoryAdapter(), describe, it });

  describe(`${runtime}: the HTTP handler`, () => {
    it('answers the tool, the API and the Transition Instance endpoint, refuses what it must, and streams changes', async () => {
      const manager = new PlanManager();
      const handler = createFetchHandler(manager, { authenticate, cors: { origins: ['https://app.example'] } });
      const call = async (path, body, key = KEY) => {
        const response = await handler(new Request(`http://localhost${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', origin: 'https://app.example' }, body: JSON.stringify(body) }));
        return { status: response.status, cors: response.headers.get('access-control-allow-origin'), body: await response.json() };
      };
      const created = await call('/api/instance-plan/instances/create', { agent_type_id: 'researcher' });
      expectEqual([created.status, created.cors, created.body.instance.organization_id], [200, 'https://app.example', 'acme'], 'an instance created over HTTP');
      const id = created.body.instance.id;
      const moved = await call(`/agents/instances/${id}/transition`, { status: 'running' });
      expectEqual([moved.status, moved.body.status], [200, 'running'], 'the Transition Instance endpoint');
      const stream = await handler(new Request('http://localhost/events', { headers: { authorization: `Bearer ${KEY}` } }));
      expectEqual([stream.status, stream.headers.get('content-type')], [200, 'text/event-stream; charset=utf-8'], 'the change stream');
      const plan = await call('/api/agents/tools/instance_plan/create', { instance_id: id, title: 'Over HTTP', steps: [{ title: 'One', type: 'process' }] });
      expectEqual([plan.status, plan.body.plan.steps.length], [200, 1], 'a plan created by the tool route');
      const events = await readEvents(stream.body, (event) => event.event === 'change');
      expectEqual(events.map((event) => event.event), ['ready', 'change'], 'what the stream said');
      expectEqual(events[1].data.records, [{ kind: 'plan', id: plan.body.plan.id, version: 1 }], 'the change streamed');
      const bad = await call('/api/agents/tools/instance_plan/create', { instance_id: id, title: 'x', steps: [{ title: 'y', type: 'web_search' }] });
      expectEqual([bad.status, bad.body.error.issues[0].path], [400, 'steps[0].type'], 'a refusal naming the field');
      expectEqual((await call('/api/instance-plan/instances/list', {}, 'wrong')).status, 401, 'a wrong key');
      const walk = await handler(new Request('http://localhost/agents/instances/x/../../api/instance-plan/instances/list', { method: 'POST' }));
      expectTrue(walk.status === 400 || walk.status === 404, `a path with dot segments is refused or not found, got ${walk.status}`);
    });

    if (serve) {
      it('serves real requests over TCP on 127.0.0.1, with the runtime\'s own server', async () => {
        const manager = new PlanManager();
        const server = await serve(createFetchHandler(manager, { authenticate }));
        try {
          const post = async (path, body) => {
            const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
            return { status: response.status, body: await response.json() };
          };
          const created = await post('/api/instance-plan/instances/create', { agent_type_id: 'served' });
          expectEqual(created.status, 200, 'create over TCP');
          const listed = await post('/api/instance-plan/instances/list', {});
          expectEqual(listed.body.instances.map((instance) => instance.id), [created.body.instance.id], 'list over TCP');
          const large = await fetch(`${server.url}/api/instance-plan/instances/list`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) });
          expectEqual(large.status, 413, 'a body over the limit');
          await large.body?.cancel();
        } finally {
          await server.close();
        }
      });
    }
  });
}
