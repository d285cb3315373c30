// The refusals a caller reads to correct a call: NOT_FOUND names the kind of record and where to
// look; a refused instance action names the instance, the action, its status and every status
// that takes it; a turn may not overflow tokens_total.
import { describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager } from '../src';
import { instanceLogic } from '../src/machines';
import { expectRejection } from './support/core-fixtures';
import { managerOn, runningInstance } from './support/manager-doubles';


describe('NOT_FOUND names the kind of record and where to look', () => {
  it('history of an id that is neither an instance nor a plan is NOT_FOUND of kind "record", on an unscoped manager too', async () => {
    const manager = managerOn();
    const error = await expectRejection(manager.history('nothing-here'), 'NOT_FOUND');
    expect(error.details).toEqual({ kind: 'record', id: 'nothing-here' });
    expect(error.message).toMatch(/instance or a plan/);
  });

  it('creating a plan for an instance outside an organization scope, or unknown there, is NOT_FOUND of kind "instance"', async () => {
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


describe('instances: refusals carry what a caller needs to correct the call', () => {
  it('createInstance without organization_id (no scope) names the field', async () => {
    const error = await expectRejection(managerOn().createInstance({ agent_type_id: 'researcher' }), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([{ path: 'organization_id', message: expect.stringMatching(/required/) }]);
  });

  it('a turn may bring tokens_total up to the largest exact integer, not past it', async () => {
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
    const manager = managerOn();
    const instance = await runningInstance(manager);
    await manager.transitionInstance(instance.id, { status: 'stopped' });
    const turn = await expectRejection(manager.recordTurn(instance.id, { tokens: 1 }), 'INVALID_TRANSITION');
    // test/transitions.test.ts checks the turn's allowed_in on every status; here: the action, the id, and the message
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


describe('an instance action its status does not take', () => {
  it('names the instance, the action, its status and every status that takes it, quoted and comma-separated', async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.transitionInstance(instance.id, { status: 'completed' });
    const error = await manager.recordTurn(instance.id, { tokens: 1 }).then(
      () => expect.fail('expected a refusal'),
      (caught: unknown) => caught as InstancePlanError,
    );
    const takesTurns = instanceLogic.states.filter((state) => instanceLogic.resolve(state, { type: 'recordTurn' }));
    expect(takesTurns.length).toBeGreaterThan(1);
    expect(error.message).toContain(`on instance ${JSON.stringify(instance.id)} while it is "completed"; allowed while: ${takesTurns.map((s) => `"${s}"`).join(', ')}`);
  });
});
