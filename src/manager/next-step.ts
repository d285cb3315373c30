import type { Plan, Step } from '../schemas/records';

/**
 * The step the agent should execute next: the first one that is not completed (in strict
 * ordering it is the only one that may start), or null when there is none.
 */
export function nextStep(plan: Plan): Step | null {
  if (plan.status === 'cancelled' || plan.status === 'completed') return null;
  return plan.steps.find((step) => step.status !== 'completed') ?? null;
}

/** One sentence telling the agent what to do next with this plan. */
export function guidance(plan: Plan): string {
  switch (plan.status) {
    case 'cancelled':
      return 'The plan is cancelled; create a new plan for new work.';
    case 'completed':
      return 'The plan is completed. To continue the same objective, add steps with action "update".';
    case 'failed':
      return 'The plan has failed. Add steps with action "update" to reopen it, or create a new plan.';
    case 'paused':
      return 'The plan is paused. Resume it with action "update" and status "in_progress" before executing steps.';
    default:
      break;
  }
  const next = nextStep(plan);
  if (plan.steps.length === 0) {
    return 'The plan has no steps yet. Add its steps with action "update" (field "steps"), then execute them in order.';
  }
  if (next === null) {
    return 'Every step is completed. Finish the plan now: action "update" with status "completed" and a non-empty summary.';
  }
  if (next.status === 'failed') {
    return `Step ${JSON.stringify(next.id)} ("${next.title}") failed. Retry it with action "execute_step", or mark the plan "failed" with a summary.`;
  }
  // A user_input step is a question to a person: asking it makes the instance wait for the answer.
  if (next.type === 'user_input' && next.status === 'in_progress') {
    return `Ask the person: "${next.title}", and wait for the answer (the instance is waiting for it). Then execute step ${JSON.stringify(next.id)} with step_status "completed" and the answer as step_output.`;
  }
  if (next.type === 'user_input') {
    return `Step ${JSON.stringify(next.id)} ("${next.title}") asks the person: start it with action "execute_step" and step_status "in_progress", ask, and wait for the answer.`;
  }
  const verb = next.status === 'in_progress' ? 'Finish' : 'Execute';
  return `${verb} step ${JSON.stringify(next.id)} ("${next.title}", ${next.type}) with action "execute_step".`;
}
