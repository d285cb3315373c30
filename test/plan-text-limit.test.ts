// maxPlanTextLength bounds the text of one plan in all (titles, descriptions, outputs, summary,
// details), however its steps are filled: a change that would take a plan past it is refused,
// naming the field and the limit, and changes nothing; a change that adds no text passes. The
// running total is kept incrementally; the internal test at the end checks it against a count
// from scratch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type Plan } from '../src';
import { planText } from '../src/manager/plan-text';
import { expectRejection } from './support/core-fixtures';

async function world(maxPlanTextLength: number) {
  const adapter = memoryAdapter();
  const manager = new PlanManager({ adapter, limits: { maxPlanTextLength } });
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'a' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  return { adapter, manager, instance };
}

const issue = (error: { details: Record<string, unknown> }) => (error.details.issues as { path: string; message: string }[])[0]!;

describe('maxPlanTextLength', () => {
  it('refuses an output that would take the plan past it, naming step_output and the limit, and changes nothing', async () => {
    const { manager, instance } = await world(1_000);
    // Own text: title 4 + steps 2 × (title 3 + details {} 2) = 14.
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Plan', ordering: 'free', steps: [{ title: 'One', type: 'process' }, { title: 'Two', type: 'process' }] });
    const done = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'x'.repeat(986) });
    expect(done.steps[0]!.output).toHaveLength(986); // exactly 1,000 in all
    const error = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'completed', step_output: 'y' }), 'VALIDATION_ERROR');
    expect(issue(error)).toEqual({
      path: 'step_output',
      message: 'would give the plan 1001 characters of text in all; at most 1000 are allowed (the maxPlanTextLength limit): keep outputs and descriptions shorter, or start another plan',
    });
    expect(await manager.getPlan(plan.id)).toEqual(done);
  });

  it('refuses appended steps, a longer description, and a new plan past it; a change that adds no text passes', async () => {
    const { manager, instance } = await world(200);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', ordering: 'free', steps: [{ title: 'S', type: 'process', description: 'd'.repeat(150) }] });
    expect(issue(await expectRejection(manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'T', type: 'review', description: 'e'.repeat(50) }] }), 'VALIDATION_ERROR')).path).toBe('steps');
    expect(issue(await expectRejection(manager.updatePlan({ plan_id: plan.id, description: 'f'.repeat(50) }), 'VALIDATION_ERROR')).path).toBe('description');
    expect(issue(await expectRejection(manager.createPlan({ instance_id: instance.id, title: 'Q', steps: [{ title: 'S', type: 'process', description: 'g'.repeat(199) }] }), 'VALIDATION_ERROR')).path).toBe('steps');
    // Status changes and a shorter output add nothing, or take text away: they pass.
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    const failed = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'failed', step_output: 'h'.repeat(40) });
    expect(failed.steps[0]!.output).toHaveLength(40);
  });

  it('a plan over a limit lowered since can still shrink and finish', async () => {
    const { adapter, manager, instance } = await world(10_000);
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'S', type: 'process' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'failed', step_output: 'z'.repeat(5_000) });
    const strict = new PlanManager({ adapter, limits: { maxPlanTextLength: 100 } });
    await strict.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    const done = await strict.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'short' });
    expect(done.steps[0]!.output).toBe('short');
    // Growing it past the lowered limit is still refused.
    expect(issue(await expectRejection(strict.updatePlan({ plan_id: plan.id, title: 't'.repeat(120) }), 'VALIDATION_ERROR')).path).toBe('title');
  });

  it('the running total equals a count from scratch after any sequence of changes (internal)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('append' as const), description: fc.string({ maxLength: 30 }), details: fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }) }),
            fc.record({ kind: fc.constant('report' as const), pick: fc.nat(), output: fc.string({ maxLength: 40 }) }),
            fc.record({ kind: fc.constant('rename' as const), title: fc.string({ minLength: 1, maxLength: 20 }) }),
          ),
          { maxLength: 12 },
        ),
        async (changes) => {
          const { manager, instance } = await world(1_000_000);
          let plan: Plan = await manager.createPlan({ instance_id: instance.id, title: 'P', ordering: 'free', steps: [{ title: 'S', type: 'process' }] });
          for (const change of changes) {
            if (change.kind === 'append') plan = await manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'N', type: 'process', description: change.description, details: change.details as never }] });
            else if (change.kind === 'rename' && change.title.trim() !== '') plan = await manager.updatePlan({ plan_id: plan.id, title: change.title });
            else if (change.kind === 'report') {
              const step = plan.steps[change.pick % plan.steps.length]!;
              const to = step.status === 'failed' ? 'in_progress' : step.status === 'in_progress' ? 'failed' : step.status === 'pending' ? 'failed' : undefined;
              if (to) plan = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: to, ...(to === 'failed' && { step_output: change.output }) });
            }
            expect(planText(plan)).toBe(planText(structuredClone(plan)));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
