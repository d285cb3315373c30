import { expect } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager, type ErrorCode, type HistoryEvent, type Instance, type Plan, type PlanManagerOptions, type StorageAdapter } from '../../src';
import { type CompiledMachine } from '../../src/machines';

/** A clock that moves one second per reading, and remembers its latest reading. */
export interface TestClock {
  (): Date;
  /** The ISO string of the latest reading (what the manager stamped last). */
  latest(): string;
  readings(): number;
  /** A mark to pass to `since`. */
  mark(): number;
  /** The ISO strings read since `mark` (the stamps a call may have used). */
  since(mark: number): string[];
  /** Asserts `stamp` is one of the readings since `mark`, and returns it. */
  stampSince(mark: number, stamp: string | null | undefined): string;
}

export function testClock(start = Date.UTC(2025, 0, 1, 12, 0, 0)): TestClock {
  let ticks = 0;
  let latest: string | undefined;
  const all: string[] = [];
  const clock = (() => {
    const date = new Date(start + ticks++ * 1000);
    latest = date.toISOString();
    all.push(latest);
    return date;
  }) as TestClock;
  clock.mark = () => all.length;
  clock.since = (mark) => all.slice(mark);
  clock.stampSince = (mark, stamp) => {
    expect(all.slice(mark), `the stamp ${String(stamp)} is a clock reading taken during the call`).toContain(stamp);
    return stamp as string;
  };
  clock.latest = () => {
    if (latest === undefined) throw new Error('the clock has not been read yet');
    return latest;
  };
  clock.readings = () => ticks;
  return clock;
}

/** Deterministic ids: `${prefix}-1`, `${prefix}-2`, ... */
export function sequentialIds(prefix = 'id'): () => string {
  let next = 0;
  return () => `${prefix}-${++next}`;
}

/** Wraps an adapter and counts calls of `commit` (attempted, and those that stored a batch). */
export interface CountingAdapter extends StorageAdapter {
  readonly counts: { commits: number; committed: number };
}

export function countingAdapter(inner: StorageAdapter = memoryAdapter()): CountingAdapter {
  const counts = { commits: 0, committed: 0 };
  const adapter: CountingAdapter = {
    counts,
    get: (kind, id) => inner.get(kind, id),
    list: (kind, query) => inner.list(kind, query),
    history: (id) => inner.history(id),
    async commit(batch) {
      counts.commits++;
      await inner.commit(batch);
      counts.committed++;
    },
  };
  if (inner.subscribe) adapter.subscribe = (listener) => inner.subscribe!(listener);
  return adapter;
}

/** Everything a store holds: every record of both kinds, and every record's history. */
export interface StoreSnapshot {
  instances: Instance[];
  plans: Plan[];
  history: Record<string, HistoryEvent[]>;
}

/** Reads the whole store straight from the adapter (no scope in the way). */
export async function snapshotStore(adapter: StorageAdapter): Promise<StoreSnapshot> {
  const all = { where: {}, limit: Number.MAX_SAFE_INTEGER, offset: 0 };
  const instances = (await adapter.list('instance', all)).records;
  const plans = (await adapter.list('plan', all)).records;
  const history: Record<string, HistoryEvent[]> = {};
  for (const record of [...instances, ...plans]) {
    Object.defineProperty(history, record.id, {
      value: await adapter.history(record.id),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { instances, plans, history };
}

/** Awaits a rejection with an `InstancePlanError` of `code`, and returns the error. */
export async function expectRejection(promise: Promise<unknown>, code: ErrorCode): Promise<InstancePlanError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await promise };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    expect.fail(`expected a rejection with ${code}, but it resolved with ${JSON.stringify(outcome.value)}`);
  }
  const error = outcome.error;
  if (!InstancePlanError.is(error)) throw error;
  expect(error, `expected ${code}, got ${error.code}: ${error.message}`).toMatchObject({ code });
  expect(error).toBeInstanceOf(InstancePlanError);
  expect(typeof error.message === 'string' && error.message.trim() !== '').toBe(true);
  return error;
}

/** Settles a promise into a value or an `InstancePlanError` (anything else is rethrown). */
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: InstancePlanError }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    if (InstancePlanError.is(error)) return { ok: false, error };
    throw error;
  }
}

/**
 * The shortest path of plain status changes from the machine's initial state to `target`
 * (BFS over `targets`), excluding the initial state itself. Derived from the machine, so no
 * test writes a path by hand.
 */
export function pathTo<S extends string>(logic: CompiledMachine<S>, target: S): S[] {
  const previous = new Map<S, S | null>([[logic.initial, null]]);
  const queue: S[] = [logic.initial];
  while (queue.length > 0) {
    const state = queue.shift()!;
    if (state === target) break;
    for (const next of logic.targets(state)) {
      if (!previous.has(next)) {
        previous.set(next, state);
        queue.push(next);
      }
    }
  }
  if (!previous.has(target)) throw new Error(`machine "${logic.id}": "${target}" is unreachable from "${logic.initial}"`);
  const path: S[] = [];
  for (let state: S | null = target; state !== null && state !== logic.initial; state = previous.get(state) ?? null) {
    path.unshift(state);
  }
  return path;
}

/** A manager on a fresh (counting) memory store, with a deterministic clock and ids. */
export function testManager(options: PlanManagerOptions & { idPrefix?: string } = {}) {
  const { idPrefix, ...rest } = options;
  const adapter = countingAdapter(rest.adapter ?? memoryAdapter());
  const clock = testClock();
  const manager = new PlanManager({ clock, ids: sequentialIds(idPrefix ?? 'id'), ...rest, adapter });
  return { manager, adapter, clock };
}
