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
  const [next, patches] = immer.produceWithPatches(base, recipe);
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
