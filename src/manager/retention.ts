import type { CommitBatch, HistoryEvent, HistoryPrune, RecordWrite } from '../adapters/contract';
import { deepFreeze } from '../adapters/freeze';
import type { StoredRecord } from '../schemas/records';

/**
 * Bounded history. With `retention: { events: n }` a record keeps its history in windows of `n`
 * events: every n-th change (seq 1 + n, 1 + 2n, ...) writes its event with a `snapshot` of the
 * whole record, and in the same commit drops the events before the previous snapshot. So a
 * record keeps at least its last `n` events and at most `2n`, the oldest kept one is a snapshot
 * (or the creation), and replay from it yields the stored record. `'all'` keeps everything.
 */
export type Retention = 'all' | { events: number };

/** Checks the option as the constructor is given it; answers the window (null: keep all). */
export function resolveRetention(retention: unknown = 'all'): number | null {
  if (retention === 'all') return null;
  const events = (retention as { events?: unknown } | null)?.events;
  if (typeof retention !== 'object' || retention === null || Object.keys(retention).some((key) => key !== 'events') || !Number.isSafeInteger(events) || (events as number) < 1) {
    throw new TypeError(`retention must be "all" or { events: n } with n a whole number of at least 1, got ${JSON.stringify(retention)}`);
  }
  return events as number;
}

/** The batch as `window` asks: the events that start a window carry their record, and the windows before the last are dropped. */
export function withRetention(batch: CommitBatch, window: number | null): CommitBatch {
  if (window === null) return batch;
  const prune: HistoryPrune[] = [];
  let events: HistoryEvent[] | undefined;
  batch.events.forEach((event, i) => {
    if (event.seq === 1 || (event.seq - 1) % window !== 0) return;
    const record = recordOf(batch.writes, event);
    if (!record) return;
    events ??= [...batch.events];
    events[i] = deepFreeze({ ...event, snapshot: record });
    // The previous window starts at seq - window: everything before it goes.
    if (event.seq - window > 1) prune.push({ record_id: event.record_id, before_seq: event.seq - window });
  });
  if (!events) return batch;
  return prune.length > 0 ? { ...batch, events, prune } : { ...batch, events };
}

function recordOf(writes: readonly RecordWrite[], event: HistoryEvent): StoredRecord | undefined {
  const write = writes.find((w) => w.kind === event.record_kind && w.record.id === event.record_id);
  return write?.record as StoredRecord | undefined;
}
