import type { StorageAdapter } from '../adapters/contract';
import { storageError } from '../refusals';

// Timers are in every runtime the core runs in, but not in the ES library it is checked against.
const timers = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
};

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
    get: bound('get', (kind, id) => adapter.get(kind, id)),
    list: bound('list', (kind, query) => adapter.list(kind, query)),
    history: bound('history', (id, page) => adapter.history(id, page)),
    commit: bound('commit', (batch) => adapter.commit(batch)),
  };
  if (adapter.getPlanWithInstance) bounded.getPlanWithInstance = bound('get', (id) => adapter.getPlanWithInstance!(id));
  if (adapter.transact) bounded.transact = bound('commit', (work) => adapter.transact!(work)) as StorageAdapter['transact'];
  if (adapter.subscribe) bounded.subscribe = (listener) => adapter.subscribe!(listener);
  if (adapter.close) bounded.close = () => adapter.close!();
  return bounded;
}

function within<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: unknown;
  const late = new Promise<never>((_resolve, reject) => {
    timer = timers.setTimeout(
      () => reject(storageError(`The store did not answer (${operation}) within ${ms} ms`, undefined, { reason: 'timeout', operation, timeout_ms: ms })),
      ms,
    );
  });
  return Promise.race([promise, late]).finally(() => timers.clearTimeout(timer));
}
