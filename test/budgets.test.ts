// Budgets: an instance's max_turns and max_tokens. A turn is always recorded; the turn that reaches
// a budget pauses the instance in the same commit, and its steps are refused until the budget is
// raised and the instance resumed. Exact records and refusals here; random sequences in the model.
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, replay } from 'instance-plan';
import { expectRejection, snapshotStore, testManager } from './support/core-fixtures';

async function budgeted(budget: { max_turns?: number | null; max_tokens?: number | null }) {
  const world = testManager();
  const { manager } = world;
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'looper', ...budget });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'Loop', ordering: 'free', steps: [{ title: 'Again', type: 'process' }, { title: 'More', type: 'process' }] });
  return { ...world, instance, plan };
}

describe('budgets', () => {
  it('createInstance stores max_turns and max_tokens (absent or null: no limit); anything but a whole number of at least 1 is refused', async () => {
    const { manager } = testManager();
    expect(await manager.createInstance({ organization_id: 'o', agent_type_id: 'a', max_turns: 3, max_tokens: 50_000 })).toMatchObject({ max_turns: 3, max_tokens: 50_000 });
    expect(await manager.createInstance({ organization_id: 'o', agent_type_id: 'a', max_turns: null })).toMatchObject({ max_turns: null, max_tokens: null });
    for (const max_turns of [0, -1, 1.5, '3', Number.MAX_SAFE_INTEGER + 1]) {
      const error = await expectRejection(manager.createInstance({ organization_id: 'o', agent_type_id: 'a', max_turns } as never), 'VALIDATION_ERROR');
      expect(error.details.issues).toEqual([expect.objectContaining({ path: 'max_turns' })]);
    }
    await expectRejection(manager.setBudget('nobody', { max_turns: 2 }), 'NOT_FOUND');
    await expectRejection(manager.setBudget((await manager.listInstances()).instances[0]!.id, { max_steps: 2 } as never), 'VALIDATION_ERROR');
  });

  it('the turn that reaches max_turns is recorded and pauses the instance in the same commit (status_reason budget_exhausted)', async () => {
    const { manager, adapter, instance } = await budgeted({ max_turns: 2 });
    expect(await manager.recordTurn(instance.id, { tokens: 100 })).toMatchObject({ status: 'running', turn_count: 1 });
    const commits = adapter.counts.commits;
    const spent = await manager.recordTurn(instance.id, { tokens: 100 });
    expect(adapter.counts.commits).toBe(commits + 1);
    expect(spent).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', turn_count: 2, tokens_total: 200, needs_input: false, version: 4 });
    expect((await manager.history(instance.id)).at(-1)).toMatchObject({ type: 'instance.turn_recorded', from: 'running', to: 'paused', seq: 4 });
    expect(replay(await manager.history(instance.id))).toEqual(spent);
    // A paused instance takes no turns: the lifecycle's own rule.
    await expectRejection(manager.recordTurn(instance.id, { tokens: 1 }), 'INVALID_TRANSITION');
  });

  it('tokens past max_tokens are counted whole, and pause the instance; so does a waiting instance\'s turn', async () => {
    const { manager, instance, plan } = await budgeted({ max_tokens: 1_000 });
    const over = await manager.recordTurn(instance.id, { tokens: 5_000 });
    expect(over).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', tokens_total: 5_000 });
    await manager.setBudget(instance.id, { max_tokens: 6_000 });
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'Go on?', type: 'user_input' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: (await manager.getPlan(plan.id)).steps[2]!.id, step_status: 'in_progress' });
    expect(await manager.recordTurn(instance.id, { tokens: 1_000 })).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', needs_input: false, tokens_total: 6_000 });
  });

  it('a step of an instance over budget is BUDGET_EXCEEDED, naming the counter, what was used and the limit; nothing changes', async () => {
    const { manager, adapter, instance, plan } = await budgeted({ max_turns: 1 });
    await manager.recordTurn(instance.id, { tokens: 10 });
    const before = await snapshotStore(adapter);
    const error = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'BUDGET_EXCEEDED');
    expect(error.details).toEqual({ instance_id: instance.id, status: 'paused', status_reason: 'budget_exhausted', counter: 'turns', field: 'max_turns', used: 1, limit: 1 });
    expect(error.message).toBe(
      `Cannot execute step "${plan.steps[0]!.id}" ("Again"): instance "${instance.id}" has used 1 of its 1 turns (max_turns). ` +
        'Stop here: the budget must be raised (setBudget, max_turns above 1) and the instance resumed (transition to "running") before it does more.',
    );
    const answer = await manager.forInstance(instance.id).handle({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(answer).toEqual({ success: false, error: { code: 'BUDGET_EXCEEDED', message: error.message, ...error.details } });
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('resuming is refused until the budget is raised; raising alone does not restart the instance or its steps', async () => {
    const { manager, instance, plan } = await budgeted({ max_turns: 1 });
    await manager.recordTurn(instance.id, { tokens: 10 });
    const resume = await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'BUDGET_EXCEEDED');
    expect(resume.details).toMatchObject({ counter: 'turns', used: 1, limit: 1 });
    await expectRejection(manager.transitionInstance(instance.id, { status: 'waiting' }), 'BUDGET_EXCEEDED');
    const raised = await manager.setBudget(instance.id, { max_turns: 3 });
    expect(raised).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', max_turns: 3 });
    const held = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'BUDGET_EXCEEDED');
    expect(held.details).toEqual({ instance_id: instance.id, status: 'paused', status_reason: 'budget_exhausted', counter: null, field: null, used: null, limit: null });
    expect(held.message).toBe(`Cannot execute step "${plan.steps[0]!.id}" ("Again"): instance "${instance.id}" is paused because its budget was exhausted. Resume the instance (transition to "running") first.`);
    expect(await manager.transitionInstance(instance.id, { status: 'running' })).toMatchObject({ status: 'running', status_reason: null });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
  });

  it('setBudget: a limit at or below what was used pauses a running instance now; null lifts it; the same budget again changes nothing; terminal instances take none', async () => {
    const { manager, instance } = await budgeted({});
    await manager.recordTurn(instance.id, { tokens: 300 });
    await manager.recordTurn(instance.id, { tokens: 300 });
    const lowered = await manager.setBudget(instance.id, { max_tokens: 600 });
    expect(lowered).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', max_tokens: 600, max_turns: null });
    expect((await manager.history(instance.id)).at(-1)).toMatchObject({ type: 'instance.budget_set', from: 'running', to: 'paused' });
    const again = await manager.setBudget(instance.id, { max_tokens: 600 });
    expect(again).toBe(lowered);
    const lifted = await manager.setBudget(instance.id, { max_tokens: null, max_turns: 10 });
    expect(lifted).toMatchObject({ max_tokens: null, max_turns: 10, version: lowered.version + 1 });
    await manager.transitionInstance(instance.id, { status: 'stopped' });
    const closed = await expectRejection(manager.setBudget(instance.id, { max_turns: 20 }), 'INVALID_TRANSITION');
    expect(closed.details).toMatchObject({ action: 'set a budget', allowed_in: ['starting', 'running', 'waiting', 'paused'] });
  });

  it('budgets are stored: a new manager over the same store (a restart, another worker) holds to them', async () => {
    const adapter = memoryAdapter();
    const first = new PlanManager({ adapter });
    const instance = await first.createInstance({ organization_id: 'org-1', agent_type_id: 'looper', max_turns: 1 });
    await first.transitionInstance(instance.id, { status: 'running' });
    const plan = await first.createPlan({ instance_id: instance.id, title: 'Loop', steps: [{ title: 'Again', type: 'process' }] });
    await first.recordTurn(instance.id, { tokens: 1 });
    const restarted = new PlanManager({ adapter });
    await expectRejection(restarted.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'BUDGET_EXCEEDED');
    expect(await restarted.getInstance(instance.id)).toMatchObject({ max_turns: 1, turn_count: 1, status: 'paused' });
  });

  it('the tokens budget is named in its refusals: counter tokens, field max_tokens, what was used and the limit; a resume refused names the move', async () => {
    const { manager, adapter, instance, plan } = await budgeted({ max_tokens: 1_000 });
    await manager.recordTurn(instance.id, { tokens: 5_000 });
    const before = await snapshotStore(adapter);
    const step = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'BUDGET_EXCEEDED');
    expect(step.details).toEqual({ instance_id: instance.id, status: 'paused', status_reason: 'budget_exhausted', counter: 'tokens', field: 'max_tokens', used: 5_000, limit: 1_000 });
    const resume = await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'BUDGET_EXCEEDED');
    expect(resume.message).toBe(
      `Cannot move the instance to "running": instance "${instance.id}" has used 5000 of its 1000 tokens (max_tokens). ` +
        'Stop here: the budget must be raised (setBudget, max_tokens above 5000) and the instance resumed (transition to "running") before it does more.',
    );
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('an instance over its budget may still leave for a state that spends nothing: stopped, error', async () => {
    for (const end of ['stopped', 'error'] as const) {
      const { manager, instance } = await budgeted({ max_turns: 1 });
      await manager.recordTurn(instance.id, { tokens: 1 });
      expect(await manager.transitionInstance(instance.id, { status: end })).toMatchObject({ status: end, turn_count: 1, max_turns: 1 });
    }
  });

  it('the same budget again (one field or both) returns the stored record: no commit, no event, no new version', async () => {
    const { manager, adapter, instance } = await budgeted({ max_turns: 10, max_tokens: 500 });
    const stored = await manager.getInstance(instance.id);
    const commits = adapter.counts.commits;
    const events = (await manager.history(instance.id)).length;
    for (const budget of [{ max_turns: 10 }, { max_tokens: 500 }, { max_turns: 10, max_tokens: 500 }, {}]) {
      expect(await manager.setBudget(instance.id, budget)).toEqual(stored);
    }
    expect(adapter.counts.commits).toBe(commits);
    expect(await manager.history(instance.id)).toHaveLength(events);
    // One field changed is a change: one version, one instance.budget_set event.
    expect(await manager.setBudget(instance.id, { max_turns: 10, max_tokens: 600 })).toMatchObject({ max_turns: 10, max_tokens: 600, version: stored.version + 1 });
    expect((await manager.history(instance.id)).at(-1)).toMatchObject({ type: 'instance.budget_set', from: 'running', to: 'running' });
  });

  it('a budget at or below what was used pauses only what spends it: a paused instance keeps its status and reason, a starting one its status', async () => {
    const { manager, instance } = await budgeted({});
    await manager.recordTurn(instance.id, { tokens: 40 });
    await manager.transitionInstance(instance.id, { status: 'paused' });
    expect(await manager.setBudget(instance.id, { max_turns: 1, max_tokens: 40 })).toMatchObject({ status: 'paused', status_reason: null, max_turns: 1, max_tokens: 40 });
    const { manager: other } = testManager();
    const starting = await other.createInstance({ organization_id: 'org-1', agent_type_id: 'looper' });
    expect(await other.setBudget(starting.id, { max_turns: 1 })).toMatchObject({ status: 'starting', status_reason: null, max_turns: 1 });
  });

  it('setBudget refusals name what was wrong: the instance id, the input, and the states that take a budget', async () => {
    const { manager, instance } = await budgeted({});
    const id = await expectRejection(manager.setBudget('', { max_turns: 2 }), 'VALIDATION_ERROR');
    expect(id.message).toMatch(/^Invalid instance id/);
    const input = await expectRejection(manager.setBudget(instance.id, { max_turns: 0 }), 'VALIDATION_ERROR');
    expect(input.message).toMatch(/^Invalid setBudget input/);
    await manager.transitionInstance(instance.id, { status: 'stopped' });
    const closed = await expectRejection(manager.setBudget(instance.id, { max_turns: 20 }), 'INVALID_TRANSITION');
    expect(closed.details).toEqual({ kind: 'instance', id: instance.id, from: 'stopped', to: 'stopped', action: 'set a budget', allowed: [], allowed_in: ['starting', 'running', 'waiting', 'paused'] });
    expect(closed.message).toBe(`Cannot set a budget on instance "${instance.id}" while it is "stopped"; allowed while: "starting", "running", "waiting", "paused".`);
  });
});

