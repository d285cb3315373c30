import { cloneJson } from './clone';
import {
  compareNewestFirst,
  conflictError,
  type CommitBatch,
  type CommittedChange,
  type HistoryEvent,
  type ListQuery,
  type ListResult,
  type StorageAdapter,
} from './contract';
import type { RecordKind, RecordOfKind, StoredRecord } from '../schemas/records';

/**
 * The embedded default store: records and history in `Map`s (ids such as "__proto__" are
 * ordinary keys), copied in and out so callers never hold stored objects. A commit checks
 * every expected version before it writes anything, so a batch lands whole or not at all.
 * Managers sharing one memory adapter hear each other's commits through `subscribe`.
 *
 * @example
 * const manager = new PlanManager({ adapter: memoryAdapter() });
 */
export function memoryAdapter(): StorageAdapter {
  const tables: { [K in RecordKind]: Map<string, RecordOfKind[K]> } = { instance: new Map(), plan: new Map() };
  const events = new Map<string, HistoryEvent[]>();
  const listeners = new Set<(change: CommittedChange) => void>();

  return {
    async get(kind, id) {
      const record = tables[kind].get(id);
      return record === undefined ? undefined : cloneJson(record);
    },

    async list<K extends RecordKind>(kind: K, query: ListQuery<K>): Promise<ListResult<RecordOfKind[K]>> {
      const filters = Object.entries(query.where).filter(([, value]) => value !== undefined);
      const matches: StoredRecord[] = [];
      for (const record of tables[kind].values()) {
        if (filters.every(([field, value]) => (record as unknown as Record<string, unknown>)[field] === value)) {
          matches.push(record);
        }
      }
      matches.sort(compareNewestFirst);
      const page = matches.slice(query.offset, query.offset + query.limit);
      return { records: page.map(cloneJson) as RecordOfKind[K][], total: matches.length };
    },

    async commit(batch: CommitBatch) {
      const writes = batch.writes.map((write) => ({ ...write, record: cloneJson(write.record) }));
      const seen = new Set<string>();
      for (const write of writes) {
        const key = `${write.kind}\u0000${write.record.id}`;
        if (seen.has(key)) throw new TypeError(`a batch writes ${write.kind} ${JSON.stringify(write.record.id)} twice`);
        seen.add(key);
        const actual = tables[write.kind].get(write.record.id)?.version ?? null;
        if (actual !== write.expected_version) {
          throw conflictError(write.kind, write.record.id, write.expected_version, actual);
        }
      }
      const newEvents = batch.events.map(cloneJson);
      for (const write of writes) (tables[write.kind] as Map<string, StoredRecord>).set(write.record.id, write.record);
      for (const event of newEvents) {
        const list = events.get(event.record_id);
        if (list) list.push(event);
        else events.set(event.record_id, [event]);
      }
      if (listeners.size > 0) {
        // A listener's fault must not turn a committed batch into a failed commit.
        const change: CommittedChange = {
          records: writes.map((w) => ({ kind: w.kind, id: w.record.id, version: w.record.version })),
          events: newEvents,
        };
        for (const listener of listeners) {
          try {
            listener(cloneJson(change));
          } catch {
            // ignored: see above
          }
        }
      }
    },

    async history(recordId) {
      return (events.get(recordId) ?? []).map(cloneJson);
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
