// Updating a plan (updatePlan, the Instance Plan tool's "update"): the fields it changes, the status
// moves it allows, reopening a finished plan by appending steps, and the refusals that say why an
// update was not applied. Site and organization scopes fill and require the fields they name.
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../src';
import { planLogic } from '../src/machines';
import { expectRejection } from './support/core-fixtures';
import { managerOn, runningInstance } from './support/manager-doubles';


describe('updating plans', () => {
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
    const { manager, plan } = await planIn('in_progress');
    const updated = await manager.updatePlan({ plan_id: plan.id, description: 'Now with a description' });
    expect(updated).toMatchObject({ description: 'Now with a description', version: plan.version + 1 });
    expect((await manager.updatePlan({ plan_id: plan.id, description: null })).description).toBeNull();
  });

  it('appending steps to a completed plan while asking for in_progress (the status it reopens to) is one change', async () => {
    const { manager, plan } = await planIn('completed');
    const reopened = await manager.updatePlan({ plan_id: plan.id, status: 'in_progress', steps: [{ title: 'B', type: 'review' }] });
    expect(reopened).toMatchObject({ status: 'in_progress', summary: null, version: plan.version + 1 });
    expect(reopened.steps.map((step) => step.title)).toEqual(['A', 'B']);
    expect((await manager.history(plan.id)).at(-1)).toMatchObject({ from: 'completed', to: 'in_progress' });
  });

  it('appending steps to a completed plan and asking for another status is INVALID_TRANSITION saying why', async () => {
    const { manager, plan } = await planIn('completed');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, status: 'paused', steps: [{ title: 'B', type: 'review' }] }), 'INVALID_TRANSITION');
    expect(error.details).toMatchObject({ kind: 'plan', id: plan.id, from: 'completed', to: 'paused', allowed: [...planLogic.targets('completed')] });
    expect(error.details.reason).toEqual(expect.stringContaining('separate update'));
    expect(error.message).toContain(error.details.reason as string);
    expect(await manager.getPlan(plan.id)).toEqual(plan);
  });

  it('a plan move the table does not allow is INVALID_TRANSITION of kind "plan"', async () => {
    const { manager, plan } = await planIn('in_progress');
    const error = await expectRejection(manager.updatePlan({ plan_id: plan.id, status: 'pending' }), 'INVALID_TRANSITION');
    expect(error.details).toMatchObject({ kind: 'plan', id: plan.id, from: 'in_progress', to: 'pending' });
  });

  it('completing with a step unfinished names the blocking step in the message too', async () => {
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
    const manager = managerOn(memoryAdapter(), { limits: { maxSteps: 3 } });
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }, { title: 'B', type: 'process' }] });
    const error = await expectRejection(
      manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'C', type: 'process' }, { title: 'D', type: 'process' }] }),
      'VALIDATION_ERROR',
    );
    expect(error.details.issues).toEqual([{ path: 'steps', message: expect.stringMatching(/4 steps.*at most 3/) }]);
  });

  it('a site-scoped manager fills site_id from the scope when it is given as null (null counts as left out)', async () => {
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
