import { checkBatch } from './batch';
import { pageOfEvents } from './history-page';
import {
  checkListQuery,
  conflictError,
  INDEXED_FIELDS,
  type CommitBatch,
  type CommittedChange,
  type HistoryEvent,
  type ListQuery,
  type ListResult,
  type StorageAdapter,
  type StoredKind,
  type StoredOfKind,
} from './contract';
import { deepFreeze, frozenCopy } from './freeze';
import { createListIndex } from './memory-index';
import { instanceInScope, planInScopeWith } from './in-scope';
import type { Instance, Plan, RecordKind, RecordOfKind, StoredRecord } from '../schemas/records';

/**
 * The embedded default store: records and history in `Map`s (ids such as "__proto__" are
 * ordinary keys). Records are stored and handed out deeply frozen and never copied on the way
 * out, so a caller can hold what is stored but never change it. A frozen record or event given
 * to `commit` is kept as it is (a manager's always are: they cost nothing to store, whatever
 * their size; a frozen object is taken as frozen all the way down); any other is copied, then
 * frozen, so the caller's own objects stay theirs.
 * Lists read a sorted index (see memory-index.ts), so a filtered page costs the same in a large
 * store as a small one. A commit checks every expected version (and every check) before it
 * writes anything, so a batch lands whole or not at all.
 * Managers sharing one memory adapter hear each other's commits through `subscribe`.
 *
 * @example
 * const manager = new PlanManager({ adapter: memoryAdapter() });
 */
export function memoryAdapter(): StorageAdapter {
  const tables: { [K in StoredKind]: Map<string, StoredOfKind[K]> } = { instance: new Map(), plan: new Map(), lease: new Map() };
  const events = new Map<string, HistoryEvent[]>();
  const listeners = new Set<(change: CommittedChange) => void>();
  // Leases are never listed, so only instances and plans are indexed.
  const indexes = { instance: createListIndex(INDEXED_FIELDS.instance), plan: createListIndex(INDEXED_FIELDS.plan) };

  return {
    async get(kind, id, scope) {
      const record = tables[kind].get(id);
      if (!scope || !record || kind === 'lease') return record;
      if (kind === 'instance') return instanceInScope(scope, record as Instance) ? record : undefined;
      const plan = record as Plan;
      return planInScopeWith(scope, plan, tables.instance.get(plan.instance_id)) ? record : undefined;
    },

    async getPlanWithInstance(planId, scope) {
      const plan = tables.plan.get(planId);
      if (!plan) return undefined;
      const instance = tables.instance.get(plan.instance_id);
      return !scope || planInScopeWith(scope, plan, instance) ? { plan, instance } : undefined;
    },

    async list<K extends RecordKind>(kind: K, query: ListQuery<K>): Promise<ListResult<RecordOfKind[K]>> {
      const table = tables[kind] as Map<string, StoredRecord>;
      const { ids, total } = indexes[kind].query(checkListQuery(kind, query), query.limit, query.offset, (id) => table.get(id) as never);
      return { records: ids.map((id) => table.get(id)) as RecordOfKind[K][], total };
    },

    async commit(batch: CommitBatch) {
      const checks = checkBatch(batch);
      const writes = batch.writes;
      for (const write of writes) {
        const actual = tables[write.kind].get(write.record.id)?.version ?? null;
        if (actual !== write.expected_version) {
          throw conflictError(write.kind, write.record.id, write.expected_version, actual);
        }
      }
      for (const check of checks) {
        const actual = tables[check.kind].get(check.id)?.version ?? null;
        if (actual !== check.expected_version) throw conflictError(check.kind, check.id, check.expected_version, actual);
      }
      // Everything that can fail (a copy meeting a getter that throws) happens before any change.
      const records = writes.map((write) => frozenCopy(write.record));
      const newEvents = Object.freeze(batch.events.map(frozenCopy)) as HistoryEvent[];
      writes.forEach((write, i) => {
        const record = records[i]!;
        const table = tables[write.kind] as Map<string, StoredOfKind[StoredKind]>;
        if (write.kind !== 'lease') {
          const previous = table.get(record.id) as StoredRecord | undefined;
          indexes[write.kind].update(previous as never, record as StoredRecord as never);
        }
        table.set(record.id, record);
      });
      for (const { record_id, before_seq } of batch.prune ?? []) {
        const list = events.get(record_id);
        if (list) events.set(record_id, list.filter((event) => event.seq >= before_seq));
      }
      for (const event of newEvents) {
        const list = events.get(event.record_id);
        if (list) list.push(event);
        else events.set(event.record_id, [event]);
      }
      // A batch of checks only changed nothing: nothing to announce.
      if (listeners.size > 0 && writes.length > 0) {
        // One frozen change for every listener: none can change what another hears.
        const change: CommittedChange = deepFreeze({
          records: records.map((record, i) => ({ kind: writes[i]!.kind, id: record.id, version: record.version })),
          events: newEvents,
        });
        for (const listener of [...listeners]) {
          // A listener's fault must not turn a committed batch into a failed commit.
          try {
            listener(change);
          } catch {
            // ignored: see above
          }
        }
      }
    },

    async history(recordId, page) {
      return Object.freeze(pageOfEvents(events.get(recordId) ?? [], page)) as HistoryEvent[];
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
