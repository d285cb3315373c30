import { fieldError } from '../refusals';

/**
 * An input as plain data, read once: every own enumerable property of every object is read
 * exactly one time (a getter that answers differently on a second read cannot slip past a
 * check), into plain objects and arrays, before anything else looks at it. What cannot be read
 * so is refused with `VALIDATION_ERROR` naming where: a getter or a Proxy that throws, an array
 * longer than `maxArrayLength` (checked before a single element is read: a sparse
 * `new Array(1e9)` costs nothing), nesting deeper than `maxDepth` (cycles included), values JSON
 * has no form for (functions, symbols, bigints). Costs one walk of the input, bounded by the limits.
 */
export function plainInput(input: unknown, bounds: { maxArrayLength: number; maxDepth: number }): unknown {
  const refuse = (path: (string | number)[], message: string): never => {
    throw fieldError(path.length === 0 ? ['(input)'] : path, message);
  };
  const copy = (value: unknown, path: (string | number)[], depth: number): unknown => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number' || value === undefined) return value;
    if (typeof value !== 'object') return refuse(path, `is a ${typeof value}: only JSON values are accepted`);
    // Named by where the nesting starts: the path down to the limit would be as long as the input.
    if (depth >= bounds.maxDepth) return refuse(path.slice(0, 3), `nests deeper than ${bounds.maxDepth} levels (or refers to itself)`);
    let isArray: boolean;
    try {
      isArray = Array.isArray(value);
    } catch {
      return refuse(path, 'could not be read (a revoked Proxy?)');
    }
    if (isArray) {
      let length: number;
      try {
        length = (value as unknown[]).length;
      } catch {
        return refuse(path, 'could not be read: reading its length threw');
      }
      if (!Number.isSafeInteger(length) || length > bounds.maxArrayLength) return refuse(path, `has ${length} elements; at most ${bounds.maxArrayLength} are accepted`);
      const out: unknown[] = [];
      for (let i = 0; i < length; i++) {
        let element: unknown;
        try {
          element = (value as unknown[])[i];
        } catch {
          return refuse([...path, i], 'could not be read: reading it threw');
        }
        out.push(copy(element, [...path, i], depth + 1));
      }
      return out;
    }
    let keys: string[];
    try {
      keys = Object.keys(value);
    } catch {
      return refuse(path, 'could not be read: listing its keys threw');
    }
    if (keys.length > bounds.maxArrayLength) return refuse(path, `has ${keys.length} keys; at most ${bounds.maxArrayLength} are accepted`);
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      let field: unknown;
      try {
        field = (value as Record<string, unknown>)[key];
      } catch {
        return refuse([...path, key], 'could not be read: reading it threw');
      }
      // defineProperty, not assignment: a "__proto__" key stays a key (and is refused by name later).
      Object.defineProperty(out, key, { value: copy(field, [...path, key], depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return copy(input, [], 0);
}
