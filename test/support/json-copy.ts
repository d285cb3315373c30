// Shared by the tests of records handed out: what a record an adapter gives back must look like.
import { expect } from 'vitest';

/**
 * Checks that `copy` is what JSON.parse would build for `original`: the same values, plain
 * objects and arrays with enumerable own data properties in the same order, and no object shared
 * with the caller's original. `frozen`: every object of it frozen (no property writable or
 * configurable), as adapters hand records out; else all ordinary (writable and configurable).
 */
export function expectJsonCopy(copy: unknown, original: unknown, { frozen }: { frozen: boolean }, path = '$'): void {
  if (typeof original !== 'object' || original === null) {
    expect(copy, path).toBe(original);
    return;
  }
  expect(typeof copy === 'object' && copy !== null, path).toBe(true);
  expect(copy, `${path} is a new object`).not.toBe(original);
  expect(Array.isArray(copy), path).toBe(Array.isArray(original));
  expect(Object.getPrototypeOf(copy), path).toBe(Array.isArray(original) ? Array.prototype : Object.prototype);
  expect(Object.isFrozen(copy), `${path} is frozen`).toBe(frozen);
  const keys = Object.keys(original);
  const ownKeys = Reflect.ownKeys(copy as object);
  expect(Array.isArray(copy) ? ownKeys.filter((key) => key !== 'length') : ownKeys, path).toEqual(keys);
  for (const key of keys) {
    const descriptor = Object.getOwnPropertyDescriptor(copy, key)!;
    expect({ writable: descriptor.writable, enumerable: descriptor.enumerable, configurable: descriptor.configurable }, `${path}.${key}`).toEqual({
      writable: !frozen,
      enumerable: true,
      configurable: !frozen,
    });
    expectJsonCopy(descriptor.value, (original as Record<string, unknown>)[key], { frozen }, `${path}.${key}`);
  }
}

/** JSON text with "__proto__" keys, which JSON.parse turns into own data properties. */
export const WITH_PROTO_KEYS = '{"__proto__": {"a": [1, {"__proto__": null}], "b": "x"}, "c": [{"__proto__": {"d": true}}], "e": null}';
