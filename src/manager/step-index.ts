import type { Step } from '../schemas/records';

/**
 * Where each step of a plan is, by id, without walking the steps on every change. Records are
 * immutable, so a plan's steps array is a key that never changes meaning; and a change keeps
 * every step where it was (steps are only ever appended), so the next version's array takes the
 * same map over (`carryStepIndex`) instead of building its own. A position is trusted only when
 * the step there has the id asked for; otherwise the map is built again from the array.
 */
const indexes = new WeakMap<readonly Step[], Map<string, number>>();

/** The position of the first step with `id`, or -1. */
export function indexOfStep(steps: readonly Step[], id: string): number {
  const known = indexes.get(steps)?.get(id);
  if (known !== undefined && steps[known]?.id === id) return known;
  const map = new Map<string, number>();
  for (let i = 0; i < steps.length; i++) {
    const stepId = steps[i]!.id;
    if (!map.has(stepId)) map.set(stepId, i);
  }
  indexes.set(steps, map);
  return map.get(id) ?? -1;
}

/** Hands the map of `from` (a plan's steps) over to `to` (the next version's), adding the steps appended. */
export function carryStepIndex(from: readonly Step[], to: readonly Step[]): void {
  const map = indexes.get(from);
  if (!map || from === to) return;
  for (let i = from.length; i < to.length; i++) {
    const stepId = to[i]!.id;
    if (!map.has(stepId)) map.set(stepId, i);
  }
  indexes.set(to, map);
}
