import type { Draft } from 'immer';
import { InstancePlanError } from '../errors';
import { planLogic, stepLogic } from '../machines';
import type { ExecuteStepInput } from '../schemas/inputs';
import type { Plan, Step } from '../schemas/records';
import type { PlanStatus, StepStatus } from '../schemas/enums';
import { mutate, read } from './commit';
import type { ManagerContext } from './context';
import { currentStepMutation } from './instances';
import { assertInstanceOpen, planClosed, planMutation } from './plans';
import { notFound, visiblePlan } from './scope';
import { invalidTransition } from './transition-errors';
import { fieldError, parseInput } from './validate';

/**
 * Records the execution of one step: moves it along the step machine, checks the plan takes
 * work (the plan machine's `executeStep`) and the ordering, and stores the output. A step
 * going `in_progress` also becomes its instance's `current_step`, in the same atomic batch.
 * Reporting the status a step already has succeeds and changes nothing.
 */
export async function executeStep(context: ManagerContext, input: ExecuteStepInput): Promise<Plan> {
  const data = parseInput(context.schemas.executeStep, input, 'executeStep input');
  const to: StepStatus = data.step_status;
  if ((to === 'completed' || to === 'failed') && (data.step_output === undefined || data.step_output === null)) {
    throw fieldError(['step_output'], `is required when step_status is "${to}": say what the step produced or why it failed`);
  }
  return mutate(context, async () => {
    const plan = await visiblePlan(context, data.plan_id);
    const index = plan.steps.findIndex((step) => step.id === data.step_id);
    if (index < 0) throw notFound('step', data.step_id, { plan_id: plan.id });
    const step = plan.steps[index]!;
    const from = step.status;
    if (from === to) return { writes: [], events: [], result: plan };

    const planEdge = planLogic.resolve(plan.status, { type: 'executeStep' });
    if (!planEdge) throw planClosed(plan, 'execute a step of', 'executeStep');
    const stepEdge = stepLogic.resolve(from, { type: to });
    if (stepEdge?.target !== to) {
      throw invalidTransition('step', step.id, from, to, stepLogic.targets(from), { plan_id: plan.id });
    }
    if (plan.ordering === 'strict' && (to === 'in_progress' || to === 'completed')) {
      const blocking = plan.steps.slice(0, index).find((earlier) => earlier.status !== 'completed');
      if (blocking) throw stepOrder(plan, step, blocking);
    }
    const instance = await read('get', () => context.adapter.get('instance', plan.instance_id));
    if (instance) assertInstanceOpen(instance);

    const now = context.now();
    const mutation = planMutation(
      context,
      plan,
      (draft) => {
        applyStepEffects(draft.steps[index]!, to, stepEdge.actions, data.step_output, now);
        if (planEdge.target) draft.status = planEdge.target as PlanStatus;
      },
      now,
      'plan.step_executed',
      { id: step.id, from, to },
    );
    if (to === 'in_progress' && instance) {
      const current = currentStepMutation(context, instance, step.title, now);
      mutation.writes.push(...current.writes);
      mutation.events.push(...current.events);
    }
    return mutation;
  });
}

/** The effects of a step move: status, output, attempts (the machine's `countAttempt`), timestamps. */
function applyStepEffects(
  step: Draft<Step>,
  to: StepStatus,
  actions: readonly string[],
  output: string | null | undefined,
  now: string,
): void {
  step.status = to;
  if (output !== undefined) step.output = output;
  if (actions.includes('countAttempt')) {
    step.attempts += 1;
    step.started_at = now;
  }
  step.completed_at = to === 'completed' ? now : null;
}

function stepOrder(plan: Plan, step: Step, blocking: Step): InstancePlanError {
  return new InstancePlanError(
    'STEP_ORDER',
    `Step ${JSON.stringify(step.id)} ("${step.title}") cannot start yet: this plan runs its steps in order, and step ${JSON.stringify(blocking.id)} ("${blocking.title}") is "${blocking.status}". Complete that step first.`,
    {
      plan_id: plan.id,
      step_id: step.id,
      blocking_step: { id: blocking.id, title: blocking.title, status: blocking.status },
    },
  );
}
