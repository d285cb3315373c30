// What the Instance Plan tool (manager.handle) answers: never a throw, always { success, ... };
// `next_step` and `message` tell the agent what to do next in every plan status; and a create
// outside an instance's context must name its instance.
import { describe, expect, it } from 'vitest';
import { PlanManager } from '../src';
import { managerOn, planOf, runningInstance } from './support/manager-doubles';

describe('the Instance Plan tool asks for what it cannot infer', () => {
  it('outside an instance\'s context, create without instance_id says it may only be left out inside one', async () => {
    const answer = await managerOn().handle({ action: 'create', title: 'P', steps: [] });
    expect(answer).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', issues: [{ path: 'instance_id', message: expect.stringMatching(/instance's context/) }] } });
  });
});


describe('the Instance Plan tool never throws', () => {
  it('an unexpected failure that is not an error of ours answers STORAGE_ERROR with the reason', async () => {
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
    expect(answer).toEqual({
      success: false,
      error: { code: 'STORAGE_ERROR', message: 'The store could not do this (reason: failed); nothing was changed. Try again later.', reason: 'failed', may_have_landed: false },
    });
    broken = false;
    expect((await manager.listPlans({ instance_id: instance.id })).total).toBe(0);
  });
});


describe('next_step and message tell the agent what to do next (docs/tool.md, "What `message` says next")', () => {
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

describe('a failure that is none of the library\'s still gets an answer', () => {
  it('an id generator that throws is answered as a storage fault, the reason reaching onError, and nothing is stored', async () => {
    let fail: unknown = new Error('no ids left');
    const heard: string[] = [];
    const manager = new PlanManager({
      ids: () => {
        throw fail;
      },
      onError: (error, context) => heard.push(`${context.action}: ${error.message}`),
    });
    const answer = {
      success: false,
      error: { code: 'STORAGE_ERROR', message: 'The store could not do this (reason: failed); nothing was changed. Try again later.', reason: 'failed', may_have_landed: false },
    };
    expect(await manager.handle({ action: 'create', instance_id: 'i-1', title: 'P', steps: [] })).toEqual(answer);
    fail = 'a thrown string';
    expect(await manager.handle({ action: 'create', instance_id: 'i-1', title: 'P', steps: [] })).toEqual(answer);
    expect(heard).toEqual([
      'create: Unexpected failure: no ids left. Nothing was changed; try again.',
      'create: Unexpected failure: a thrown string. Nothing was changed; try again.',
    ]);
    expect(await manager.handle({ action: 'list', instance_id: 'i-1' })).toEqual({ success: true, plans: [], total: 0 });
  });
});
