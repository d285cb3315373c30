import { storageError, type HistoryEvent, type RecordWrite } from '../adapters/contract';
import { InstancePlanError } from '../errors';
import type { ManagerContext } from './context';

/** What one attempt of an operation wants to store, and what it answers. No writes: a no-op. */
export interface Mutation<R> {
  writes: RecordWrite[];
  events: HistoryEvent[];
  result: R;
}

/**
 * Runs an operation with optimistic concurrency: `attempt` reads what it needs, validates
 * through the machines and proposes writes with the versions it read. On a `CONFLICT` the
 * whole attempt runs again on fresh data (so a move that became illegal meanwhile is refused
 * for the right reason), up to `context.retries` times; then `CONFLICT` is reported.
 */
export async function mutate<R>(context: ManagerContext, attempt: () => Promise<Mutation<R>>): Promise<R> {
  for (let tries = 0; ; tries++) {
    const mutation = await attempt();
    if (mutation.writes.length === 0) return mutation.result;
    try {
      await context.adapter.commit({ writes: mutation.writes, events: mutation.events });
    } catch (error) {
      if (InstancePlanError.is(error, 'CONFLICT')) {
        if (tries < context.retries) continue;
        throw new InstancePlanError(
          'CONFLICT',
          `${error.message}; gave up after ${tries + 1} attempts. Read the record again and retry.`,
          { ...error.details, attempts: tries + 1 },
          { cause: error },
        );
      }
      throw asStorageError(error, 'commit');
    }
    context.announce({
      records: mutation.writes.map((write) => ({ kind: write.kind, id: write.record.id, version: write.record.version })),
      events: mutation.events,
    });
    return mutation.result;
  }
}

/** Any fault of the store that is not already one of ours becomes `STORAGE_ERROR`, cause attached. */
export function asStorageError(error: unknown, operation: string): InstancePlanError {
  if (InstancePlanError.is(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return storageError(`Storage ${operation} failed: ${reason}. Nothing was changed; try again.`, error);
}

/** Calls the adapter for a read, turning its faults into `STORAGE_ERROR`. */
export async function read<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStorageError(error, operation);
  }
}
