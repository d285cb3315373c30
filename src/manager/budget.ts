import type { Instance } from '../schemas/records';
import { budgetExceeded, type BudgetUse } from '../refusals';

/**
 * The first budget of `instance` that its counters have reached (turns before tokens), or
 * undefined while every counter is below its limit (a null limit is no limit).
 */
export function exhaustedBudget(instance: Pick<Instance, 'turn_count' | 'tokens_total' | 'max_turns' | 'max_tokens'>): BudgetUse | undefined {
  if (instance.max_turns !== null && instance.turn_count >= instance.max_turns) {
    return { counter: 'turns', field: 'max_turns', used: instance.turn_count, limit: instance.max_turns };
  }
  if (instance.max_tokens !== null && instance.tokens_total >= instance.max_tokens) {
    return { counter: 'tokens', field: 'max_tokens', used: instance.tokens_total, limit: instance.max_tokens };
  }
  return undefined;
}

/**
 * Refuses work on an instance whose budget holds it back: a counter at its limit, or a pause for
 * an exhausted budget that nobody resumed yet (raising the budget alone does not restart it).
 */
export function assertWithinBudget(instance: Instance, action: string): void {
  const use = exhaustedBudget(instance);
  if (use) throw budgetExceeded(instance, use, action);
  if (instance.status === 'paused' && instance.status_reason === 'budget_exhausted') throw budgetExceeded(instance, null, action);
}
