import { InstancePlanError } from '../errors';
import { instanceLogic } from '../machines/instance';
import { awaitingInput, invalidTransition, noQuestion, severalQuestions, type AwaitedStep } from '../refusals';
import { LIST_MAX_LIMIT } from '../schemas/limits';
import type { StepStatus } from '../schemas/enums';
import type { Instance, Plan, Step } from '../schemas/records';
import type { ManagerContext } from './context';
import type { InstanceMove } from './instances';
import { answersQuestion, asks, questionIn } from './open-question';
import { listPlans } from './plans';
import { visibleInstance } from './scope';

/**
 * Human in the loop: a `user_input` step is a question to a person. Starting it moves the
 * instance to `waiting` (reason `awaiting_input`, the question as `current_step`); its answer
 * (the step completed, or failed) moves a waiting instance back to `running`. While the instance
 * waits, the answer is the only step that executes.
 */

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

/**
 * The open questions among the plans of `instance_id` the manager can see, newest plan first
 * (at most QUESTION_SEARCH_PAGES pages of plans are read; `stopAtFirst` stops at the first found;
 * the plan `except` is left out).
 */
export async function findQuestions(context: ManagerContext, instance_id: string, stopAtFirst = false, except?: string): Promise<AwaitedStep[]> {
  const found: AwaitedStep[] = [];
  for (let page = 0; page < QUESTION_SEARCH_PAGES; page++) {
    const { plans, total } = await listPlans(context, { instance_id, limit: LIST_MAX_LIMIT, offset: page * LIST_MAX_LIMIT });
    for (const plan of plans) {
      if (!asks(plan) || plan.id === except) continue;
      for (const step of plan.steps) {
        if (step.type !== 'user_input' || step.status !== 'in_progress') continue;
        found.push({ plan_id: plan.id, step_id: step.id, title: step.title });
        if (stopAtFirst) return found;
      }
    }
    if ((page + 1) * LIST_MAX_LIMIT >= total) break;
  }
  return found;
}

/**
 * An `AWAITING_INPUT` refusal that could not name the question (it is in another plan of the
 * instance) names it after a search of the instance's plans, outside the refused transaction.
 */
export async function withQuestionNamed(context: ManagerContext, error: unknown): Promise<never> {
  if (!InstancePlanError.is(error, 'AWAITING_INPUT') || error.details.awaiting !== null) throw error;
  const details = error.details as { instance_id: string; plan_id: string; step_id: string; step_title: string; question: string | null };
  const [question] = await findQuestions(context, details.instance_id, true).catch(() => []);
  if (question === undefined) throw error;
  throw awaitingInput({ id: details.instance_id, current_step: details.question }, details.plan_id, { id: details.step_id, title: details.step_title }, question);
}

/**
 * The instance's one open question, or a refusal: `NOT_FOUND` when it has none, and, when its
 * runtime let it ask several (it moved a waiting instance to running, and another was asked),
 * `VALIDATION_ERROR` naming them, since an answer must say which it answers.
 */
export async function questionOf(context: ManagerContext, instance_id: string): Promise<AwaitedStep> {
  const instance = await visibleInstance(context, instance_id);
  const questions = await findQuestions(context, instance.id);
  if (questions.length === 0) throw noQuestion(instance);
  if (questions.length > 1) throw severalQuestions(instance, questions);
  return questions[0]!;
}
