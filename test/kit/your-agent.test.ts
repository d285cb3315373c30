import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanManager, type ToolResult } from 'instance-plan';
import { checkInvariants, planInputArbitrary } from 'instance-plan/testing';

// Your agent's loop, reduced to what matters here: it follows the tool's `next_step` until the
// plan is done, then finishes with a summary. (A real agent asks its model what to do.)
async function runAgent(tool: { handle(input: unknown): Promise<ToolResult> }, planId: string): Promise<ToolResult> {
  let answer = await tool.handle({ action: 'list', limit: 1 });
  for (let turn = 0; turn < 100; turn++) {
    answer = await tool.handle({ action: 'update', plan_id: planId });
    if (!answer.success || !('plan' in answer)) return answer;
    const step = answer.next_step;
    if (step === null) return tool.handle({ action: 'update', plan_id: planId, status: 'completed', summary: 'All done.' });
    await tool.handle({ action: 'execute_step', plan_id: planId, step_id: step.id, step_status: 'completed', step_output: `did ${step.title}` });
  }
  return answer;
}

describe('the agent finishes any plan it is given', () => {
  it('completes every generated plan with a summary, keeping every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(planInputArbitrary('instance-under-test').filter((plan) => plan.steps.length > 0), async (planInput) => {
        const manager = new PlanManager({ ids: idCounter() });
        const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'agent' });
        await manager.transitionInstance(instance.id, { status: 'running' });
        const plan = await manager.createPlan({ ...planInput, instance_id: instance.id });

        const final = await runAgent(manager.forInstance(instance.id), plan.id);

        expect(final).toMatchObject({ success: true, plan: { status: 'completed', summary: 'All done.' } });
        expect(await checkInvariants(manager)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});

function idCounter() {
  let next = 0;
  return () => `id-${++next}`;
}
