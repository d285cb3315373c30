// One PlanManager behind the HTTP handler serves every caller, narrowed to the caller's scope per
// request (withScope). Isolation is as strong as with a manager per scope: for any two callers'
// scopes and every route, the second reaches the first's records exactly when its scope covers
// them; otherwise it gets the answer of an id never made (404) or an empty page, and the store
// does not change.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type Scope } from 'instance-plan';
import { createFetchHandler } from 'instance-plan/http';
import { snapshotStore } from './support/core-fixtures';

const TOOL = 'http://localhost/api/agents/tools/instance_plan';
const API = 'http://localhost/api/instance-plan';

const scopeOf = fc.record(
  {
    organization_id: fc.constantFrom('acme', 'globex'),
    site_id: fc.constantFrom('site-1', 'site-2'),
    user_id: fc.constantFrom('user-1', 'user-2'),
  },
  { requiredKeys: [] },
);

/** Whether a caller of scope `caller` may see a plan of `plan`'s fields, on an instance of `organization`. */
function covers(caller: Scope, organization: string, plan: { site_id: string | null; user_id: string | null }): boolean {
  return (
    (caller.organization_id === undefined || caller.organization_id === organization) &&
    (caller.site_id === undefined || caller.site_id === plan.site_id) &&
    (caller.user_id === undefined || caller.user_id === plan.user_id)
  );
}

describe('one manager behind the handler, narrowed per caller', () => {
  it('a caller reaches another\'s instance and plan on every route exactly when its scope covers them; otherwise 404 or an empty page, and nothing changes', async () => {
    await fc.assert(
      fc.asyncProperty(scopeOf, scopeOf, fc.constantFrom('site-1', 'site-2'), fc.constantFrom('user-1', 'user-2'), async (owner, caller, site, user) => {
        const adapter = memoryAdapter();
        const manager = new PlanManager({ adapter });
        const organization = owner.organization_id ?? 'acme';
        const scopes: Record<string, Scope> = { owner, caller };
        const handler = createFetchHandler(manager, { authenticate: (_request, token) => scopes[token] ?? null });
        const post = async (token: string, path: string, body: unknown) => {
          const response = await handler(new Request(path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }));
          return { status: response.status, body: (await response.json()) as any };
        };
        // The owner's records, made through its own narrowed view.
        const mine = manager.withScope(owner);
        const instance = await manager.createInstance({ organization_id: organization, agent_type_id: 'agent' });
        const fields = { site_id: owner.site_id ?? site, user_id: owner.user_id ?? user };
        const plan = await mine.createPlan({ instance_id: instance.id, title: 'Plan', ...fields, steps: [{ title: 'One', type: 'process' }] });
        const seesInstance = caller.organization_id === undefined || caller.organization_id === organization;
        const seesPlan = covers(caller, organization, fields);

        const before = await snapshotStore(adapter);
        const list = await post('caller', `${TOOL}/get`, { instance_id: instance.id });
        expect(list.status).toBe(200);
        expect(list.body.plans.map((p: { id: string }) => p.id)).toEqual(seesPlan ? [plan.id] : []);
        const update = await post('caller', `${TOOL}/update`, { plan_id: plan.id, title: 'Renamed' });
        const step = await post('caller', `${TOOL}/execute_step`, { plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
        for (const answer of [update, step]) {
          expect(answer.status, JSON.stringify(answer.body)).toBe(seesPlan ? 200 : 404);
          if (!seesPlan) expect(answer.body.error).toMatchObject({ code: 'NOT_FOUND', kind: 'plan', id: plan.id });
        }
        const transition = await post('caller', `http://localhost/agents/instances/${instance.id}/transition`, { status: 'running' });
        expect(transition.status).toBe(seesInstance ? 200 : 404);
        const create = await post('caller', `${TOOL}/create`, { instance_id: instance.id, title: 'Theirs', steps: [] });
        expect(create.status).toBe(seesInstance ? 200 : 404);
        // The library's own API: every route that names the instance or the plan.
        const notFound = (answer: { status: number; body: any }, kind: string, id: string) => answer.status === 404 && answer.body.error?.kind === kind && answer.body.error?.id === id;
        // History names either kind of record: its refusal says "record".
        const apiRoutes: [string, unknown, string, string, boolean][] = [
          ['/instances/get', { instance_id: instance.id }, 'instance', instance.id, seesInstance],
          ['/instances/record_turn', { instance_id: instance.id, tokens: 1 }, 'instance', instance.id, seesInstance],
          ['/instances/set_budget', { instance_id: instance.id, max_turns: 50 }, 'instance', instance.id, seesInstance],
          ['/instances/answer', { instance_id: instance.id, text: 'yes' }, 'instance', instance.id, seesInstance],
          ['/history', { id: instance.id }, 'record', instance.id, seesInstance],
          ['/plans/get', { plan_id: plan.id }, 'plan', plan.id, seesPlan],
          ['/history', { id: plan.id }, 'record', plan.id, seesPlan],
          ['/leases/acquire', { instance_id: instance.id, owner: 'caller-worker', ttl_ms: 60_000 }, 'instance', instance.id, seesInstance],
        ];
        for (const [route, body, kind, id, sees] of apiRoutes) {
          const answer = await post('caller', `${API}${route}`, body);
          expect(notFound(answer, kind, id), `${route}: ${JSON.stringify(answer.body)}`).toBe(!sees);
        }
        const instances = await post('caller', `${API}/instances/list`, {});
        expect(instances.body.instances.map((each: { id: string }) => each.id)).toEqual(seesInstance ? [instance.id] : []);
        if (!seesPlan && !seesInstance) expect(await snapshotStore(adapter)).toEqual(before);
        if (seesInstance && create.status === 200) {
          // A plan made by the caller takes the caller's site and user, as its own manager would fill them.
          expect(create.body.plan).toMatchObject({ site_id: caller.site_id ?? null, user_id: caller.user_id ?? null });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a caller whose scope is outside the manager\'s own is not served (500, naming the field), and nothing changes', async () => {
    const adapter = memoryAdapter();
    const manager = new PlanManager({ adapter, scope: { organization_id: 'acme' } });
    const instance = await manager.createInstance({ agent_type_id: 'agent' });
    const handler = createFetchHandler(manager, { authenticate: () => ({ organization_id: 'globex' }) });
    const before = await snapshotStore(adapter);
    const response = await handler(
      new Request(`http://localhost/agents/instances/${instance.id}/transition`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{"status":"running"}' }),
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      success: false,
      error: { code: 'INTERNAL_ERROR', message: "The server is misconfigured: its manager's scope does not cover the caller's (organization_id). Nothing was changed." },
    });
    expect(await snapshotStore(adapter)).toEqual(before);
  });
});

describe('withScope', () => {
  it('narrows, never widens or moves a scope; bad scopes are TypeErrors naming the field', () => {
    const manager = new PlanManager({ scope: { organization_id: 'acme' } });
    expect(manager.withScope({ site_id: 'site-1' }).scope).toEqual({ organization_id: 'acme', site_id: 'site-1' });
    expect(manager.withScope({ organization_id: 'acme', user_id: 'u' }).withScope({ site_id: 's' }).scope).toEqual({ organization_id: 'acme', user_id: 'u', site_id: 's' });
    expect(() => manager.withScope({ organization_id: 'globex' })).toThrow('withScope: organization_id "globex" is outside this manager\'s scope (organization_id "acme"): a view can only narrow it');
    expect(() => manager.withScope({ tenant: 'x' } as Scope)).toThrow('withScope: unknown scope field "tenant" (allowed: organization_id, site_id, user_id)');
    expect(() => manager.withScope({ site_id: '' })).toThrow('withScope: site_id must be a non-empty string, got an empty string');
    expect(() => manager.withScope({ site_id: 7 } as unknown as Scope)).toThrow('withScope: site_id must be a non-empty string, got number');
    expect(() => manager.withScope(null as unknown as Scope)).toThrow(TypeError);
    expect(Object.isFrozen(manager.withScope({ site_id: 's' }).scope)).toBe(true);
  });

  it('a scoped view writes under its parent\'s lease, and its subscribers hear only its scope', async () => {
    const adapter = memoryAdapter();
    const manager = new PlanManager({ adapter });
    const acme = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'a' });
    const globex = await manager.createInstance({ organization_id: 'globex', agent_type_id: 'a' });
    const lease = await manager.acquireLease(acme.id, { owner: 'worker', ttl_ms: 60_000 });
    const worker = manager.withLease(lease).withScope({ organization_id: 'acme' });
    expect(worker.lease).toMatchObject({ owner: 'worker', token: 1 });
    await worker.transitionInstance(acme.id, { status: 'running' });
    await expect(manager.transitionInstance(acme.id, { status: 'paused' })).rejects.toMatchObject({ code: 'LEASE_HELD' });
    const heard: string[] = [];
    const view = manager.withScope({ organization_id: 'globex' });
    view.subscribe((change) => heard.push(...change.records.map((record) => record.id)));
    await manager.transitionInstance(globex.id, { status: 'running' });
    await worker.recordTurn(acme.id, { tokens: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([globex.id]);
  });
});
