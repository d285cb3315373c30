/**
 * Lists answer newest first (`created_at` descending, then `id` ascending), but an IndexedDB
 * cursor walks one direction over every part of a key. So each row carries `created_at` turned
 * into a key that sorts in reverse, and indexes end in `[order, id]`: walking them forwards is
 * exactly the list order, and `advance(offset)` pages without reading anything it skips.
 */
export type OrderKey = number[];

/**
 * `created_at` as an array of its negated UTF-16 code units, closed by a 1. Numbers compare
 * numerically, so negated units sort in reverse; the closing 1 is above every negated unit
 * (all are 0 or less), so a string sorts after its own extensions, as reversal requires.
 * Code units, not code points: the same order as `<` on strings (see `compareNewestFirst`).
 *
 * @example
 * orderKey('2025-01-02') < orderKey('2025-01-01') // as IndexedDB compares keys
 */
export function orderKey(createdAt: string): OrderKey {
  const key: number[] = new Array(createdAt.length + 1);
  for (let i = 0; i < createdAt.length; i++) key[i] = -createdAt.charCodeAt(i);
  key[createdAt.length] = 1;
  return key;
}

/** Sorts above every order key (arrays compare element by element, and Infinity tops every unit). */
export const AFTER_EVERY_ORDER: OrderKey = [Infinity];
