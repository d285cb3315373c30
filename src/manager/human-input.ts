import { instanceLogic } from '../machines/instance';
import { awaitingInput, invalidTransition, noQuestion, severalQuestions, type AwaitedStep } from '../refusals';
import { LIST_MAX_LIMIT } from '../schemas/limits';
import type { StepStatus } from '../schemas/enums';
import type { Instance, Plan, Step } from '../schemas/records';
import type { ManagerContext } from './context';
import type { InstanceMove } from './instances';
import { answersQuestion, questionIn, questionsIn } from './open-question';
import { listPlans } from './plans';
import { visibleInstance } from './scope';

/**
 * Human in the loop: a `user_input` step is a question to a person. Starting it moves the
 * instance to `waiting` (reason `awaiting_input`, the question as `current_step`); its answer
 * (the step completed, or failed) moves a waiting instance back to `running`. While the instance
 * waits, the answer is the only step that executes.
 */

/**
 * Refuses a step other than the answer while the instance waits for input (`AWAITING_INPUT`),
 * naming the question: the one of this plan, else the first among the instance's plans (read
 * outside the transaction, see `withOpenQuestions`; none found when that read fails).
 */
export function assertNotAwaiting(instance: Instance, plan: Plan, step: Step, to: StepStatus, questions: OpenQuestions): void {
  if (instance.status !== 'waiting' || answersQuestion(step, to)) return;
  const awaited = questionIn(plan) ?? (questions ?? needQuestions(instance.id, { tolerant: true }))[0] ?? null;
  throw awaitingInput(instance, plan.id, step, awaited);
}

/** The move that takes a waiting instance back to running: its question was answered or withdrawn. */
export function stopWaiting(): InstanceMove {
  return [instanceLogic.resolve('waiting', { type: 'running' })!, { type: 'running' }];
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
  if (answersQuestion(step, to) && instance.status === 'waiting') return [stopWaiting()];
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
      if (plan.id === except) continue;
      found.push(...questionsIn(plan));
      if (stopAtFirst && found.length > 0) return found.slice(0, 1);
    }
    if ((page + 1) * LIST_MAX_LIMIT >= total) break;
  }
  return found;
}

/** The open questions an attempt was given: undefined until they were read (see `withOpenQuestions`). */
export type OpenQuestions = readonly AwaitedStep[] | undefined;

/** What an attempt throws to have the open questions of an instance read outside the store's transaction. */
class QuestionsNeeded {
  constructor(
    readonly instance_id: string,
    readonly except: string | undefined,
    /** A read that fails finds none (the questions only name one in a refusal), rather than failing the call. */
    readonly tolerant: boolean,
  ) {}
}

/**
 * Asks, from inside an attempt, for the open questions of `instance_id` (the first one, leaving
 * out the plan `except`): the attempt stops here, and `withOpenQuestions` reads them and runs it
 * again with them.
 */
export function needQuestions(instance_id: string, options: { except?: string; tolerant?: boolean } = {}): never {
  throw new QuestionsNeeded(instance_id, options.except, options.tolerant ?? false);
}

/**
 * Runs `run` (a `mutate`) with the open questions it asks for. Lists cannot be read inside a
 * store's transaction, so an attempt that needs them calls `needQuestions`; they are read here,
 * outside, and `run` goes again with them. Only the rare moves that need them pay for the read.
 */
export async function withOpenQuestions<R>(context: ManagerContext, run: (questions: OpenQuestions) => Promise<R>): Promise<R> {
  let questions: OpenQuestions;
  for (;;) {
    try {
      return await run(questions);
    } catch (error) {
      if (!(error instanceof QuestionsNeeded) || questions !== undefined) throw error;
      const search = findQuestions(context, error.instance_id, true, error.except);
      questions = error.tolerant ? await search.catch(() => []) : await search;
    }
  }
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
