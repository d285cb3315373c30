// The library's own API over HTTP, beside the seed's routes: POST /api/instance-plan/<operation>,
// the body the operation's input, the answer the whole records. Each route once through its
// success, then its refusals: worded as in process, with the status of their code, nothing changed.
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, replay, type Scope, type StorageAdapter } from 'instance-plan';
import { createFetchHandler } from 'instance-plan/http';
import { snapshotStore } from './support/core-fixtures';

const API = 'http://localhost/api/instance-plan';
const KEYS: Record<string, Scope> = { acme: { organization_id: 'acme' }, globex: { organization_id: 'globex' } };

function server(adapter: StorageAdapter = memoryAdapter(), onError?: (error: unknown) => void) {
  let tick = 0;
  const manager = new PlanManager({ adapter, clock: () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000) });
  const handler = createFetchHandler(manager, { authenticate: (_request, token) => KEYS[token] ?? null, ...(onError && { onError }) });
  const post = async (path: string, body: unknown, key = 'acme') => {
    const response = await handler(
      new Request(`${API}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    );
    return { status: response.status, body: (await response.json()) as any };
  };
  return { manager, adapter, post };
}

describe('the library\'s own API over HTTP', () => {
  it('instances: create (with budgets), get, list (the inbox too), record a turn, set a budget; whole records, version included', async () => {
    const { post } = server();
    const created = await post('/instances/create', { agent_type_id: 'booker', max_turns: 2 });
    expect(created.status).toBe(200);
    const instance = created.body.instance;
    expect(created.body).toEqual({ success: true, instance: expect.objectContaining({ organization_id: 'acme', status: 'starting', status_reason: null, max_turns: 2, max_tokens: null, version: 1 }) });
    expect(await post('/instances/get', { instance_id: instance.id })).toEqual({ status: 200, body: { success: true, instance } });
    expect((await post('/instances/list', {})).body).toEqual({ success: true, instances: [instance], total: 1 });
    expect((await post('/instances/list', { needs_input: true })).body).toEqual({ success: true, instances: [], total: 0 });
    // Another organization's caller does not see it.
    expect((await post('/instances/get', { instance_id: instance.id }, 'globex')).status).toBe(404);
    expect((await post('/instances/list', {}, 'globex')).body).toEqual({ success: true, instances: [], total: 0 });
  });

  it('a whole life: turns, a budget that pauses, a raise; a question answered over HTTP; a plan and its history', async () => {
    const { manager, post } = server();
    const { instance } = (await post('/instances/create', { agent_type_id: 'booker', max_turns: 1 })).body;
    await manager.transitionInstance(instance.id, { status: 'running' });
    const turned = await post('/instances/record_turn', { instance_id: instance.id, tokens: 120 });
    expect(turned.body.instance).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', turn_count: 1, tokens_total: 120, version: 3 });
    const raised = await post('/instances/set_budget', { instance_id: instance.id, max_turns: 5, max_tokens: null });
    expect(raised.body.instance).toMatchObject({ status: 'paused', max_turns: 5, max_tokens: null, version: 4 });
    await manager.transitionInstance(instance.id, { status: 'running' });

    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Trip', steps: [{ title: 'Which train?', type: 'user_input' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect((await post('/instances/list', { needs_input: true })).body.total).toBe(1);
    const answered = await post('/instances/answer', { instance_id: instance.id, text: 'The 9:40' });
    expect(answered.status).toBe(200);
    expect(answered.body.plan.steps[0]).toMatchObject({ status: 'completed', output: 'The 9:40' });
    expect(answered.body.instance).toMatchObject({ status: 'running', needs_input: false });

    expect((await post('/plans/get', { plan_id: plan.id })).body).toEqual({ success: true, plan: answered.body.plan });
    const history = (await post('/history', { id: instance.id })).body.events;
    expect(replay(history)).toEqual(answered.body.instance);
    const page = await post('/history', { id: instance.id, after_seq: 2, limit: 2 });
    expect(page.body.events.map((event: { seq: number }) => event.seq)).toEqual([3, 4]);
  });

  it('leases: acquire, renew, release; another owner is refused while it is held, and gets the next token after', async () => {
    const { post } = server();
    const { instance } = (await post('/instances/create', { agent_type_id: 'booker' })).body;
    const acquired = await post('/leases/acquire', { instance_id: instance.id, owner: 'worker-a', ttl_ms: 30_000 });
    expect(acquired.status).toBe(200);
    expect(acquired.body.lease).toMatchObject({ instance_id: instance.id, owner: 'worker-a', token: 1, ttl_ms: 30_000, recovered: null });

    const held = await post('/leases/acquire', { instance_id: instance.id, owner: 'worker-b', ttl_ms: 30_000 });
    expect([held.status, held.body.error.code]).toEqual([409, 'LEASE_HELD']);
    expect(held.body.error.message).toContain('worker-a');

    // The acquired lease, as it came (its `recovered` included), renews and releases.
    const renewed = await post('/leases/renew', { lease: acquired.body.lease, ttl_ms: 60_000 });
    expect(renewed.body.lease).toMatchObject({ owner: 'worker-a', token: 1, ttl_ms: 60_000, version: acquired.body.lease.version + 1 });
    const released = await post('/leases/release', { lease: renewed.body.lease });
    expect(released.body.lease).toMatchObject({ owner: null, token: 1 });
    const lost = await post('/leases/renew', { lease: renewed.body.lease });
    expect([lost.status, lost.body.error.code]).toEqual([409, 'LEASE_LOST']);

    const next = await post('/leases/acquire', { instance_id: instance.id, owner: 'worker-b', ttl_ms: 30_000 });
    expect(next.body.lease).toMatchObject({ owner: 'worker-b', token: 2 });
    // Another organization's caller cannot take it, and learns nothing of it.
    const foreign = await post('/leases/acquire', { instance_id: instance.id, owner: 'worker-c', ttl_ms: 30_000 }, 'globex');
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const extra = await post('/leases/release', { lease: next.body.lease, force: true });
    expect([extra.status, extra.body.error.issues[0].message]).toEqual([400, expect.stringContaining('unknown key: "force"')]);
  });

  it('refusals read as in process, with the status of their code, and change nothing', async () => {
    const { manager, adapter, post } = server();
    const theirs = await manager.createInstance({ organization_id: 'globex', agent_type_id: 'x' });
    const { instance } = (await post('/instances/create', { agent_type_id: 'booker' })).body;
    const before = await snapshotStore(adapter);

    const unknown = await post('/instances/create', { agent_type_id: 'x', max_steps: 3 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'VALIDATION_ERROR', issues: [expect.objectContaining({ path: '(input)', message: expect.stringContaining('unknown key: "max_steps"') })] });
    const zero = await post('/instances/set_budget', { instance_id: instance.id, max_turns: 0 });
    expect([zero.status, zero.body.error.issues]).toEqual([400, [{ path: 'max_turns', message: 'must be at least 1' }]]);
    const notRunning = await post('/instances/record_turn', { instance_id: instance.id, tokens: 5 });
    expect([notRunning.status, notRunning.body.error.code]).toEqual([409, 'INVALID_TRANSITION']);
    const noQuestion = await post('/instances/answer', { instance_id: instance.id, text: 'yes' });
    expect([noQuestion.status, noQuestion.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const extra = await post('/instances/get', { instance_id: instance.id, verbose: true });
    expect([extra.status, extra.body.error.issues]).toEqual([400, [{ path: '(body)', message: 'unknown key: "verbose" (accepted: instance_id)' }]]);
    const missing = await post('/plans/get', {});
    expect([missing.status, missing.body.error.code]).toEqual([400, 'VALIDATION_ERROR']);
    const page = await post('/history', { id: instance.id, limit: 0 });
    expect([page.status, page.body.error.issues]).toEqual([400, [{ path: 'limit', message: 'must be at least 1' }]]);
    const notAnObject = await post('/instances/list', [1]);
    expect([notAnObject.status, notAnObject.body.error.code]).toEqual([400, 'VALIDATION_ERROR']);
    // Another organization's instance does not exist for this caller, on every route.
    for (const [path, body] of [
      ['/instances/get', { instance_id: theirs.id }],
      ['/instances/record_turn', { instance_id: theirs.id, tokens: 1 }],
      ['/instances/set_budget', { instance_id: theirs.id, max_turns: 3 }],
      ['/instances/answer', { instance_id: theirs.id, text: 'x' }],
      ['/history', { id: theirs.id }],
    ] as const) {
      const answer = await post(path, body);
      expect([path, answer.status, answer.body.error.code]).toEqual([path, 404, 'NOT_FOUND']);
    }
    expect((await post('/instances/list', {})).body.instances.map((one: { id: string }) => one.id)).toEqual([instance.id]);
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('a store fault answers its reason only; the store\'s words go to onError', async () => {
    const errors: unknown[] = [];
    const base = memoryAdapter();
    const failing: StorageAdapter = { ...base, commit: async () => { throw new Error('disk I/O error at /var/lib/plans.db'); } };
    const { post } = server(failing, (error) => errors.push(error));
    const answer = await post('/instances/create', { agent_type_id: 'x' });
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ success: false, error: { code: 'STORAGE_ERROR', message: expect.not.stringContaining('/var/lib'), reason: 'failed', may_have_landed: true } });
    expect(String((errors[0] as { cause?: unknown }).cause)).toContain('/var/lib/plans.db');
  });
});
