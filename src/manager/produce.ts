import type { Draft, Immer } from 'immer';
import type { Patch } from '../adapters/contract';
import { deepFreeze } from '../adapters/freeze';

/**
 * The next version of a frozen record, by one immer pass that shares every unchanged part with
 * `base` and yields the history patches of the change in the same pass. The result is deeply
 * frozen at the cost of what changed, not of the record's size: immer makes new objects only on
 * the paths its patches name, so those are frozen, with the values the patches bring (a new step,
 * an output). Everything else is `base`'s own, frozen already. Immer's own auto-freeze would walk
 * every step of the plan on every change.
 */
export function produceFrozen<T extends object>(immer: Immer, base: T, recipe: (draft: Draft<T>) => void): [T, Patch[]] {
  const [next, patches] = immer.produceWithPatches(thawed(base), recipe);
  if (patches.length === 0) return [base, []];
  for (const patch of patches) {
    // Down the patch's path in the new record: each object passed is new, and so is what the
    // path ends at (immer may have handed the patch a copy of it, so the record's own is frozen).
    let node: unknown = next;
    for (let i = 0; i < patch.path.length && typeof node === 'object' && node !== null; i++) {
      Object.freeze(node);
      node = (node as Record<PropertyKey, unknown>)[patch.path[i]!];
    }
    deepFreeze(node);
    deepFreeze(patch);
  }
  Object.freeze(next);
  return [next as T, patches as Patch[]];
}

/**
 * `base` with its top-level frozen arrays (a plan's steps) replaced by unfrozen copies holding the
 * same elements. Immer copies an array it drafts with `slice`, and V8 (Node 20) slices a frozen
 * array through a slow path, about 40 times slower than an unfrozen one (a spread is fast either
 * way): on a 10,000-step plan that copy alone cost more than the whole change of a 10-step one.
 */
function thawed<T extends object>(base: T): T {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(base)) {
    const value = (base as Record<string, unknown>)[key];
    if (Array.isArray(value) && Object.isFrozen(value)) {
      copy ??= { ...(base as Record<string, unknown>) };
      copy[key] = [...value];
    }
  }
  return (copy ?? base) as T;
}
