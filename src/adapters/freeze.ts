import { cloneJson } from './clone';

/**
 * Freezes a JSON value and everything in it, in place, and returns it. A part that is already
 * frozen is taken as frozen all the way down and not walked again: records share their unchanged
 * parts with the versions before them, so freezing the next version costs only what is new.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * A value a store may keep or share: a frozen one as it is (taken as frozen all the way down),
 * any other as a frozen copy, so a caller's own objects stay theirs and mutable.
 */
export function frozenCopy<T>(value: T): T {
  return Object.isFrozen(value) ? value : deepFreeze(cloneJson(value));
}
