// A step report that repeats the step's status: the same report again is a safe retry (success,
// nothing written); the same status with another output is another report, refused with
// CONFLICT naming what is stored, so no acknowledged report has its output dropped.
import { describe, expect, it } from 'vitest';
import { InstancePlanError, PlanManager } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import 'fake-indexeddb/auto';
import { freshName } from './support/idb-harness';

async function failedStep(manager: PlanManager) {
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'Reports', steps: [{ title: 'Search', type: 'tool_call' }] });
  const step = plan.steps[0]!;
  await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
  const failed = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: 'timed out' });
  return { plan: failed, step };
}

describe.each([
  ['memory', () => new PlanManager()],
  ['IndexedDB', () => new PlanManager({ adapter: indexedDBAdapter({ name: freshName('reports') }) })],
])('repeated step reports (%s)', (_, make) => {
  it('the same report again succeeds and writes nothing', async () => {
    const manager = make();
    const { plan, step } = await failedStep(manager);
    const again = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: 'timed out' });
    expect(again.version).toBe(plan.version);
    // Without an output it carries nothing new either.
    await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
    await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
    expect((await manager.history(plan.id)).length).toBe(plan.version + 1);
  });

  it('the same status with another output is refused with CONFLICT naming what is stored, and changes nothing', async () => {
    const manager = make();
    const { plan, step } = await failedStep(manager);
    const error = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: 'quota exceeded' }).catch((e: unknown) => e);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    const refusal = error as InstancePlanError;
    expect(refusal.message).toContain('is already "failed" with output "timed out"');
    expect(refusal.message).toContain('with output "quota exceeded"');
    expect(refusal.details).toEqual({ kind: 'step', plan_id: plan.id, step_id: step.id, status: 'failed', stored_output: 'timed out', given_output: 'quota exceeded' });
    // Not a race to retry: answered at once, not after the manager's retries.
    expect(refusal.details.attempts).toBeUndefined();
    expect(await manager.getPlan(plan.id)).toEqual(plan);
    expect(await manager.history(plan.id)).toHaveLength(plan.version);
  });

  it('the refusal shows each output up to 200 characters, cuts a longer one, and says when there is none', async () => {
    const manager = make();
    const { plan, step } = await failedStep(manager);
    const exact = 'e'.repeat(200);
    const long = `${'l'.repeat(200)}tail`;
    const refusal = (await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: long }).catch((e: unknown) => e)) as InstancePlanError;
    expect(refusal.message).toContain(`this report says "failed" with output "${'l'.repeat(200)}…"`);
    expect(refusal.message).not.toContain('tail');
    const whole = (await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: exact }).catch((e: unknown) => e)) as InstancePlanError;
    expect(whole.message).toContain(`with output "${exact}". Nothing was changed`);
    // A step in progress has no output yet: reporting it in progress with one is another report.
    const started = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
    const fresh = started.steps.find((s) => s.id === step.id)!;
    expect(fresh.output).toBe('timed out'); // in_progress keeps the last output
    const other = await manager.createPlan({ instance_id: plan.instance_id, title: 'Q', steps: [{ title: 'Q1', type: 'process' }] });
    await manager.executeStep({ plan_id: other.id, step_id: other.steps[0]!.id, step_status: 'in_progress' });
    const none = (await manager.executeStep({ plan_id: other.id, step_id: other.steps[0]!.id, step_status: 'in_progress', step_output: 'x' }).catch((e: unknown) => e)) as InstancePlanError;
    expect(none.message).toContain('is already "in_progress" with output no output; this report says "in_progress" with output "x"');
  });

  it('the tool answers the refusal to the model, with the stored output to read', async () => {
    const manager = make();
    const { plan, step } = await failedStep(manager);
    const answer = await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: 'another reason' });
    expect(answer.success).toBe(false);
    if (!answer.success) {
      expect(answer.error.code).toBe('CONFLICT');
      expect(answer.error.stored_output).toBe('timed out');
    }
  });
});
