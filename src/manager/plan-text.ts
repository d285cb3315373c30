import type { Patch } from '../adapters/contract';
import type { Plan, Step } from '../schemas/records';
import { jsonLength } from '../schemas/json-length';

/**
 * How much text a plan holds (the `maxPlanTextLength` limit): its title, description and summary,
 * and each step's title, description, output and details as JSON. Counted incrementally: a
 * plan's total is kept per plan object, and a change adds the difference of the steps its
 * patches touched, so checking the limit costs what the change costs, not what the plan weighs
 * (a plan first seen, read from a store, is counted once in full).
 */
const totals = new WeakMap<Plan, number>();

const len = (text: string | null) => (text === null ? 0 : text.length);

function stepText(step: Step): number {
  return len(step.title) + len(step.description) + len(step.output) + jsonLength(step.details);
}

const ownText = (plan: Plan) => len(plan.title) + len(plan.description) + len(plan.summary);

/** The plan's text, in full (remembered for the next change of it). */
export function planText(plan: Plan): number {
  let total = totals.get(plan);
  if (total === undefined) {
    total = ownText(plan);
    for (const step of plan.steps) total += stepText(step);
    totals.set(plan, total);
  }
  return total;
}

/** Whether the plan's total is known already (then carrying it to the next version is cheap). */
export function hasPlanText(plan: Plan): boolean {
  return totals.has(plan);
}

/** The text of `next`, made from `previous` by `changes` (immer's patches): the previous total plus what the touched steps and fields changed. */
export function nextPlanText(previous: Plan, next: Plan, changes: readonly Patch[]): number {
  const touched = new Set<number>();
  for (const { path } of changes) if (path[0] === 'steps' && typeof path[1] === 'number') touched.add(path[1]);
  // A whole new steps array (not a patch per step): count it all.
  if (changes.some(({ path }) => path[0] === 'steps' && path.length === 1)) {
    totals.delete(next);
    return planText(next);
  }
  let total = planText(previous) - ownText(previous) + ownText(next);
  for (const index of touched) {
    const before = previous.steps[index];
    const after = next.steps[index];
    total += (after ? stepText(after) : 0) - (before ? stepText(before) : 0);
  }
  totals.set(next, total);
  return total;
}
