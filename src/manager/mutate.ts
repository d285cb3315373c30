import type { CommitBatch, HistoryEvent, RecordCheck, RecordWrite } from '../adapters/contract';
import { deepFreeze } from '../adapters/freeze';
import { InstancePlanError } from '../errors';
import { commitFault, conflictAfterRetries } from '../refusals';
import type { ManagerContext } from './context';
import { leaseGuard } from './leases';
import { withRetention } from './retention';
import { pause } from './backoff';
import { rememberingReader, rememberWrites, storeReader, type Reader } from './reader';

/** What one attempt of an operation wants to store, and what it answers. No writes: a no-op. */
export interface Mutation<R> {
  writes: RecordWrite[];
  events: HistoryEvent[];
  result: R;
  /** Versions of records read but not written that must still hold when the writes commit. */
  checks?: RecordCheck[];
}

/**
 * Runs an operation with optimistic concurrency: `attempt` reads what it needs through the reader
 * it is given, validates through the machines and proposes writes with the versions it read.
 * On a `CONFLICT` the whole attempt runs again on fresh data (so a move that became illegal
 * meanwhile is refused for the right reason), after a random pause that grows with each retry
 * (`context.backoff`), up to `context.retries` times; then `CONFLICT`.
 *
 * The fewest round trips the store allows: an adapter with `transact` reads, checks and commits
 * in one transaction; a lease holder starts from what it last wrote (no read at all), and reads
 * the store only after a conflict.
 *
 * Every commit carries the lease checks of the instances it changes (see `leaseGuard`). When only
 * such a check was stale and the lease still allows the write (a renewal, a lease that expired
 * free), the same mutation is committed again; when it does not, `LEASE_LOST` or `LEASE_HELD`.
 */
export async function mutate<R>(context: ManagerContext, attempt: (reader: Reader) => Promise<Mutation<R>>): Promise<R> {
  const { adapter, fence } = context;
  const guard = leaseGuard(context, context.reader.lease);
  let mutation: Mutation<R> | undefined;
  let checks: RecordCheck[] = [];
  // The batch last sent: its events (snapshots included) are what subscribers hear.
  let batch: CommitBatch | undefined;
  for (let tries = 0; ; tries++) {
    const reading = (reader: Reader) => (fence && tries === 0 ? rememberingReader(reader, fence.remembered, fence.lease.instance_id) : reader);
    // A refusal of the operation itself (even one worded as a CONFLICT) is answered, never retried.
    let refused: unknown;
    try {
      if (mutation === undefined && adapter.transact) {
        // Read, decide and commit in one transaction of the store.
        mutation = await adapter.transact(async (store) => {
          const reader = storeReader(store);
          const proposed = await attempt(reading(reader)).catch((error: unknown) => {
            refused = error;
            throw error;
          });
          if (proposed.writes.length === 0) return { batch: null, result: proposed };
          checks = await guard.checks(proposed.writes, reader.lease);
          batch = batchOf(context, proposed, checks);
          return { batch, result: proposed };
        }).catch((error: unknown) => {
          // A refusal of the operation itself leaves as it is; anything else is the store's.
          throw error === refused ? error : commitFault(error);
        });
      } else {
        mutation ??= await attempt(reading(context.reader)).catch((error: unknown) => {
          refused = error;
          throw error;
        });
        if (mutation.writes.length === 0) return mutation.result;
        checks = await guard.checks(mutation.writes, context.reader.lease);
        batch = batchOf(context, mutation, checks);
        await adapter.commit(batch).catch((error: unknown) => {
          throw commitFault(error);
        });
      }
    } catch (error) {
      if (error === refused || !InstancePlanError.is(error, 'CONFLICT')) throw error;
      // What a lease holder remembered may be what conflicted: read the store from now on.
      fence?.remembered.clear();
      // A stale lease check the lease still allows commits the same mutation again; any other
      // conflict runs the attempt again on fresh data.
      if (!(await guard.explain(error, checks))) mutation = undefined;
      if (tries < context.retries) {
        // A real collision: wait a random while before the next try (a stale lease check retries at once).
        if (mutation === undefined) await pause(context.backoff, tries);
        continue;
      }
      throw conflictAfterRetries(error, tries + 1);
    }
    if (mutation.writes.length === 0) return mutation.result;
    if (fence) rememberWrites(fence.remembered, fence.lease.instance_id, mutation.writes);
    context.announce(
      deepFreeze({
        records: mutation.writes.map((write) => ({ kind: write.kind, id: write.record.id, version: write.record.version })),
        events: batch?.events ?? mutation.events,
      }),
    );
    return mutation.result;
  }
}

function batchOf(context: ManagerContext, mutation: Mutation<unknown>, leaseChecks: RecordCheck[]): CommitBatch {
  const batch: CommitBatch = { writes: mutation.writes, events: mutation.events };
  const checks = [...leaseChecks, ...(mutation.checks ?? [])];
  if (checks.length > 0) batch.checks = checks;
  return withRetention(batch, context.retention);
}
