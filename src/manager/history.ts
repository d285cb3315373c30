import { applyPatches, enablePatches, type Objectish } from 'immer';
import type { HistoryEvent, HistoryEventType, Patch } from '../adapters/contract';
import type { RecordKind, StoredRecord } from '../schemas/records';
import { deepFreeze } from '../adapters/freeze';

/** Builds the event of one committed change. `seq` is the record's new version. */
export function historyEvent(
  record: StoredRecord,
  kind: RecordKind,
  type: HistoryEventType,
  from: string | null,
  changes: Patch[],
  at: string,
  about: Pick<HistoryEvent, 'step' | 'recovery'> = {},
): HistoryEvent {
  const event: HistoryEvent = { seq: record.version, record_id: record.id, record_kind: kind, at, type, from, to: record.status, changes };
  if (about.step) event.step = about.step;
  if (about.recovery) event.recovery = about.recovery;
  // Frozen as the record is: the store may keep it as it is, and subscribers share it.
  return deepFreeze(event);
}

/** The creation event carries the whole record as one patch, so replay starts from nothing. */
export function creationChanges(record: StoredRecord): Patch[] {
  return [{ op: 'replace', path: [], value: record }];
}

/**
 * Folds a record's history back into the record: from its latest snapshot (a bounded history
 * starts at one), else from nothing, apply each later event's patches in `seq` order. For a
 * record's retained history this yields the stored record.
 *
 * @example
 * const events = await manager.history(plan.id);
 * replay(events) // deep-equals await manager.getPlan(plan.id)
 */
export function replay<T extends StoredRecord = StoredRecord>(events: readonly HistoryEvent[]): T | undefined {
  // Replay needs no manager: a process that only copies or checks stores has none (idempotent).
  enablePatches();
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  let start = 0;
  for (let i = ordered.length - 1; i >= 0; i--) {
    if (ordered[i]!.snapshot !== undefined) {
      start = i;
      break;
    }
  }
  let record: unknown = undefined;
  for (const [i, event] of ordered.entries()) {
    if (i < start) continue;
    record = i === start && event.snapshot !== undefined ? event.snapshot : applyPatches(record as Objectish, event.changes as Parameters<typeof applyPatches>[1]);
  }
  return record as T | undefined;
}
