// The options a PlanManager is built with (retries, limits) are checked at construction, and the
// records it hands back are immutable: deeply frozen, so changing one throws and changes nothing.
import { describe, expect, it } from 'vitest';
import { PlanManager } from '../src';
import { managerOn, runningInstance } from './support/manager-doubles';


describe('PlanManager options and returned records', () => {
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses retries: %s (a non-negative integer is required)', (retries) => {
    expect(() => new PlanManager({ retries })).toThrow(TypeError);
    expect(() => new PlanManager({ retries })).toThrow(/retries must be a non-negative integer/);
  });

  it('accepts retries: 0 (report the first conflict)', () => {
    expect(() => new PlanManager({ retries: 0 })).not.toThrow();
  });

  it('records returned after a change are deeply frozen: changing one throws a TypeError and changes nothing stored', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({
      instance_id: instance.id,
      title: 'P',
      steps: [{ title: 'A', type: 'process', details: { tool: 'search', arguments: { query: 'q' } } }],
    });
    const updated = await manager.updatePlan({ plan_id: plan.id, title: 'Q' });
    const executed = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    const events = await manager.history(plan.id);
    for (const record of [instance, plan, updated, executed, executed.steps, executed.steps[0]!, executed.steps[0]!.details, events, events[2]!, events[2]!.changes]) {
      expect(Object.isFrozen(record)).toBe(true);
    }
    const stored = await manager.getPlan(plan.id);
    expect(() => {
      executed.title = 'changed by the caller';
    }).toThrow(TypeError);
    expect(() => {
      executed.steps[0]!.status = 'completed';
    }).toThrow(TypeError);
    expect(() => {
      (executed.steps[0]!.details.arguments as { query: string }).query = 'changed';
    }).toThrow(TypeError);
    expect(() => executed.steps.push(executed.steps[0]!)).toThrow(TypeError);
    expect(() => {
      instance.status = 'stopped';
    }).toThrow(TypeError);
    expect(await manager.getPlan(plan.id)).toEqual(stored);
    expect((await manager.getInstance(instance.id)).status).toBe('running');
  });

  it('a change shares every unchanged part with the version before it (no copy of the plan)', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', ordering: 'free', steps: [{ title: 'A', type: 'process' }, { title: 'B', type: 'tool_call', details: { tool: 't' } }] });
    const executed = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(executed).not.toBe(plan);
    expect(executed.steps[0]).not.toBe(plan.steps[0]);
    expect(executed.steps[1]).toBe(plan.steps[1]);
    expect(executed.steps[1]!.details).toBe(plan.steps[1]!.details);
    expect(await manager.getPlan(plan.id)).toBe(executed);
  });
});


describe('PlanManager limits', () => {
  it('each limit must be a positive integer: 1 is the least, and a refusal names the limit and the value', () => {
    expect(() => new PlanManager({ limits: { maxSteps: 1, maxIdLength: 1 } })).not.toThrow();
    for (const bad of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => new PlanManager({ limits: { maxSteps: bad } })).toThrow(new TypeError(`limits.maxSteps must be a positive integer, got ${String(bad)}`));
    }
    expect(() => new PlanManager({ limits: { maxTitleLength: '10' as never } })).toThrow('limits.maxTitleLength must be a positive integer, got 10');
  });
});
