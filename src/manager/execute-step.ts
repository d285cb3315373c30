import { applyEdge } from '../machines/effects';
import { planEffects, planLogic } from '../machines/plan';
import { stepLogic } from '../machines/step';
import { differentReport, fieldError, invalidTransition, notFound, planClosed, stepOrder } from '../refusals';
import type { ExecuteStepInput } from '../schemas/inputs';
import type { Plan } from '../schemas/records';
import type { StepStatus } from '../schemas/enums';
import { mutate } from './mutate';
import type { ManagerContext } from './context';
import { changeInstance, currentStepMutation } from './instances';
import { assertWithinBudget } from './budget';
import { assertNotAwaiting, inputMoves, withOpenQuestions } from './human-input';
import { assertInstanceOpen, planMutation } from './plans';
import { visiblePlanWithInstance } from './scope';
import { carryStepIndex, indexOfStep } from './step-index';
import { parseInput } from './validate';

/**
 * Records the execution of one step: moves it along the step machine, checks the plan takes
 * work (the plan machine's `executeStep`) and the ordering, and stores the output. A step
 * going `in_progress` also becomes its instance's `current_step`, in the same atomic batch; a
 * `user_input` step is a question, and moves its instance to `waiting` and back (human-input.ts).
 * No step executes while its instance waits for another answer or is held by its budget.
 * Reporting the status a step already has succeeds and changes nothing.
 */
export async function executeStep(context: ManagerContext, input: ExecuteStepInput): Promise<Plan> {
  return executeParsedStep(context, parseInput(context.schemas.executeStep, input, 'executeStep input'));
}

/** `executeStep` of input parsed already (by the tool's schema). */
export async function executeParsedStep(context: ManagerContext, data: ExecuteStepInput): Promise<Plan> {
  const to: StepStatus = data.step_status;
  if ((to === 'completed' || to === 'failed') && (data.step_output === undefined || data.step_output === null)) {
    throw fieldError(['step_output'], `is required when step_status is "${to}": say what the step produced or why it failed`);
  }
  return withOpenQuestions(context, (questions) => mutate(context, async (reader) => {
    // The plan and its instance in one read: the instance is checked open, and may be changed too.
    const { plan, instance } = await visiblePlanWithInstance(context, data.plan_id, reader);
    const index = indexOfStep(plan.steps, data.step_id);
    if (index < 0) throw notFound('step', data.step_id, { plan_id: plan.id });
    const step = plan.steps[index]!;
    const from = step.status;
    if (from === to) {
      // The same report again is a safe retry; the same status with another output is another report.
      if (data.step_output !== undefined && data.step_output !== null && data.step_output !== step.output) throw differentReport(plan, step, data.step_output);
      return { writes: [], events: [], result: plan };
    }

    const planEdge = planLogic.resolve(plan.status, { type: 'executeStep' });
    if (!planEdge) throw planClosed(plan, 'execute a step of', 'executeStep');
    const stepEdge = stepLogic.resolve(from, { type: to });
    if (stepEdge?.target !== to) {
      throw invalidTransition('step', step.id, from, to, stepLogic.targets(from), { plan_id: plan.id });
    }
    if (plan.ordering === 'strict' && (to === 'in_progress' || to === 'completed')) {
      for (let earlier = 0; earlier < index; earlier++) {
        const blocking = plan.steps[earlier]!;
        if (blocking.status !== 'completed') throw stepOrder(plan, step, blocking);
      }
    }
    assertInstanceOpen(instance);
    if (instance) {
      assertWithinBudget(instance, `execute step ${JSON.stringify(step.id)} ("${step.title}")`);
      assertNotAwaiting(instance, plan, step, to, questions);
    }
    const moves = instance ? inputMoves(instance, step, to) : [];

    const now = context.now();
    const mutation = planMutation(
      context,
      plan,
      (draft) => {
        // The plan machine's executeStep edge moves the step along the step machine, effects and all.
        const step = { type: to, output: data.step_output, at: now };
        applyEdge(planEffects, planEdge, draft, { type: 'executeStep', step_index: index, step });
      },
      now,
      'plan.step_executed',
      { step: { id: step.id, from, to } },
      data.step_output === undefined || data.step_output === null ? undefined : 'step_output',
    );
    carryStepIndex(plan.steps, mutation.result.steps);
    if (instance && (moves.length > 0 || to === 'in_progress')) {
      const type = moves.some(([edge]) => edge.target !== undefined) ? 'instance.transitioned' : 'instance.current_step_set';
      const changed = moves.length > 0 ? changeInstance(context, instance, type, moves, now) : currentStepMutation(context, instance, step.title, now);
      mutation.writes.push(...changed.writes);
      mutation.events.push(...changed.events);
    }
    return mutation;
  }));
}
