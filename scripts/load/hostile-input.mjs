// Every hostile input the hardening findings named, replayed: in process through handle() (values
// no JSON can carry: throwing getters, Proxies, a sparse array of 1e9, a getter that answers
// differently on its second read, cycles), and over HTTP against a real server on 127.0.0.1
// (dot segments raw and encoded, empty segments, a key named twice, 500,000 levels of nesting, a
// body of 60,000 unknown keys, a NUL and a lone surrogate in ids). Each must be answered with a
// refusal (never a throw, never a 500), the process must survive, and nothing may change. Writes
// reports/load-hostile-input.json; exits 1 if any case was answered otherwise.
//   npm run build && node scripts/load/hostile-input.mjs
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { PlanManager } from '../../dist/index.js';
import { createFetchHandler } from '../../dist/http/index.js';
import { nodeServerOptions, toNodeListener } from '../../dist/http/node.js';

const manager = new PlanManager({ scope: { organization_id: 'acme' } });
const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'a' });
const plan = await manager.createPlan({ instance_id: instance.id, title: 'T', steps: [{ title: 's', type: 'process' }] });
const before = JSON.stringify(await manager.getPlan(plan.id));

const cases = [];
const record = (name, answer, expected) => {
  const ok = expected(answer);
  cases.push({ name, ok, answer: typeof answer === 'string' ? answer.slice(0, 160) : answer });
};

// In process: handle() answers every input with a refusal.
const throwing = Object.create(null);
Object.defineProperty(throwing, 'action', { enumerable: true, get: () => { throw Object.create(null); } });
const namedBadly = { action: 'create', instance_id: instance.id, title: 'T', steps: [] };
Object.defineProperty(namedBadly, 'name', { enumerable: true, get: () => { throw new Error('no'); } });
// Read once: the value checked is the value stored (on a plan of its own, since this one succeeds).
const other = await manager.createPlan({ instance_id: instance.id, title: 'T', steps: [] });
let reads = 0;
const changing = { action: 'update', plan_id: other.id };
Object.defineProperty(changing, 'title', { enumerable: true, get: () => (reads++ === 0 ? 'short' : 'x'.repeat(1e6)) });
const cyclic = { action: 'update', plan_id: plan.id, title: 'T' };
cyclic.self = cyclic;
const inProcess = {
  'a getter throwing a null-prototype object': throwing,
  'a getter throwing on a key the schema refuses': namedBadly,
  'details with a sparse array of 1e9': { action: 'update', plan_id: plan.id, steps: [{ title: 'n', type: 'process', details: { a: new Array(1e9) } }] },
  'a Proxy whose traps throw': new Proxy({}, { ownKeys: () => { throw new Error('trap'); } }),
  'a revoked Proxy': (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; })(),
  'a cycle': cyclic,
  'a thrown non-Error from toJSON': { action: 'update', plan_id: plan.id, title: { toJSON() { throw 7; } } },
};
for (const [name, input] of Object.entries(inProcess)) {
  let answer;
  try {
    answer = await manager.forInstance(instance.id).handle(input);
  } catch (error) {
    answer = { threw: String(error) };
  }
  record(`handle: ${name}`, answer, (a) => a?.success === false && a.error?.code === 'VALIDATION_ERROR');
}

const once = await manager.forInstance(instance.id).handle(changing);
record('handle: a getter that answers differently on its second read', { success: once.success, title: once.plan?.title, reads }, (a) => a.success && a.title === 'short' && a.reads === 1);

// Over HTTP, through the Node bridge.
const handler = createFetchHandler(manager, { authenticate: () => ({ organization_id: 'acme' }) });
const server = createServer(nodeServerOptions, toNodeListener(handler));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const send = (path, body) =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, bytes: text.length, code: JSON.parse(text).error?.code }));
    });
    req.on('error', (error) => resolve({ status: 0, error: String(error) }));
    req.end(body);
  });
const TOOL = '/api/agents/tools/instance_plan';
const get = JSON.stringify({ plan_id: plan.id });
const over = {
  'dot segments': [`/agents/instances/x/../../..${TOOL}/get`, get, 400],
  'encoded dot segments': [`/agents/instances/%2e%2e/%2e%2e${TOOL}/get`, get, 400],
  'an empty segment': [`//evil${TOOL}/get`, get, 400],
  'a key named twice': [`${TOOL}/update`, `{"plan_id":"${plan.id}","title":"A","plan_id":"other"}`, 400],
  '500,000 levels of nesting': [`${TOOL}/update`, `${'['.repeat(500_000)}${']'.repeat(500_000)}`, 400],
  '60,000 unknown keys': [`${TOOL}/update`, JSON.stringify(Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, i]))), 400],
  'a NUL in an id': [`${TOOL}/get`, JSON.stringify({ instance_id: 'a\u0000b' }), 400],
  'a lone surrogate in an id': [`/api/instance-plan/instances/create`, JSON.stringify({ organization_id: 'acme', agent_type_id: 'a\ud800' }), 400],
};
for (const [name, [path, body, status]] of Object.entries(over)) {
  const answer = await send(path, body);
  record(`http: ${name}`, answer, (a) => a.status === status && a.bytes < 4_000);
}
server.closeAllConnections();
server.close();

const unchanged = JSON.stringify(await manager.getPlan(plan.id)) === before;
const report = { date: new Date().toISOString(), node: process.version, cases: cases.length, answered_as_expected: cases.filter((c) => c.ok).length, plan_unchanged: unchanged, failed: cases.filter((c) => !c.ok) };
mkdirSync(new URL('../../reports/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../reports/load-hostile-input.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
if (report.failed.length > 0 || !unchanged) process.exitCode = 1;
