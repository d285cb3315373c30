import type { AwaitedStep } from '../refusals';
import type { StepStatus } from '../schemas/enums';
import type { Plan, Step } from '../schemas/records';

/** Whether executing `step` to `to` answers its question: a `user_input` step in progress, completed or failed. */
export function answersQuestion(step: Step, to: StepStatus): boolean {
  return step.type === 'user_input' && step.status === 'in_progress' && (to === 'completed' || to === 'failed');
}

/**
 * The open question of `plan`: its `user_input` step in progress, if any. A plan given up
 * (cancelled, failed) has withdrawn its questions: none of them is open.
 */
export function questionIn(plan: Plan): AwaitedStep | null {
  if (!asks(plan)) return null;
  const step = plan.steps.find((one) => one.type === 'user_input' && one.status === 'in_progress');
  return step ? { plan_id: plan.id, step_id: step.id, title: step.title } : null;
}

/** Whether a plan's questions in progress are open: a plan given up (cancelled, failed) has withdrawn them. */
export function asks(plan: Plan): boolean {
  return plan.status !== 'cancelled' && plan.status !== 'failed';
}
