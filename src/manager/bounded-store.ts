import type { StorageAdapter } from '../adapters/contract';
import { storageError } from '../refusals';
import { timers } from './timers';

/**
 * The adapter with every operation bounded in time: a read, a list, a history page, a commit or
 * a whole transaction that has not settled within `timeoutMs` is answered `STORAGE_ERROR` with
 * reason `timeout` (a commit's then says it may have landed: the store may still finish it).
 * The operation itself is not cancelled; its late result is dropped. `null`: no bound.
 */
export function boundedStore(adapter: StorageAdapter, timeoutMs: number | null): StorageAdapter {
  if (timeoutMs === null) return adapter;
  const bound = <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) => (...args: A) => within(call(...args), timeoutMs, operation);
  const bounded: StorageAdapter = {
    get: bound('get', (kind, id, scope) => adapter.get(kind, id, scope)),
    list: bound('list', (kind, query) => adapter.list(kind, query)),
    history: bound('history', (id, page) => adapter.history(id, page)),
    commit: bound('commit', (batch) => adapter.commit(batch)),
  };
  if (adapter.getPlanWithInstance) bounded.getPlanWithInstance = bound('get', (id, scope) => adapter.getPlanWithInstance!(id, scope));
  if (adapter.transact) bounded.transact = bound('commit', (work) => adapter.transact!(work)) as StorageAdapter['transact'];
  if (adapter.subscribe) bounded.subscribe = (listener) => adapter.subscribe!(listener);
  if (adapter.close) bounded.close = () => adapter.close!();
  return bounded;
}

/** An operation in flight: when it must have settled, and how to answer it if it has not. */
interface InFlight {
  deadline: number;
  expire(): void;
}

/**
 * Bounds `promise` by `ms`. One timer serves every operation in flight (armed for the earliest
 * deadline; when it fires it answers those past theirs and arms itself for the next), so an
 * operation costs a set entry, not a timer of its own: the hot path of a memory store does not
 * pay for a bound it never reaches.
 */
function within<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: InFlight = {
      deadline: Date.now() + ms,
      expire: () => reject(storageError(`The store did not answer (${operation}) within ${ms} ms`, undefined, { reason: 'timeout', operation, timeout_ms: ms })),
    };
    inFlight.add(entry);
    arm(entry.deadline);
    promise.then(
      (value) => {
        inFlight.delete(entry);
        resolve(value);
      },
      (error: unknown) => {
        inFlight.delete(entry);
        reject(error);
      },
    );
  });
}

const inFlight = new Set<InFlight>();
let armed: { at: number; timer: unknown } | undefined;

/** Makes sure the timer fires by `deadline`. */
function arm(deadline: number): void {
  // An armed timer that should have fired a second ago and did not (its clock was replaced, as a
  // test's fake timers do) is armed again.
  if (armed && armed.at <= deadline && armed.at > Date.now() - 1000) return;
  if (armed) timers.clearTimeout(armed.timer);
  const timer = timers.setTimeout(check, Math.max(0, deadline - Date.now()));
  // Where timers can be unreferenced (Node, Bun, Deno), this one never keeps a process alive: an
  // operation in flight holds its own connection open, and the timer is never cleared early.
  (timer as { unref?: () => void } | null)?.unref?.();
  armed = { at: deadline, timer };
}

/** Answers every operation past its deadline, and arms the timer for the next one, if any. */
function check(): void {
  armed = undefined;
  const now = Date.now();
  let next = Number.POSITIVE_INFINITY;
  for (const entry of inFlight) {
    if (entry.deadline <= now) {
      inFlight.delete(entry);
      entry.expire();
    } else if (entry.deadline < next) next = entry.deadline;
  }
  if (next !== Number.POSITIVE_INFINITY) arm(next);
}
