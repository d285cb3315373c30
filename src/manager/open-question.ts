import type { AwaitedStep } from '../refusals';
import type { StepStatus } from '../schemas/enums';
import type { Plan, Step } from '../schemas/records';

/** Whether executing `step` to `to` answers its question: a `user_input` step in progress, completed or failed. */
export function answersQuestion(step: Step, to: StepStatus): boolean {
  return step.type === 'user_input' && step.status === 'in_progress' && (to === 'completed' || to === 'failed');
}

/**
 * The open questions of `plan`: its `user_input` steps in progress, in step order. A plan given
 * up (cancelled, failed) has withdrawn its questions: none of them is open.
 */
export function questionsIn(plan: Plan): AwaitedStep[] {
  if (!asks(plan)) return [];
  return plan.steps.flatMap((step) => (step.type === 'user_input' && step.status === 'in_progress' ? [{ plan_id: plan.id, step_id: step.id, title: step.title }] : []));
}

/** The first open question of `plan`, if any. */
export function questionIn(plan: Plan): AwaitedStep | null {
  return questionsIn(plan)[0] ?? null;
}

/** Whether a plan's questions in progress are open: a plan given up (cancelled, failed) has withdrawn them. */
export function asks(plan: Plan): boolean {
  return plan.status !== 'cancelled' && plan.status !== 'failed';
}
