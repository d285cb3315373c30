// The options a PlanManager is built with (retries, limits) are checked at construction, and the
// records it hands back are the caller's own: plain, mutable, and detached from the store.
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


describe('PlanManager limits', () => {
  it('each limit must be a positive integer: 1 is the least, and a refusal names the limit and the value', () => {
    expect(() => new PlanManager({ limits: { maxSteps: 1, maxIdLength: 1 } })).not.toThrow();
    for (const bad of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => new PlanManager({ limits: { maxSteps: bad } })).toThrow(new TypeError(`limits.maxSteps must be a positive integer, got ${String(bad)}`));
    }
    expect(() => new PlanManager({ limits: { maxTitleLength: '10' as never } })).toThrow('limits.maxTitleLength must be a positive integer, got 10');
  });
});
