// Behaviour of the PlanManager that mutation testing (`npm run mutation`) found unchecked by the
// rest of the suite: each block names the survivors it was written against (docs/testing.md,
// "Mutation testing"). Every expectation comes from DESIGN.md, docs/decisions.md, docs/tool.md or the API's
// own documentation, not from the implementation.
import { describe, expect, it } from 'vitest';
import {
  conflictError,
  InstancePlanError,
  instanceLogic,
  memoryAdapter,
  PlanManager,
  planLogic,
  replay,
  type CommittedChange,
  type Lease,
  type PlanManagerOptions,
  type StorageAdapter,
  type ToolResult,
} from '../src';
import { expectRejection, sequentialIds, snapshotStore, testClock } from './support/core-fixtures';

// ---------------------------------------------------------------------------------------------
// Helpers

/** A manager with a deterministic clock and ids over `adapter` (default: a fresh memory store). */
function managerOn(adapter: StorageAdapter = memoryAdapter(), options: PlanManagerOptions = {}) {
  return new PlanManager({ clock: testClock(), ids: sequentialIds(), ...options, adapter });
}

/** The memory store without its change feed: what a third-party adapter without `subscribe` looks like. */
function feedless(inner: StorageAdapter = memoryAdapter()): StorageAdapter {
  return {
    get: (kind, id) => inner.get(kind, id),
    list: (kind, query) => inner.list(kind, query),
    commit: (batch) => inner.commit(batch),
    history: (id) => inner.history(id),
  };
}

type Method = 'get' | 'list' | 'history' | 'commit';

/** Wraps an adapter so that chosen calls fail with `fault` while `failing` says so. */
function faulty(inner: StorageAdapter, fault: unknown) {
  const failing = new Set<string>();
  /** The calls that failed, in order: a signal that a read was attempted while failing. */
  const failures: string[] = [];
  const check = (key: string) => {
    if (failing.has(key)) {
      failures.push(key);
      throw fault;
    }
  };
  const adapter: StorageAdapter = {
    async get(kind, id) {
      check(`get:${kind}`);
      return inner.get(kind, id);
    },
    async list(kind, query) {
      check(`list:${kind}`);
      return inner.list(kind, query);
    },
    async history(id) {
      check('history');
      return inner.history(id);
    },
    async commit(batch) {
      check('commit');
      return inner.commit(batch);
    },
  };
  if (inner.subscribe) adapter.subscribe = (listener) => inner.subscribe!(listener);
  return { adapter, failures, fail: (...keys: string[]) => keys.forEach((key) => failing.add(key)), heal: () => failing.clear() };
}

/** Records every `list` query an adapter receives. */
function listSpy(inner: StorageAdapter = memoryAdapter()) {
  const queries: { kind: string; where: Record<string, unknown>; limit: number; offset: number }[] = [];
  const adapter: StorageAdapter = {
    ...inner,
    list: (kind, query) => {
      queries.push({ kind, ...query, where: { ...query.where } });
      return inner.list(kind, query);
    },
  };
  return { adapter, queries };
}

async function runningInstance(manager: PlanManager, organization = 'org-1') {
  const instance = await manager.createInstance({ organization_id: organization, agent_type_id: 'researcher' });
  return manager.transitionInstance(instance.id, { status: 'running' });
}

function planOf(result: ToolResult) {
  if (!result.success || !('plan' in result)) expect.fail(`expected a plan answer, got ${JSON.stringify(result)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------

describe('change notifications (decisions.md, "Change notifications")', () => {
  // Survivors: plan-manager.ts announce (`!adapter.subscribe`), subscribe/unsubscribe bookkeeping;
  // commit.ts, the records of an announced change.
  it('without an adapter feed, a subscriber hears each of its manager\'s commits once, with the records and versions', async () => {
    const manager = managerOn(feedless());
    const heard: CommittedChange[] = [];
    const stop = manager.subscribe((change) => heard.push(change));
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    const running = await manager.transitionInstance(instance.id, { status: 'running' });
    expect(heard.map((change) => change.records)).toEqual([
      [{ kind: 'instance', id: instance.id, version: 1 }],
      [{ kind: 'instance', id: instance.id, version: 2 }],
    ]);
    expect(heard.map((change) => change.events.map((event) => [event.type, event.seq]))).toEqual([
      [['instance.created', 1]],
      [['instance.transitioned', 2]],
    ]);
    expect(heard[1]!.events[0]).toEqual((await manager.history(instance.id))[1]);
    stop();
    await manager.recordTurn(running.id, { tokens: 5 });
    expect(heard).toHaveLength(2);
    // subscribing again works as the first time
    const again: CommittedChange[] = [];
    manager.subscribe((change) => again.push(change))();
    const later = manager.subscribe((change) => again.push(change));
    await manager.recordTurn(running.id, { tokens: 1 });
    later();
    expect(again.map((change) => change.records)).toEqual([[{ kind: 'instance', id: instance.id, version: 4 }]]);
  });

  it('with an adapter feed, every listener hears each change once, and the others keep hearing when one leaves', async () => {
    const store = memoryAdapter();
    const writer = managerOn(store);
    const reader = managerOn(store);
    const first: string[] = [];
    const second: string[] = [];
    const witness: string[] = [];
    const stopFirst = reader.subscribe((change) => first.push(...change.events.map((event) => event.type)));
    const stopSecond = reader.subscribe((change) => second.push(...change.events.map((event) => event.type)));
    reader.subscribe((change) => witness.push(...change.events.map((event) => event.type)));
    const instance = await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await expect.poll(() => first).toEqual(['instance.created']);
    await expect.poll(() => second).toEqual(['instance.created']);
    stopFirst();
    await writer.transitionInstance(instance.id, { status: 'running' });
    await expect.poll(() => second).toEqual(['instance.created', 'instance.transitioned']);
    expect(first).toEqual(['instance.created']);
    stopSecond();
    await writer.transitionInstance(instance.id, { status: 'waiting' });
    // the listener still subscribed has heard the change: one that left hears it no more
    await expect.poll(() => witness).toHaveLength(3);
    expect(second).toHaveLength(2);
  });

  it('when its last listener leaves, the manager lets go of the adapter feed, and takes it again for a new one', async () => {
    const store = memoryAdapter();
    let active = 0;
    const watched: StorageAdapter = {
      ...store,
      subscribe(listener) {
        active++;
        const stop = store.subscribe!(listener);
        let stopped = false;
        return () => {
          if (!stopped) active--;
          stopped = true;
          stop();
        };
      },
    };
    const manager = managerOn(watched);
    const stopA = manager.subscribe(() => {});
    const stopB = manager.subscribe(() => {});
    expect(active).toBeGreaterThan(0);
    stopA();
    expect(active).toBeGreaterThan(0);
    stopB();
    expect(active).toBe(0);
    const heard: string[] = [];
    const stopC = manager.subscribe((change) => heard.push(change.records[0]!.id));
    expect(active).toBeGreaterThan(0);
    const instance = await managerOn(store).createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await expect.poll(() => heard).toEqual([instance.id]);
    stopC();
    expect(active).toBe(0);
  });

  it('a scoped subscriber hears nothing whose visibility cannot be read (fail closed), and hears again once the store answers', async () => {
    const store = memoryAdapter();
    const { adapter, failures, fail, heal } = faulty(store, new Error('disk on fire'));
    const scoped = managerOn(adapter, { scope: { organization_id: 'org-1' } });
    const writer = managerOn(store);
    const heard: string[] = [];
    scoped.subscribe((change) => heard.push(...change.records.map((record) => record.id)));
    fail('get:instance');
    await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    // the scoped manager has tried to read the instance, and failed
    await expect.poll(() => failures).toContain('get:instance');
    heal();
    const visible = await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    // changes are delivered in order (decisions.md, "Change notifications"): the first was decided before this one
    await expect.poll(() => heard).toEqual([visible.id]);
  });
});

describe('PlanManager options and returned records', () => {
  // Survivors: plan-manager.ts, the `retries` check; Immer's `autoFreeze: false` (decisions.md,
  // "Records": records handed out are plain, mutable copies).
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses retries: %s (a non-negative integer is required)', (retries) => {
    expect(() => new PlanManager({ retries })).toThrow(TypeError);
    expect(() => new PlanManager({ retries })).toThrow(/retries must be a non-negative integer/);
  });

  it('accepts retries: 0 (report the first conflict)', () => {
    expect(() => new PlanManager({ retries: 0 })).not.toThrow();
  });

  it('records returned after a change are the caller\'s own plain objects: mutable, and mutating them changes nothing stored', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    const updated = await manager.updatePlan({ plan_id: plan.id, title: 'Q' });
    const executed = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    for (const record of [instance, updated, executed, executed.steps[0]!, executed.steps[0]!.details]) {
      expect(Object.isFrozen(record)).toBe(false);
    }
    const stored = await manager.getPlan(plan.id);
    executed.title = 'changed by the caller';
    executed.steps[0]!.status = 'completed';
    instance.status = 'stopped';
    expect(await manager.getPlan(plan.id)).toEqual(stored);
    expect((await manager.getInstance(instance.id)).status).toBe('running');
  });
});

describe('NOT_FOUND names the kind of record and where to look', () => {
  // Survivors: plan-manager.ts #visible (`plan !== undefined`), notFound('record'), scope.ts hints.
  it('history of an id that is neither an instance nor a plan is NOT_FOUND of kind "record", on an unscoped manager too', async () => {
    const manager = managerOn();
    const error = await expectRejection(manager.history('nothing-here'), 'NOT_FOUND');
    expect(error.details).toEqual({ kind: 'record', id: 'nothing-here' });
    expect(error.message).toMatch(/instance or a plan/);
  });

  it('creating a plan for an instance outside an organization scope, or unknown there, is NOT_FOUND of kind "instance"', async () => {
    // Survivors: plans.ts createPlan, notFound('instance', ...) twice.
    const store = memoryAdapter();
    const other = await runningInstance(managerOn(store), 'org-2');
    const scoped = managerOn(store, { scope: { organization_id: 'org-1' } });
    for (const id of [other.id, 'ghost']) {
      const error = await expectRejection(scoped.createPlan({ instance_id: id, title: 'P', steps: [] }), 'NOT_FOUND');
      expect(error.details).toEqual({ kind: 'instance', id });
    }
  });

  it('an unknown instance, plan or step is NOT_FOUND naming its kind and id', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    expect((await expectRejection(manager.getInstance('ghost'), 'NOT_FOUND')).details).toEqual({ kind: 'instance', id: 'ghost' });
    expect((await expectRejection(manager.getPlan('ghost'), 'NOT_FOUND')).details).toEqual({ kind: 'plan', id: 'ghost' });
    const step = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: 'ghost', step_status: 'in_progress' }), 'NOT_FOUND');
    expect(step.details).toEqual({ kind: 'step', id: 'ghost', plan_id: plan.id });
    // the step hint points at the plan's steps, not at "list" (which lists plans)
    expect(step.message).toMatch(/"steps" of the plan/);
  });
});

describe('history and replay (DESIGN.md invariant 4)', () => {
  // Survivors: history.ts, replay's sort by `seq`; `step` only on step events.
  it('replay folds events in seq order whatever order they are given in', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    await manager.updatePlan({ plan_id: plan.id, title: 'Renamed' });
    const events = await manager.history(plan.id);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3]);
    const stored = await manager.getPlan(plan.id);
    expect(replay([...events].reverse())).toEqual(stored);
    expect(replay([events[1]!, events[2]!, events[0]!])).toEqual(stored);
  });

  it('the creation event of an instance is kind "instance" from null; events carry `step` only for a step execution', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const [created, transitioned] = await manager.history(instance.id);
    expect(created).toMatchObject({ seq: 1, record_id: instance.id, record_kind: 'instance', type: 'instance.created', from: null, to: 'starting' });
    expect(transitioned).toMatchObject({ seq: 2, record_kind: 'instance', type: 'instance.transitioned', from: 'starting', to: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    await manager.updatePlan({ plan_id: plan.id, title: 'Q' });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    const planEvents = await manager.history(plan.id);
    expect(planEvents[0]).toMatchObject({ seq: 1, record_id: plan.id, record_kind: 'plan', type: 'plan.created', from: null, to: 'pending' });
    expect(planEvents[1]).toMatchObject({ seq: 2, record_kind: 'plan', type: 'plan.updated', from: 'pending', to: 'pending' });
    for (const event of [created!, transitioned!, ...planEvents.slice(0, 2)]) expect(Object.keys(event)).not.toContain('step');
    expect(planEvents[2]!.step).toEqual({ id: plan.steps[0]!.id, from: 'pending', to: 'in_progress' });
  });
});

describe('listing instances (DESIGN.md: list filters, limit default 20, newest first)', () => {
  // Survivors: instances.ts listInstances, each filter and the default limit.
  it('filters by status, agent_type_id and task_id, together or alone, and pages 20 by default', async () => {
    const manager = managerOn();
    const made: { id: string; agent: string; task: string | null; running: boolean }[] = [];
    for (let i = 0; i < 25; i++) {
      const agent = i % 2 === 0 ? 'researcher' : 'writer';
      const task = i % 3 === 0 ? 'task-a' : null;
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: agent, task_id: task });
      const running = i % 5 === 0;
      if (running) await manager.transitionInstance(instance.id, { status: 'running' });
      made.push({ id: instance.id, agent, task, running });
    }
    const newestFirst = [...made].reverse();
    const ids = (list: { instances: { id: string }[] }) => list.instances.map((instance) => instance.id);

    const all = await manager.listInstances();
    expect(all.total).toBe(25);
    expect(ids(all)).toEqual(newestFirst.slice(0, 20).map((m) => m.id));

    const running = await manager.listInstances({ status: 'running' });
    expect(ids(running)).toEqual(newestFirst.filter((m) => m.running).map((m) => m.id));
    const writers = await manager.listInstances({ agent_type_id: 'writer', limit: 100 });
    expect(ids(writers)).toEqual(newestFirst.filter((m) => m.agent === 'writer').map((m) => m.id));
    const taskA = await manager.listInstances({ task_id: 'task-a' });
    expect(ids(taskA)).toEqual(newestFirst.filter((m) => m.task === 'task-a').map((m) => m.id));
    const both = await manager.listInstances({ agent_type_id: 'researcher', task_id: 'task-a', status: 'running' });
    expect(ids(both)).toEqual(newestFirst.filter((m) => m.agent === 'researcher' && m.task === 'task-a' && m.running).map((m) => m.id));
    expect(both.total).toBe(both.instances.length);
  });

  it('hands the adapter only the filters that apply: never a key whose value is undefined (contract.ts, ListQuery.where)', async () => {
    // Survivors: instances.ts and plans.ts, the `!== undefined` guards around each filter.
    const { adapter, queries } = listSpy();
    const manager = managerOn(adapter);
    const scoped = managerOn(adapter, { scope: { organization_id: 'org-1' } });
    const noUndefinedKey = () => {
      for (const query of queries) {
        for (const [field, value] of Object.entries(query.where)) expect(value, `${query.kind} filter ${field}`).not.toBeUndefined();
      }
    };
    const asked = async (kind: string, call: () => Promise<unknown>, where: Record<string, string>) => {
      const before = queries.length;
      await call();
      const sent = queries.slice(before).filter((query) => query.kind === kind);
      expect(sent.length, `a ${kind} list query`).toBeGreaterThan(0);
      for (const query of sent) expect(query.where).toMatchObject(where);
      noUndefinedKey();
    };
    await asked('instance', () => manager.listInstances(), {});
    await asked('instance', () => manager.listInstances({ status: 'running' }), { status: 'running' });
    await asked('plan', () => manager.listPlans(), {});
    await asked('plan', () => manager.listPlans({ agent_id: 'agent-1', limit: 5, offset: 2 }), { agent_id: 'agent-1' });
    await asked('instance', () => scoped.listInstances({ task_id: 'task-1' }), { task_id: 'task-1', organization_id: 'org-1' });
  });

  it('an unscoped manager filters plans by site_id and user_id like any other field', async () => {
    // Survivor: plans.ts listPlans, `scoped === undefined` (the scope only narrows when it names a field).
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const a = await manager.createPlan({ instance_id: instance.id, title: 'A', steps: [], site_id: 'site-1', user_id: 'user-1' });
    const b = await manager.createPlan({ instance_id: instance.id, title: 'B', steps: [], site_id: 'site-2', user_id: 'user-1' });
    expect((await manager.listPlans({ site_id: 'site-1' })).plans.map((plan) => plan.id)).toEqual([a.id]);
    expect((await manager.listPlans({ user_id: 'user-1' })).plans.map((plan) => plan.id)).toEqual([b.id, a.id]);
    expect((await manager.listPlans({ site_id: 'site-2', user_id: 'user-1' })).plans.map((plan) => plan.id)).toEqual([b.id]);
  });
});

describe('instances: refusals carry what a caller needs to correct the call', () => {
  it('createInstance without organization_id (no scope) names the field', async () => {
    // Survivors: instances.ts createInstance, fieldError(['organization_id'], ...).
    const error = await expectRejection(managerOn().createInstance({ agent_type_id: 'researcher' }), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([{ path: 'organization_id', message: expect.stringMatching(/required/) }]);
  });

  it('a turn may bring tokens_total up to the largest exact integer, not past it', async () => {
    // Survivors: instances.ts recordTurn, the overflow bound and its refusal.
    const manager = managerOn();
    const instance = await runningInstance(manager);
    await manager.recordTurn(instance.id, { tokens: Number.MAX_SAFE_INTEGER - 10 });
    const full = await manager.recordTurn(instance.id, { tokens: 10 });
    expect(full.tokens_total).toBe(Number.MAX_SAFE_INTEGER);
    const error = await expectRejection(manager.recordTurn(instance.id, { tokens: 1 }), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([{ path: 'tokens', message: expect.stringContaining(String(Number.MAX_SAFE_INTEGER + 1)) }]);
    expect((await manager.getInstance(instance.id)).version).toBe(full.version);
  });

  it('recordTurn and setCurrentStep on a terminal instance name the instance, the action and the states that allow it', async () => {
    // Survivors: instances.ts actionNotAllowed arguments; transition-errors.ts, the list in the message.
    const manager = managerOn();
    const instance = await runningInstance(manager);
    await manager.transitionInstance(instance.id, { status: 'stopped' });
    const turn = await expectRejection(manager.recordTurn(instance.id, { tokens: 1 }), 'INVALID_TRANSITION');
    // transitions.test.ts checks the turn's allowed_in on every status; here: the action, the id, and the message
    const turnStates = instanceLogic.states.filter((state) => instanceLogic.edges(state, 'recordTurn').length > 0);
    const { allowed_in: turnAllowed, ...turnRest } = turn.details;
    expect(turnRest).toEqual({ kind: 'instance', id: instance.id, from: 'stopped', to: 'stopped', action: expect.stringMatching(/turn/), allowed: [] });
    expect(new Set(turnAllowed as string[])).toEqual(new Set(turnStates));
    for (const state of turnStates) expect(turn.message).toContain(`"${state}"`);

    const step = await expectRejection(manager.setCurrentStep(instance.id, 'Searching'), 'INVALID_TRANSITION');
    const stepStates = instanceLogic.states.filter((state) => !instanceLogic.isFinal(state));
    const { allowed_in: stepAllowed, ...stepRest } = step.details;
    expect(stepRest).toEqual({ kind: 'instance', id: instance.id, from: 'stopped', to: 'stopped', action: expect.stringMatching(/current step/), allowed: [] });
    expect(new Set(stepAllowed as string[])).toEqual(new Set(stepStates));
    for (const state of stepStates) expect(step.message).toContain(`"${state}"`);
  });
});

describe('updating plans (DESIGN.md "update"; decisions.md "Updates")', () => {
  async function planIn(status: 'completed' | 'cancelled' | 'in_progress') {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    if (status === 'cancelled') return { manager, plan: await manager.updatePlan({ plan_id: plan.id, status: 'cancelled' }) };
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'done' });
    if (status === 'in_progress') return { manager, plan: await manager.getPlan(plan.id) };
    return { manager, plan: await manager.updatePlan({ plan_id: plan.id, status: 'completed', summary: 'All done.' }) };
  }

  it('changes the description', async () => {
    // Survivor: plans.ts updatePlan, `data.description !== undefined`.
    const { manager, plan } = await planIn('in_progress');
    const updated = await manager.updatePlan({ plan_id: plan.id, description: 'Now with a description' });
    expect(updated).toMatchObject({ description: 'Now with a description', version: plan.version + 1 });
    expect((await manager.updatePlan({ plan_id: plan.id, description: null })).description).toBeNull();
  });

  it('appending steps to a completed plan while asking for in_progress (the status it reopens to) is one change', async () => {
    // Survivor: plans.ts, `data.status !== status` in the one-edge rule.
    const { manager, plan } = await planIn('completed');
    const reopened = await manager.updatePlan({ plan_id: plan.id, status: 'in_progress', steps: [{ title: 'B', type: 'review' }] });
    expect(reopened).toMatchObject({ status: 'in_progress', summary: null, version: plan.version + 1 });
    expect(reopened.steps.map((step) => step.title)).toEqual(['A', 'B']);
    expect((await manager.history(plan.id)).at(-1)).toMatchObject({ from: 'completed', to: 'in_progress' });
  });

  it('appending steps to a completed plan and asking for another status is INVALID_TRANSITION saying why', async () => {
    // Survivors: plans.ts, the invalidTransition arguments; transition-errors.ts, the reason in the message.
    const { manager, plan } = await planIn('completed');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, status: 'paused', steps: [{ title: 'B', type: 'review' }] }), 'INVALID_TRANSITION');
    expect(error.details).toMatchObject({ kind: 'plan', id: plan.id, from: 'completed', to: 'paused', allowed: [...planLogic.targets('completed')] });
    expect(error.details.reason).toEqual(expect.stringContaining('separate update'));
    expect(error.message).toContain(error.details.reason as string);
    expect(await manager.getPlan(plan.id)).toEqual(plan);
  });

  it('a plan move the table does not allow is INVALID_TRANSITION of kind "plan"', async () => {
    // Survivor: plans.ts refusedPlanMove, the kind.
    const { manager, plan } = await planIn('in_progress');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, status: 'pending' }), 'INVALID_TRANSITION');
    expect(error.details).toMatchObject({ kind: 'plan', id: plan.id, from: 'in_progress', to: 'pending' });
  });

  it('completing with a step unfinished names the blocking step in the message too', async () => {
    // Survivors: transition-errors.ts, the reason appended to the message.
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'Search', type: 'process' }] });
    await manager.updatePlan({ plan_id: plan.id, status: 'in_progress' });
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, status: 'completed', summary: 'early' }), 'INVALID_TRANSITION');
    expect(error.details.blocking_step).toEqual({ id: plan.steps[0]!.id, title: 'Search', status: 'pending' });
    expect(error.message).toContain(String(error.details.reason));
    expect(error.message).toContain(plan.steps[0]!.id);
  });

  it('changing a cancelled plan is PLAN_CLOSED listing every status in which a plan may still change', async () => {
    // Survivor: plans.ts planClosed without an event (`!planLogic.isFinal(state)`).
    const { manager, plan } = await planIn('cancelled');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, title: 'New title' }), 'PLAN_CLOSED');
    const { allowed_in: allowedIn, ...rest } = error.details;
    expect(rest).toEqual({ plan_id: plan.id, status: 'cancelled' });
    expect(new Set(allowedIn as string[])).toEqual(new Set(planLogic.states.filter((state) => !planLogic.isFinal(state))));
    expect(error.message).toContain(`Cannot change plan ${JSON.stringify(plan.id)} while it is "cancelled"`);
    // the statuses are listed quoted, one after another
    expect(error.message).toContain((allowedIn as string[]).map((state) => `"${state}"`).join(', '));
  });

  it('adding steps to a cancelled plan is PLAN_CLOSED naming that action and the statuses that take new steps', async () => {
    const { manager, plan } = await planIn('cancelled');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'More', type: 'process' }] }), 'PLAN_CLOSED');
    expect(error.message).toContain(`Cannot add steps to plan ${JSON.stringify(plan.id)}`);
    const takesSteps = planLogic.states.filter((state) => planLogic.edges(state, 'appendSteps').length > 0);
    expect(new Set(error.details.allowed_in as string[])).toEqual(new Set(takesSteps));
  });

  it('blanking the summary of a completed plan names the summary field and why', async () => {
    const { manager, plan } = await planIn('completed');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, summary: ' ' }), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([{ path: 'summary', message: expect.stringMatching(/non-empty summary/) }]);
  });

  it('too many steps in all: the refusal names the total the update would give and the limit', async () => {
    // Survivor: plans.ts, the total in the maxSteps message.
    const manager = managerOn(memoryAdapter(), { limits: { maxSteps: 3 } });
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }, { title: 'B', type: 'process' }] });
    const error = await expectRejection(
      manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'C', type: 'process' }, { title: 'D', type: 'process' }] }),
      'VALIDATION_ERROR',
    );
    expect(error.details.issues).toEqual([{ path: 'steps', message: expect.stringMatching(/4 steps.*at most 3/) }]);
  });

  it('a site-scoped manager fills site_id from the scope when it is given as null (decisions.md, "Scope": null counts as left out)', async () => {
    // Survivor: scope.ts scopedField, `given !== null`.
    const manager = managerOn(memoryAdapter(), { scope: { site_id: 'site-1' } });
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [], site_id: null });
    expect(plan.site_id).toBe('site-1');
  });

  it('an organization-scoped manager asked for plans without instance_id says why it needs one', async () => {
    const manager = managerOn(memoryAdapter(), { scope: { organization_id: 'org-1' } });
    const error = await expectRejection(manager.listPlans(), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([{ path: 'instance_id', message: expect.stringMatching(/organization.*per instance/) }]);
  });
});

describe('storage faults are STORAGE_ERROR naming the operation, with the fault as cause, and change nothing', () => {
  // Survivors: the operation names handed to read() in instances.ts, plans.ts, scope.ts,
  // execute-step.ts and plan-manager.ts.
  const fault = new Error('disk on fire');
  type Case = [label: string, failing: string, operation: string, scope: PlanManagerOptions['scope'], call: (m: PlanManager, ids: { instance: string; plan: string; step: string }) => Promise<unknown>];
  const cases: Case[] = [
    ['getInstance', 'get:instance', 'get', undefined, (m, ids) => m.getInstance(ids.instance)],
    ['getPlan', 'get:plan', 'get', undefined, (m, ids) => m.getPlan(ids.plan)],
    ['getPlan in an organization scope (its instance)', 'get:instance', 'get', { organization_id: 'org-1' }, (m, ids) => m.getPlan(ids.plan)],
    ['listInstances', 'list:instance', 'list', undefined, (m) => m.listInstances()],
    ['listPlans', 'list:plan', 'list', undefined, (m) => m.listPlans()],
    ['listPlans in an organization scope (its instance)', 'get:instance', 'get', { organization_id: 'org-1' }, (m, ids) => m.listPlans({ instance_id: ids.instance })],
    ['createPlan (its instance)', 'get:instance', 'get', undefined, (m, ids) => m.createPlan({ instance_id: ids.instance, title: 'Q', steps: [] })],
    ['executeStep (its instance)', 'get:instance', 'get', undefined, (m, ids) => m.executeStep({ plan_id: ids.plan, step_id: ids.step, step_status: 'in_progress' })],
    ['history of an instance', 'get:instance', 'get', undefined, (m, ids) => m.history(ids.instance)],
    ['history of a plan', 'get:plan', 'get', undefined, (m, ids) => m.history(ids.plan)],
    ['history itself', 'history', 'history', undefined, (m, ids) => m.history(ids.plan)],
    ['a commit', 'commit', 'commit', undefined, (m, ids) => m.updatePlan({ plan_id: ids.plan, title: 'Q' })],
    ['acquireLease', 'get:lease', 'get', undefined, (m, ids) => m.acquireLease(ids.instance, { owner: 'worker-a', ttl_ms: 1_000 })],
    ['renewLease', 'get:lease', 'get', undefined, (m, ids) => m.renewLease(leaseOf(ids.instance), { ttl_ms: 1_000 })],
    ['releaseLease', 'get:lease', 'get', undefined, (m, ids) => m.releaseLease(leaseOf(ids.instance))],
  ];
  /** A well-formed lease on the instance, as a holder would pass it back (never read: the read fails). */
  const leaseOf = (instanceId: string): Lease => ({
    id: instanceId,
    instance_id: instanceId,
    owner: 'worker-a',
    token: 1,
    ttl_ms: 1_000,
    expires_at: '2030-01-01T00:00:01.000Z',
    created_at: '2030-01-01T00:00:00.000Z',
    updated_at: '2030-01-01T00:00:00.000Z',
    version: 1,
  });

  it('a write to a leased instance whose lease cannot be read (the fence reads it after its check failed)', async () => {
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await runningInstance(setup);
    const plan = await setup.createPlan({ instance_id: instance.id, title: 'P', steps: [] });
    await setup.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const { adapter, fail } = faulty(store, fault);
    const before = await snapshotStore(store);
    fail('get:lease');
    const error = await expectRejection(managerOn(adapter).updatePlan({ plan_id: plan.id, title: 'Q' }), 'STORAGE_ERROR');
    expect(error.message).toMatch(/^Storage get failed: disk on fire\./);
    expect(error.cause).toBe(fault);
    expect(await snapshotStore(store)).toEqual(before);
  });

  it.each(cases)('%s', async (_, failing, operation, scope, call) => {
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await runningInstance(setup);
    const plan = await setup.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    const { adapter, fail } = faulty(store, fault);
    const manager = managerOn(adapter, scope ? { scope } : {});
    const before = await snapshotStore(store);
    fail(failing);
    const error = await expectRejection(call(manager, { instance: instance.id, plan: plan.id, step: plan.steps[0]!.id }), 'STORAGE_ERROR');
    expect(error.message).toMatch(new RegExp(`^Storage ${operation} failed: disk on fire\\.`));
    expect(error.cause).toBe(fault);
    expect(await snapshotStore(store)).toEqual(before);
  });
});

describe('CONFLICT after the retries (decisions.md, "Errors")', () => {
  it('reports the attempts and keeps the last conflict as its cause', async () => {
    // Survivor: commit.ts, `{ cause: error }`.
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await setup.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    let commits = 0;
    const contended: StorageAdapter = {
      ...store,
      async commit() {
        commits++;
        throw conflictError('instance', instance.id, 1, 2);
      },
    };
    const manager = managerOn(contended, { retries: 2 });
    const error = await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'CONFLICT');
    expect(commits).toBe(3);
    expect(error.details).toMatchObject({ kind: 'instance', id: instance.id, attempts: 3 });
    expect(InstancePlanError.is(error.cause, 'CONFLICT')).toBe(true);
    expect(error.message).toContain((error.cause as Error).message);
  });
});

describe('VALIDATION_ERROR names the fields that were refused (decisions.md, "Errors")', () => {
  // Survivors: the parseInput calls of each method, validate.ts's cut at five issues, and the
  // accepted keys shown only for unknown keys.
  const manager = managerOn();
  const cases: [method: string, call: () => Promise<unknown>, paths: string[]][] = [
    ['createInstance', () => manager.createInstance({} as never), ['agent_type_id']],
    ['getInstance', () => manager.getInstance(''), ['(input)']],
    ['listInstances', () => manager.listInstances({ limit: 0 }), ['limit']],
    ['transitionInstance (its id)', () => manager.transitionInstance('', { status: 'running' }), ['(input)']],
    ['transitionInstance (its status)', () => manager.transitionInstance('i', { status: 'flying' as never }), ['status']],
    ['recordTurn (its id)', () => manager.recordTurn('', { tokens: 1 }), ['(input)']],
    ['recordTurn (its tokens)', () => manager.recordTurn('i', { tokens: -1 }), ['tokens']],
    ['setCurrentStep (its id)', () => manager.setCurrentStep('', 'x'), ['(input)']],
    ['setCurrentStep (its text)', () => manager.setCurrentStep('i', ''), ['(input)']],
    ['createPlan', () => manager.createPlan({} as never), ['instance_id', 'title', 'steps']],
    ['getPlan', () => manager.getPlan(''), ['(input)']],
    ['listPlans', () => manager.listPlans({ offset: -1 }), ['offset']],
    ['updatePlan', () => manager.updatePlan({} as never), ['plan_id']],
    ['executeStep', () => manager.executeStep({} as never), ['plan_id', 'step_id', 'step_status']],
    ['history', () => manager.history(''), ['(input)']],
  ];
  it.each(cases)('%s', async (_, call, paths) => {
    const error = await expectRejection(call(), 'VALIDATION_ERROR');
    const issues = error.details.issues as { path: string; message: string }[];
    expect(issues.map((issue) => issue.path).sort()).toEqual([...paths].sort());
    for (const issue of issues) expect(error.message).toContain(`${issue.path} ${issue.message}`);
  });

  it('the message shows the first five issues and counts the rest; details keep them all', async () => {
    const seven = { instance_id: 1, title: 2, description: 3, plan_type: 4, status: 5, ordering: 6, steps: 7 };
    const error = await expectRejection(manager.createPlan(seven as never), 'VALIDATION_ERROR');
    const issues = error.details.issues as { path: string }[];
    expect(issues).toHaveLength(7);
    expect(error.message).toMatch(/; and 2 more$/);
    for (const issue of issues.slice(0, 5)) expect(error.message).toContain(`${issue.path} `);
    for (const issue of issues.slice(5)) expect(error.message).not.toContain(`${issue.path} `);
    const five = { instance_id: 1, title: 2, description: 3, plan_type: 4, steps: 7 };
    const fewer = await expectRejection(manager.createPlan(five as never), 'VALIDATION_ERROR');
    expect(fewer.details.issues).toHaveLength(5);
    expect(fewer.message).not.toMatch(/more$/);
  });

  it('names the accepted keys for unknown keys only', async () => {
    const wrongType = await expectRejection(manager.createPlan('not an object' as never), 'VALIDATION_ERROR');
    expect(wrongType.message).not.toContain('accepted');
    const unknownKey = await expectRejection(manager.createPlan({ instance_id: 'i', title: 't', steps: [], colour: 'red' } as never), 'VALIDATION_ERROR');
    expect(unknownKey.message).toMatch(/unknown key: "colour" \(accepted: instance_id, title,/);
  });

  it('outside an instance\'s context, create without instance_id says it may only be left out inside one', async () => {
    // Survivor: tool.ts instanceIdFor, `given === undefined`.
    const answer = await managerOn().handle({ action: 'create', title: 'P', steps: [] });
    expect(answer).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', issues: [{ path: 'instance_id', message: expect.stringMatching(/instance's context/) }] } });
  });
});

describe('the tool never throws (decisions.md, "The tool")', () => {
  it('an unexpected failure that is not an error of ours answers STORAGE_ERROR with the reason', async () => {
    // Survivors: tool.ts toolError, the branch for foreign errors.
    let broken = false;
    const manager = new PlanManager({
      ids: () => {
        if (broken) throw new RangeError('id generator exhausted');
        return crypto.randomUUID();
      },
    });
    const instance = await runningInstance(manager);
    broken = true;
    const answer = await manager.forInstance(instance.id).handle({ action: 'create', title: 'P', steps: [] });
    expect(answer).toEqual({ success: false, error: { code: 'STORAGE_ERROR', message: expect.stringContaining('id generator exhausted') } });
    broken = false;
    expect((await manager.listPlans({ instance_id: instance.id })).total).toBe(0);
  });
});

describe('next_step and message tell the agent what to do next (docs/tool.md, "What `message` says next")', () => {
  // Survivors: next-step.ts nextStep and guidance, every case.
  async function world() {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const tool = manager.forInstance(instance.id);
    const create = async (steps: { title: string; type: 'process' }[], ordering?: 'free') =>
      planOf(await tool.handle({ action: 'create', title: 'P', steps, ...(ordering ? { ordering } : {}) })).plan;
    return { manager, tool, create };
  }

  it('a cancelled plan has no next step, even with steps unfinished, and says to create a new plan', async () => {
    const { tool, create } = await world();
    const plan = await create([{ title: 'A', type: 'process' }]);
    const answer = planOf(await tool.handle({ action: 'update', plan_id: plan.id, status: 'cancelled' }));
    expect(answer.next_step).toBeNull();
    expect(answer.message).toBe('The plan is cancelled; create a new plan for new work.');
  });

  it('a completed plan says to add steps with "update" to continue', async () => {
    const { tool, create } = await world();
    const plan = await create([]);
    await tool.handle({ action: 'update', plan_id: plan.id, status: 'in_progress' });
    const answer = planOf(await tool.handle({ action: 'update', plan_id: plan.id, status: 'completed', summary: 'Nothing to do.' }));
    expect(answer.next_step).toBeNull();
    expect(answer.message).toBe('The plan is completed. To continue the same objective, add steps with action "update".');
  });

  it('a failed plan says how to reopen it', async () => {
    const { tool, create } = await world();
    const plan = await create([{ title: 'A', type: 'process' }]);
    await tool.handle({ action: 'update', plan_id: plan.id, status: 'in_progress' });
    const answer = planOf(await tool.handle({ action: 'update', plan_id: plan.id, status: 'failed', summary: 'Blocked.' }));
    expect(answer.next_step).toEqual(plan.steps[0]);
    expect(answer.message).toBe('The plan has failed. Add steps with action "update" to reopen it, or create a new plan.');
  });

  it('a paused plan says to resume it with status "in_progress" before executing steps', async () => {
    const { tool, create } = await world();
    const plan = await create([{ title: 'A', type: 'process' }]);
    const answer = planOf(await tool.handle({ action: 'update', plan_id: plan.id, status: 'paused' }));
    expect(answer.next_step).toEqual(plan.steps[0]);
    expect(answer.message).toBe('The plan is paused. Resume it with action "update" and status "in_progress" before executing steps.');
  });

  it('a plan without steps says to add them', async () => {
    const { create, tool } = await world();
    const plan = await create([]);
    const answer = planOf(await tool.handle({ action: 'update', plan_id: plan.id }));
    expect(answer.next_step).toBeNull();
    expect(answer.message).toBe('The plan has no steps yet. Add its steps with action "update" (field "steps"), then execute them in order.');
  });

  it('the next step: execute it when pending, finish it when in progress, retry it when failed; a summary when all are done', async () => {
    const { tool, create } = await world();
    const plan = await create([{ title: 'A', type: 'process' }, { title: 'B', type: 'process' }], 'free');
    const [a, b] = plan.steps;
    const execute = async (step: typeof a, status: string, output?: string) =>
      planOf(await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: step!.id, step_status: status, ...(output ? { step_output: output } : {}) }));

    expect(planOf(await tool.handle({ action: 'update', plan_id: plan.id })).message).toBe(`Execute step "${a!.id}" ("A", process) with action "execute_step".`);
    expect((await execute(a, 'in_progress')).message).toBe(`Finish step "${a!.id}" ("A", process) with action "execute_step".`);
    const failed = await execute(a, 'failed', 'timed out');
    expect(failed.next_step?.id).toBe(a!.id);
    expect(failed.message).toBe(`Step "${a!.id}" ("A") failed. Retry it with action "execute_step", or mark the plan "failed" with a summary.`);
    await execute(a, 'completed', 'ok');
    const last = await execute(b, 'completed', 'ok');
    expect(last.next_step).toBeNull();
    expect(last.message).toBe('Every step is completed. Finish the plan now: action "update" with status "completed" and a non-empty summary.');
  });
});
