import type { CommitBatch, HistoryEvent, RecordWrite } from '../adapters/contract';
import { InstancePlanError } from '../errors';
import { asStorageError, conflictAfterRetries } from '../refusals';
import type { ManagerContext } from './context';
import { leaseGuard } from './leases';

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
 *
 * Every commit carries the lease checks of the instances it changes (see `leaseGuard`). When only
 * such a check was stale and the lease still allows the write (a renewal, a lease that expired
 * free), the same mutation is committed again; when it does not, `LEASE_LOST` or `LEASE_HELD`.
 */
export async function mutate<R>(context: ManagerContext, attempt: () => Promise<Mutation<R>>): Promise<R> {
  const guard = leaseGuard(context, (id) => read('get', () => context.adapter.get('lease', id)));
  let mutation: Mutation<R> | undefined;
  for (let tries = 0; ; tries++) {
    mutation ??= await attempt();
    if (mutation.writes.length === 0) return mutation.result;
    const checks = await guard.checks(mutation.writes);
    const batch: CommitBatch = { writes: mutation.writes, events: mutation.events };
    if (checks.length > 0) batch.checks = checks;
    try {
      await context.adapter.commit(batch);
    } catch (error) {
      if (InstancePlanError.is(error, 'CONFLICT')) {
        // A stale lease check the lease still allows commits the same mutation again; any other
        // conflict runs the attempt again on fresh data.
        if (!(await guard.explain(error, checks))) mutation = undefined;
        if (tries < context.retries) continue;
        throw conflictAfterRetries(error, tries + 1);
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

/** Calls the adapter for a read, turning its faults into `STORAGE_ERROR`. */
export async function read<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStorageError(error, operation);
  }
}
