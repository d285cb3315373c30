// Shared by the IndexedDB counter tests: a few values per indexed field, and a check that every
// total the adapter reports equals a count of the records.
import { expect } from 'vitest';
import { INDEXED_FIELDS } from 'instance-plan/adapter';
import type { IndexedDBAdapter } from 'instance-plan/indexeddb';
import type { Instance, Plan, RecordKind } from '../../src/schemas/records';

export type AnyRecord = Instance | Plan;

/** Few values per field, so filters match several records and values move between them; null is "no entry". */
export const VALUES: { [K in RecordKind]: Record<string, (string | null)[]> } = {
  instance: { organization_id: ['org-1', 'org-2'], status: ['running', 'paused', 'completed'], agent_type_id: ['researcher', 'writer'], task_id: [null, 'task-1', 'task-2'] },
  plan: {
    instance_id: ['instance-1', 'instance-2', 'instance-3'],
    status: ['pending', 'in_progress', 'completed'],
    plan_type: ['objective', 'task'],
    site_id: [null, 'site-1', 'site-2'],
    user_id: [null, 'user-1'],
    agent_id: [null, 'agent-1', 'agent-2'],
  },
};
export const KINDS = ['instance', 'plan'] as const;

/** Every single-filter and unfiltered total the adapter reports, against a count of the records. */
export async function expectTotalsMatch(adapter: IndexedDBAdapter, stored: Map<string, AnyRecord>, kinds: Map<string, RecordKind>) {
  for (const kind of KINDS) {
    const records = [...stored.entries()].filter(([key]) => kinds.get(key) === kind).map(([, record]) => record as unknown as Record<string, unknown>);
    const queries: [Record<string, string>, number][] = [[{}, records.length]];
    for (const field of INDEXED_FIELDS[kind]) {
      // Every value a record may hold, and one none does (its counter has no row: 0).
      for (const value of [...VALUES[kind][field]!, 'absent'].filter((value): value is string => value !== null)) {
        queries.push([{ [field]: value }, records.filter((record) => record[field] === value).length]);
      }
    }
    for (const [where, expected] of queries) {
      const { total } = await adapter.list(kind, { where, limit: 0, offset: 0 });
      expect(total, `${kind} total where ${JSON.stringify(where)}`).toBe(expected);
    }
  }
}
