// The history of a record: every change is an event, numbered by `seq`, and replaying the events
// (in any order they are given) rebuilds the stored record.
import { describe, expect, it } from 'vitest';
import { replay } from '../src';
import { managerOn, runningInstance } from './support/manager-doubles';


describe('history and replay: the events rebuild the record', () => {
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
