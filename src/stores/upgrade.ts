import type { HistoryEvent } from '../adapters/contract';

/**
 * Bringing stored data of an earlier records' shape forward, for the stores that keep records as
 * JavaScript values (a dump, IndexedDB); the SQL stores do the same in SQL (their migrations).
 *
 * Shape 1 (0.1.0) to 2: an instance gains `status_reason`, `max_turns` and `max_tokens`, all null
 * (no reason, no budget), in the record and wherever its history holds a whole record (the
 * creation event, a snapshot), so replay still yields the stored record. Nothing else changes.
 */
export const INSTANCE_FIELDS_OF_SHAPE_2 = { status_reason: null, max_turns: null, max_tokens: null } as const;

/** An instance record of shape 1 as shape 2 (a record that has the fields already is returned as it is). */
export function upgradeInstance<T>(record: T): T {
  if (typeof record !== 'object' || record === null || 'status_reason' in record) return record;
  return withFields(record) as T;
}

/**
 * An event of an instance's history of shape 1 as shape 2: its whole records (the creation's
 * value, a snapshot) gain the fields. An event with nothing to bring forward is returned as it is.
 */
export function upgradeInstanceEvent(event: HistoryEvent): HistoryEvent {
  if (event.record_kind !== 'instance') return event;
  let upgraded = event;
  const created = event.type === 'instance.created' ? event.changes[0] : undefined;
  if (created && created.path.length === 0) {
    const value = upgradeInstance(created.value);
    if (value !== created.value) upgraded = { ...upgraded, changes: [{ ...created, value }, ...event.changes.slice(1)] };
  }
  if (event.snapshot !== undefined) {
    const snapshot = upgradeInstance(event.snapshot);
    if (snapshot !== event.snapshot) upgraded = { ...upgraded, snapshot };
  }
  return upgraded;
}

/** The fields placed after `tokens_total` and `status`, as a new record has them (key order is kept for readers of the JSON). */
function withFields(record: object): object {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    out[key] = value;
    if (key === 'status') out.status_reason = null;
    if (key === 'tokens_total') Object.assign(out, { max_turns: null, max_tokens: null });
  }
  for (const [key, value] of Object.entries(INSTANCE_FIELDS_OF_SHAPE_2)) if (!(key in out)) out[key] = value;
  return out;
}
