const hasOwn = Object.prototype.hasOwnProperty;

/**
 * A deep copy of a JSON value (records and events are JSON). Objects are copied with spread,
 * which defines own properties, so a key such as "__proto__" is copied as data and never
 * becomes a prototype; children are then replaced by their copies (assigning to an own
 * "__proto__" data property sets that property, not the prototype). This is the hot path of
 * every adapter read and write, hence the spread (several times faster than a key loop) and the
 * checks that skip the call for primitives.
 */
export function cloneJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out[i] = typeof item === 'object' && item !== null ? cloneJson(item) : item;
    }
    return out as T;
  }
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key in out) {
    const child = out[key];
    // for-in also walks enumerable keys someone added to Object.prototype: never copy those.
    if (typeof child === 'object' && child !== null && hasOwn.call(out, key)) out[key] = cloneJson(child);
  }
  return out as T;
}
