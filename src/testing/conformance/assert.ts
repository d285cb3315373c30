/**
 * The few assertions the suite needs, written here so that it runs under any runner (vitest,
 * jest, bun) without borrowing the caller's `expect`. Each throws an `Error` saying what was
 * checked and where the first difference is.
 */
import { InstancePlanError, type ErrorCode } from '../../errors';
import { timers } from '../../manager/timers';

const { setTimeout, clearTimeout } = timers;

export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

/**
 * Deep equality of JSON-like values: same own keys (a key "__proto__" included), same array
 * lengths, primitives by `Object.is`, and plain objects only where plain objects are expected.
 */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  const difference = firstDifference(actual, expected, '$');
  if (difference) throw new ConformanceError(`${what}: ${difference}`);
}

function firstDifference(actual: unknown, expected: unknown, path: string): string | undefined {
  if (Object.is(actual, expected)) return undefined;
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) {
    return `at ${path} expected ${preview(expected)}, got ${preview(actual)}`;
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) {
    return `at ${path} expected ${Array.isArray(expected) ? 'an array' : 'an object'}, got ${preview(actual)}`;
  }
  if (Array.isArray(expected)) {
    const list = actual as unknown[];
    if (list.length !== expected.length) return `at ${path} expected ${expected.length} items, got ${list.length}`;
    for (let i = 0; i < expected.length; i++) {
      const found = firstDifference(list[i], expected[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (Object.getPrototypeOf(expected) === Object.prototype && Object.getPrototypeOf(actual) !== Object.prototype) {
    return `at ${path} expected a plain object, got one whose prototype is ${preview(Object.getPrototypeOf(actual))}`;
  }
  const expectedKeys = Object.keys(expected).sort();
  const actualKeys = Object.keys(actual).sort();
  const missing = expectedKeys.filter((key) => !Object.hasOwn(actual, key));
  const extra = actualKeys.filter((key) => !Object.hasOwn(expected, key));
  if (missing.length > 0 || extra.length > 0) {
    return `at ${path} keys differ: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`;
  }
  for (const key of expectedKeys) {
    const found = firstDifference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}[${JSON.stringify(key)}]`);
    if (found) return found;
  }
  return undefined;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Awaits a promise that must reject; returns the reason. With `code`, the reason must be an `InstancePlanError` of that code. */
export async function checkRejects(promise: Promise<unknown>, what: string, code?: ErrorCode): Promise<unknown> {
  let outcome: { value: unknown } | { reason: unknown };
  try {
    outcome = { value: await promise };
  } catch (reason) {
    outcome = { reason };
  }
  if ('value' in outcome) throw new ConformanceError(`${what}: expected a rejection, but it resolved with ${preview(outcome.value)}`);
  if (code !== undefined && !InstancePlanError.is(outcome.reason, code)) {
    const reason = outcome.reason as { code?: unknown; message?: unknown } | undefined;
    throw new ConformanceError(`${what}: expected an InstancePlanError ${code}, got ${String(reason?.code ?? reason)}: ${String(reason?.message ?? '')}`);
  }
  return outcome.reason;
}

/** Rejects when `promise` does not settle within `ms`: a hang is a failure, not a slow test. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: unknown;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceError(`${what}: did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until `condition()` holds (for changes delivered asynchronously); fails after `ms`. */
export async function eventually(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new ConformanceError(`${what}: not seen within ${ms} ms`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Runs a change a careless caller makes to something it was handed. A frozen record refuses it
 * with a TypeError, which is one right answer; a copy takes it, which is the other. Either way
 * the store must not see it.
 */
export function tryChange(change: () => void): void {
  try {
    change();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}
