import { InstancePlanError } from '../errors';
import { instanceLogic } from '../machines/instance';
import { awaitingInput, invalidTransition, noQuestion, type AwaitedStep } from '../refusals';
import { LIST_MAX_LIMIT } from '../schemas/limits';
import type { StepStatus } from '../schemas/enums';
import type { Instance, Plan, Step } from '../schemas/records';
import type { ManagerContext } from './context';
import type { InstanceMove } from './instances';
import { listPlans } from './plans';
import { visibleInstance } from './scope';

/**
 * Human in the loop: a `user_input` step is a question to a person. Starting it moves the
 * instance to `waiting` (reason `awaiting_input`, the question as `current_step`); its answer
 * (the step completed, or failed) moves a waiting instance back to `running`. While the instance
 * waits, the answer is the only step that executes.
 */

/** Whether executing `step` to `to` answers its question: a `user_input` step in progress, completed or failed. */
export function answersQuestion(step: Step, to: StepStatus): boolean {
  return step.type === 'user_input' && step.status === 'in_progress' && (to === 'completed' || to === 'failed');
}

/** The open question of `plan`: its `user_input` step in progress, if any. */
export function questionIn(plan: Plan): AwaitedStep | null {
  const step = plan.steps.find((one) => one.type === 'user_input' && one.status === 'in_progress');
  return step ? { plan_id: plan.id, step_id: step.id, title: step.title } : null;
}

/** Refuses a step other than the answer while the instance waits for input (`AWAITING_INPUT`). */
export function assertNotAwaiting(instance: Instance, plan: Plan, step: Step, to: StepStatus): void {
  if (instance.status === 'waiting' && !answersQuestion(step, to)) throw awaitingInput(instance, plan.id, step, questionIn(plan));
}

/**
 * The lifecycle moves of the instance that executing `step` to `to` takes, in the same commit:
 * a question starting makes the question the current step and the instance `waiting`; its
 * answer makes a waiting instance `running`. An instance that cannot wait (still `starting`) is
 * refused, naming the move.
 */
export function inputMoves(instance: Instance, step: Step, to: StepStatus): InstanceMove[] {
  if (step.type === 'user_input' && to === 'in_progress') {
    const wait = instanceLogic.resolve(instance.status, { type: 'waiting' });
    if (wait?.target !== 'waiting') {
      throw invalidTransition('instance', instance.id, instance.status, 'waiting', instanceLogic.targets(instance.status), {
        reason: `step ${JSON.stringify(step.id)} ("${step.title}") asks a person, and the instance must wait for the answer`,
        step_id: step.id,
      });
    }
    const describe = instanceLogic.resolve(instance.status, { type: 'setCurrentStep' })!;
    return [
      [describe, { type: 'setCurrentStep', text: step.title }],
      [wait, { type: 'waiting', reason: 'awaiting_input' }],
    ];
  }
  if (answersQuestion(step, to) && instance.status === 'waiting') {
    return [[instanceLogic.resolve('waiting', { type: 'running' })!, { type: 'running' }]];
  }
  return [];
}

/** How many pages of an instance's plans are searched for its question (a bounded cost). */
const QUESTION_SEARCH_PAGES = 10;

/** The open question among the plans of `instance_id` the manager can see: the first found, newest plan first. */
export async function findQuestion(context: ManagerContext, instance_id: string): Promise<AwaitedStep | null> {
  for (let page = 0; page < QUESTION_SEARCH_PAGES; page++) {
    const { plans, total } = await listPlans(context, { instance_id, limit: LIST_MAX_LIMIT, offset: page * LIST_MAX_LIMIT });
    for (const plan of plans) {
      const question = questionIn(plan);
      if (question) return question;
    }
    if ((page + 1) * LIST_MAX_LIMIT >= total) break;
  }
  return null;
}

/**
 * An `AWAITING_INPUT` refusal that could not name the question (it is in another plan of the
 * instance) names it after a search of the instance's plans, outside the refused transaction.
 */
export async function withQuestionNamed(context: ManagerContext, error: unknown): Promise<never> {
  if (!InstancePlanError.is(error, 'AWAITING_INPUT') || error.details.awaiting !== null) throw error;
  const details = error.details as { instance_id: string; plan_id: string; step_id: string; step_title: string; question: string | null };
  const question = await findQuestion(context, details.instance_id).catch(() => null);
  if (question === null) throw error;
  throw awaitingInput({ id: details.instance_id, current_step: details.question }, details.plan_id, { id: details.step_id, title: details.step_title }, question);
}

/** The instance's open question (found as `findQuestion` does), or `NOT_FOUND` when it has none. */
export async function questionOf(context: ManagerContext, instance_id: string): Promise<AwaitedStep> {
  const instance = await visibleInstance(context, instance_id);
  const question = await findQuestion(context, instance.id);
  if (question === null) throw noQuestion(instance);
  return question;
}
