import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type CommittedChange, type Instance, type Plan, type Scope } from '../src';
import {
  countingAdapter,
  expectRejection,
  sequentialIds,
  settle,
  snapshotStore,
  testClock,
  type CountingAdapter,
} from './support/core-fixtures';

/**
 * Records outside the manager's scope (organization, site, user) are neither visible nor
 * changeable. The model of "in scope" (docs/semantics.md):
 * - an instance carries only an organization: it is in scope when the scope names no
 *   organization, or the same one;
 * - a plan is in scope when its site and user match wherever the scope names them, and, when
 *   the scope names an organization, its instance is stored and in scope (plans carry no
 *   organization of their own; one whose organization cannot be known is someone else's).
 */
function instanceVisible(scope: Scope, instance: Instance): boolean {
  return scope.organization_id === undefined || instance.organization_id === scope.organization_id;
}

function planVisible(scope: Scope, plan: Plan, instances: readonly Instance[]): boolean {
  if (scope.site_id !== undefined && plan.site_id !== scope.site_id) return false;
  if (scope.user_id !== undefined && plan.user_id !== scope.user_id) return false;
  if (scope.organization_id === undefined) return true;
  const instance = instances.find((candidate) => candidate.id === plan.instance_id);
  return instance !== undefined && instanceVisible(scope, instance);
}

/** Lets queued change deliveries (a scoped manager checks visibility asynchronously) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

interface Store {
  adapter: CountingAdapter;
  root: PlanManager;
  instances: Instance[];
  plans: Plan[];
  managerFor(scope: Scope): PlanManager;
}

interface RecordSpec {
  instances: { organization_id: string }[];
  plans: { instance: number | 'ghost'; site_id: string | null; user_id: string | null }[];
}

/** Builds the records with an unscoped manager; scoped managers share the same adapter. */
async function buildStore(spec: RecordSpec): Promise<Store> {
  const adapter = countingAdapter(memoryAdapter());
  const clock = testClock();
  const ids = sequentialIds('r');
  const root = new PlanManager({ adapter, clock, ids });
  const instances: Instance[] = [];
  for (const { organization_id } of spec.instances) {
    instances.push(await root.createInstance({ organization_id, agent_type_id: 'agent' }));
  }
  const plans: Plan[] = [];
  for (const [index, p] of spec.plans.entries()) {
    const instance_id = p.instance === 'ghost' ? 'ghost-instance' : instances[p.instance % instances.length]!.id;
    plans.push(
      await root.createPlan({
        instance_id,
        title: `Plan ${index}`,
        site_id: p.site_id,
        user_id: p.user_id,
        steps: [
          { title: `Step ${index}.a`, type: 'tool_call' },
          { title: `Step ${index}.b`, type: 'review' },
        ],
      }),
    );
  }
  return {
    adapter,
    root,
    instances,
    plans,
    managerFor: (scope) => new PlanManager({ adapter, clock, ids, scope }),
  };
}

/** Every read a scoped manager offers answers exactly as the model says. */
async function expectVisibility(store: Store, scope: Scope, manager: PlanManager): Promise<void> {
  const visibleInstances = store.instances.filter((instance) => instanceVisible(scope, instance));
  for (const instance of store.instances) {
    const stored = await store.root.getInstance(instance.id);
    if (instanceVisible(scope, instance)) {
      expect(await manager.getInstance(instance.id)).toEqual(stored);
      expect(await manager.history(instance.id)).toEqual(await store.root.history(instance.id));
    } else {
      const error = await expectRejection(manager.getInstance(instance.id), 'NOT_FOUND');
      expect(error.details).toMatchObject({ id: instance.id });
      await expectRejection(manager.history(instance.id), 'NOT_FOUND');
    }
  }
  const listed = await manager.listInstances({ limit: 100 });
  expect(listed.total).toBe(visibleInstances.length);
  expect(new Set(listed.instances.map((instance) => instance.id))).toEqual(new Set(visibleInstances.map((instance) => instance.id)));

  for (const plan of store.plans) {
    const stored = await store.root.getPlan(plan.id);
    if (planVisible(scope, plan, store.instances)) {
      expect(await manager.getPlan(plan.id)).toEqual(stored);
      expect(await manager.history(plan.id)).toEqual(await store.root.history(plan.id));
    } else {
      const error = await expectRejection(manager.getPlan(plan.id), 'NOT_FOUND');
      expect(error.details).toMatchObject({ id: plan.id });
      await expectRejection(manager.history(plan.id), 'NOT_FOUND');
      const tool = await manager.handle({ action: 'update', plan_id: plan.id, title: 'peek' });
      expect(tool).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    }
  }

  const instanceIds = [...new Set([...store.instances.map((instance) => instance.id), ...store.plans.map((plan) => plan.instance_id)])];
  for (const instance_id of instanceIds) {
    const expected = store.plans.filter((plan) => plan.instance_id === instance_id && planVisible(scope, plan, store.instances));
    const page = await manager.listPlans({ instance_id, limit: 100 });
    expect(page.total).toBe(expected.length);
    expect(new Set(page.plans.map((plan) => plan.id))).toEqual(new Set(expected.map((plan) => plan.id)));
    const tool = await manager.forInstance(instance_id).handle({ action: 'list', limit: 100 });
    expect(tool).toMatchObject({ success: true, total: expected.length });
  }
  if (scope.organization_id === undefined) {
    const expected = store.plans.filter((plan) => planVisible(scope, plan, store.instances));
    const page = await manager.listPlans({ limit: 100 });
    expect(page.total).toBe(expected.length);
    expect(new Set(page.plans.map((plan) => plan.id))).toEqual(new Set(expected.map((plan) => plan.id)));
  } else {
    // an organization-scoped manager lists plans per instance
    const error = await expectRejection(manager.listPlans({}), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([expect.objectContaining({ path: 'instance_id' })]);
  }
}

/** Every mutating method, aimed at a record the manager may not see, is NOT_FOUND. */
async function expectUnchangeable(store: Store, scope: Scope, manager: PlanManager): Promise<number> {
  let attempts = 0;
  const refused = async (promise: Promise<unknown>) => {
    attempts++;
    const error = await expectRejection(promise, 'NOT_FOUND');
    expect(error.message).not.toMatch(/scope/i); // answered exactly as if the record did not exist
  };
  for (const instance of store.instances.filter((candidate) => !instanceVisible(scope, candidate))) {
    for (const status of ['running', 'stopped', 'error', 'starting'] as const) await refused(manager.transitionInstance(instance.id, { status }));
    await refused(manager.recordTurn(instance.id, { tokens: 5 }));
    await refused(manager.setCurrentStep(instance.id, 'hijacked'));
    await refused(manager.setCurrentStep(instance.id, null));
    await refused(manager.createPlan({ instance_id: instance.id, title: 'Intruder', steps: [] }));
    attempts++;
    expect(await manager.forInstance(instance.id).handle({ action: 'create', title: 'Intruder', steps: [] })).toMatchObject({
      success: false,
      error: { code: 'NOT_FOUND' },
    });
  }
  for (const plan of store.plans.filter((candidate) => !planVisible(scope, candidate, store.instances))) {
    for (const status of ['in_progress', 'paused', 'cancelled', 'failed'] as const) await refused(manager.updatePlan({ plan_id: plan.id, status }));
    await refused(manager.updatePlan({ plan_id: plan.id, title: 'Renamed' }));
    await refused(manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'Injected', type: 'process' }] }));
    for (const step of plan.steps) {
      await refused(manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' }));
      await refused(manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: 'x' }));
    }
    await refused(manager.executeStep({ plan_id: plan.id, step_id: 'no-such-step', step_status: 'in_progress' }));
    for (const input of [
      { action: 'update', plan_id: plan.id, status: 'cancelled' },
      { action: 'execute_step', plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' },
    ]) {
      attempts++;
      expect(await manager.handle(input)).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    }
  }
  return attempts;
}

// ---------------------------------------------------------------------------------------------

const A: Scope = { organization_id: 'org-a', site_id: 'site-a', user_id: 'user-a' };
const B: Scope = { organization_id: 'org-b', site_id: 'site-b', user_id: 'user-b' };
const SCOPES: [string, Scope][] = [
  ['A (org, site, user)', A],
  ['B (org, site, user)', B],
  ['org-a only', { organization_id: 'org-a' }],
  ['site-a only', { site_id: 'site-a' }],
  ['user-b only', { user_id: 'user-b' }],
  ['site-a and user-b', { site_id: 'site-a', user_id: 'user-b' }],
  ['an organization with nothing', { organization_id: 'org-z' }],
];

const FIXTURE: RecordSpec = {
  instances: [{ organization_id: 'org-a' }, { organization_id: 'org-b' }, { organization_id: 'org-a' }],
  plans: [
    { instance: 0, site_id: 'site-a', user_id: 'user-a' },
    { instance: 0, site_id: 'site-a', user_id: 'user-b' },
    { instance: 0, site_id: 'site-b', user_id: 'user-a' },
    { instance: 0, site_id: null, user_id: null },
    { instance: 1, site_id: 'site-b', user_id: 'user-b' },
    { instance: 1, site_id: 'site-a', user_id: 'user-a' },
    { instance: 2, site_id: 'site-a', user_id: 'user-a' },
    { instance: 'ghost', site_id: 'site-a', user_id: 'user-a' },
    { instance: 'ghost', site_id: 'site-b', user_id: 'user-b' },
  ],
};

describe('a scoped manager sees only its scope', () => {
  it.each(SCOPES)('scope %s: get, list and history answer exactly the records in scope', async (_, scope) => {
    const store = await buildStore(FIXTURE);
    const manager = store.managerFor(scope);
    expect(manager.scope).toEqual(scope);
    await expectVisibility(store, scope, manager);
    // the fixture is not trivial for this scope: it hides something
    const hidden =
      store.instances.filter((instance) => !instanceVisible(scope, instance)).length +
      store.plans.filter((plan) => !planVisible(scope, plan, store.instances)).length;
    expect(hidden).toBeGreaterThan(0);
  });

  it('a list filter for another site or user than the scope\'s matches nothing (not an error)', async () => {
    const store = await buildStore(FIXTURE);
    const manager = store.managerFor({ site_id: 'site-a', user_id: 'user-a' });
    expect(await manager.listPlans({ site_id: 'site-b' })).toEqual({ plans: [], total: 0 });
    expect(await manager.listPlans({ user_id: 'user-b' })).toEqual({ plans: [], total: 0 });
    const own = await manager.listPlans({ site_id: 'site-a' });
    expect(own.total).toBe(store.plans.filter((plan) => plan.site_id === 'site-a' && plan.user_id === 'user-a').length);
    const scopedA = store.managerFor(A);
    expect(await scopedA.listPlans({ instance_id: store.instances[1]!.id })).toEqual({ plans: [], total: 0 });
    expect(await scopedA.listPlans({ instance_id: 'ghost-instance' })).toEqual({ plans: [], total: 0 });
  });
});

describe('a scoped manager changes nothing outside its scope', () => {
  it.each(SCOPES)('scope %s: every mutating method on an out-of-scope record is NOT_FOUND and the store is unchanged', async (_, scope) => {
    const store = await buildStore(FIXTURE);
    const manager = store.managerFor(scope);
    const before = await snapshotStore(store.adapter);
    const commits = store.adapter.counts.commits;
    const attempts = await expectUnchangeable(store, scope, manager);
    expect(attempts).toBeGreaterThan(0);
    expect(store.adapter.counts.commits).toBe(commits);
    expect(await snapshotStore(store.adapter)).toEqual(before);
  });

  it('the same manager does change the records in its scope (the refusals above are about scope)', async () => {
    const store = await buildStore(FIXTURE);
    const manager = store.managerFor(A);
    const instance = store.instances[0]!;
    const plan = store.plans[0]!;
    expect(planVisible(A, plan, store.instances)).toBe(true);
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.recordTurn(instance.id, { tokens: 3 });
    const executed = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(executed.status).toBe('in_progress');
    expect((await store.root.getInstance(instance.id)).current_step).toBe(plan.steps[0]!.title);
    const renamed = await manager.handle({ action: 'update', plan_id: plan.id, title: 'Renamed' });
    expect(renamed).toMatchObject({ success: true, plan: { title: 'Renamed' } });
  });
});

describe('creation fills the scope and refuses mismatches', () => {
  it('createInstance fills organization_id from the scope, refuses another one', async () => {
    const store = await buildStore({ instances: [], plans: [] });
    const manager = store.managerFor(A);
    const filled = await manager.createInstance({ agent_type_id: 'agent' });
    expect(filled.organization_id).toBe('org-a');
    expect(await manager.createInstance({ organization_id: 'org-a', agent_type_id: 'agent' })).toMatchObject({ organization_id: 'org-a' });
    const before = await snapshotStore(store.adapter);
    const error = await expectRejection(manager.createInstance({ organization_id: 'org-b', agent_type_id: 'agent' }), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([expect.objectContaining({ path: 'organization_id' })]);
    expect(await snapshotStore(store.adapter)).toEqual(before);
    // unscoped, the organization is required
    await expectRejection(store.root.createInstance({ agent_type_id: 'agent' }), 'VALIDATION_ERROR');
  });

  it('createPlan fills site_id and user_id from the scope, refuses other ones', async () => {
    const store = await buildStore({ instances: [{ organization_id: 'org-a' }], plans: [] });
    const manager = store.managerFor(A);
    const instance_id = store.instances[0]!.id;
    const filled = await manager.createPlan({ instance_id, title: 'P', steps: [] });
    expect(filled).toMatchObject({ site_id: 'site-a', user_id: 'user-a' });
    const viaTool = await manager.forInstance(instance_id).handle({ action: 'create', title: 'Q', steps: [] });
    expect(viaTool).toMatchObject({ success: true, plan: { site_id: 'site-a', user_id: 'user-a', instance_id } });
    const before = await snapshotStore(store.adapter);
    for (const [field, value] of [['site_id', 'site-b'], ['user_id', 'user-b']] as const) {
      const error = await expectRejection(manager.createPlan({ instance_id, title: 'P', steps: [], [field]: value }), 'VALIDATION_ERROR');
      expect(error.details.issues).toEqual([expect.objectContaining({ path: field })]);
    }
    // an organization-scoped manager cannot create a plan for an instance it does not know
    await expectRejection(manager.createPlan({ instance_id: 'ghost-instance', title: 'P', steps: [] }), 'NOT_FOUND');
    expect(await snapshotStore(store.adapter)).toEqual(before);
  });
});

describe('change notifications respect the scope', () => {
  it('a scoped subscriber hears every change in its scope and nothing else, whichever manager commits', async () => {
    const store = await buildStore(FIXTURE);
    const heard = new Map<string, CommittedChange[]>();
    const managers = new Map<string, PlanManager>();
    for (const [name, scope] of SCOPES) {
      const manager = store.managerFor(scope);
      managers.set(name, manager);
      heard.set(name, []);
      manager.subscribe((change) => heard.get(name)!.push(change));
    }
    const everything: CommittedChange[] = [];
    store.root.subscribe((change) => everything.push(change));

    // Changes by the root and by scoped managers, to records of every scope.
    for (const instance of store.instances) await store.root.transitionInstance(instance.id, { status: 'running' });
    for (const plan of store.plans) {
      await store.root.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    }
    const b = managers.get('B (org, site, user)')!;
    await b.updatePlan({ plan_id: store.plans[4]!.id, title: 'B renamed' });
    const a = managers.get('A (org, site, user)')!;
    await a.updatePlan({ plan_id: store.plans[0]!.id, title: 'A renamed' });
    await flush();

    expect(everything.length).toBeGreaterThan(store.plans.length);
    const key = (record: { id: string; version: number }) => `${record.id}@${record.version}`;
    for (const [name, scope] of SCOPES) {
      const visible = (id: string) => {
        const instance = store.instances.find((candidate) => candidate.id === id);
        if (instance) return instanceVisible(scope, instance);
        const plan = store.plans.find((candidate) => candidate.id === id)!;
        return planVisible(scope, plan, store.instances);
      };
      const got = heard.get(name)!;
      for (const change of got) {
        for (const record of change.records) expect(visible(record.id), `${name} heard ${record.id}`).toBe(true);
        for (const event of change.events) expect(visible(event.record_id), `${name} heard an event of ${event.record_id}`).toBe(true);
      }
      const expected = everything.flatMap((change) => change.records.filter((record) => visible(record.id)).map(key));
      expect(got.flatMap((change) => change.records.map(key)), name).toEqual(expected);
      if (scope.organization_id === 'org-z') expect(got).toEqual([]);
      else expect(expected.length, `${name} has something to hear`).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('property: random scopes over random records', () => {
  const orgs = ['o1', 'o2', 'o3'];
  const sites = ['s1', 's2'];
  const users = ['u1', 'u2'];
  const spec: fc.Arbitrary<RecordSpec> = fc.record({
    instances: fc.array(fc.record({ organization_id: fc.constantFrom(...orgs.slice(0, 2)) }), { minLength: 1, maxLength: 3 }),
    plans: fc.array(
      fc.record({
        instance: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 2 }) }, { weight: 1, arbitrary: fc.constant('ghost' as const) }),
        site_id: fc.constantFrom(...sites, null),
        user_id: fc.constantFrom(...users, null),
      }),
      { maxLength: 5 },
    ),
  });
  const scope: fc.Arbitrary<Scope> = fc.record(
    { organization_id: fc.constantFrom(...orgs), site_id: fc.constantFrom(...sites, 's3'), user_id: fc.constantFrom(...users) },
    { requiredKeys: [] },
  );

  it('what a scoped manager sees, changes and hears is exactly what the scope allows', async () => {
    let hiddenSeen = 0;
    await fc.assert(
      fc.asyncProperty(spec, scope, async (records, chosen) => {
        const store = await buildStore(records);
        const manager = store.managerFor(chosen);
        const heard: CommittedChange[] = [];
        manager.subscribe((change) => heard.push(change));

        await expectVisibility(store, chosen, manager);
        const before = await snapshotStore(store.adapter);
        const commits = store.adapter.counts.commits;
        hiddenSeen += await expectUnchangeable(store, chosen, manager);
        expect(store.adapter.counts.commits).toBe(commits);
        expect(await snapshotStore(store.adapter)).toEqual(before);

        // Another manager changes every record; the scoped one hears exactly the visible ones.
        const other = store.managerFor({});
        const changed: string[] = [];
        for (const instance of store.instances) {
          await other.transitionInstance(instance.id, { status: 'running' });
          changed.push(instance.id);
        }
        for (const plan of store.plans) {
          const outcome = await settle(other.updatePlan({ plan_id: plan.id, title: 'Touched' }));
          expect(outcome.ok).toBe(true);
          changed.push(plan.id);
        }
        await flush();
        const visibleIds = new Set([
          ...store.instances.filter((instance) => instanceVisible(chosen, instance)).map((instance) => instance.id),
          ...store.plans.filter((plan) => planVisible(chosen, plan, store.instances)).map((plan) => plan.id),
        ]);
        expect(heard.flatMap((change) => change.records.map((record) => record.id))).toEqual(changed.filter((id) => visibleIds.has(id)));
        expect(heard.flatMap((change) => change.events.map((event) => event.record_id))).toEqual(changed.filter((id) => visibleIds.has(id)));
      }),
      { numRuns: 1_000 },
    );
    expect(hiddenSeen).toBeGreaterThan(0);
  });
});
