import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanManager } from 'instance-plan';
import { instanceLogic } from 'instance-plan/machines';
import { invalidToolCallArbitrary, machineWalkArbitrary } from 'instance-plan/testing';

// Your integration: whatever sits between a model and the manager (here, a JSON round trip,
// as over HTTP or a tool-calling API). It must pass refusals through, never throw.
async function callTool(manager: PlanManager, instanceId: string, body: string): Promise<unknown> {
  return JSON.parse(JSON.stringify(await manager.forInstance(instanceId).handle(JSON.parse(body))));
}

describe('the integration', () => {
  it('answers every invalid call with the error code it must carry, and changes nothing', async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'agent' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'p', steps: [{ title: 's', type: 'process' }] });
    const existing = { instance_id: instance.id, plan_id: plan.id, step_id: plan.steps[0]!.id };
    const before = JSON.stringify(await manager.history(plan.id));

    await fc.assert(
      fc.asyncProperty(invalidToolCallArbitrary(existing, manager.limits), async ({ input, code }) => {
        const answer = await callTool(manager, instance.id, JSON.stringify(input));
        expect(answer).toMatchObject({ success: false, error: { code } });
      }),
      { numRuns: 300 },
    );
    expect(JSON.stringify(await manager.history(plan.id))).toBe(before);
  });

  it('follows any legal walk of the instance lifecycle', async () => {
    await fc.assert(
      fc.asyncProperty(machineWalkArbitrary(instanceLogic), async (walk) => {
        const manager = new PlanManager();
        const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'agent' });
        for (const status of walk) {
          expect((await manager.transitionInstance(instance.id, { status })).status).toBe(status);
        }
      }),
      { numRuns: 200 },
    );
  });
});
