import { applyPatches, enablePatches, type Objectish } from 'immer';
import type { HistoryEvent, StorageAdapter } from '../../src/adapters/contract';
import { replay } from '../../src/manager/history';
import type { Instance, Plan, StoredRecord } from '../../src/schemas/records';
import type { DesignTables } from './design-tables';

enablePatches();

export interface Violation {
  rule: string;
  kind: 'instance' | 'plan';
  id: string;
  message: string;
}

const TERMINAL_INSTANCE = (tables: DesignTables, status: string) => tables.instance.get(status)?.length === 0;

/**
 * Every violation of DESIGN.md's invariants 1-4 in the store: each record is checked with its
 * whole history (every intermediate state is rebuilt by replaying the events).
 */
export async function checkStore(adapter: StorageAdapter, tables: DesignTables): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const kind of ['instance', 'plan'] as const) {
    const { records } = await adapter.list(kind, { where: {}, limit: Number.MAX_SAFE_INTEGER, offset: 0 });
    for (const record of records) {
      violations.push(...checkRecord(kind, record, await adapter.history(record.id), tables));
    }
  }
  return violations;
}

export function checkRecord(kind: 'instance' | 'plan', record: StoredRecord, events: HistoryEvent[], tables: DesignTables): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: string, message: string) => violations.push({ rule, kind, id: record.id, message });

  // Invariant 4: versions grow by exactly one per change; the history replays to the record.
  events.forEach((event, index) => {
    if (event.seq !== index + 1) fail('4', `event ${index} has seq ${event.seq}, expected ${index + 1}`);
  });
  if (record.version !== events.length) fail('4', `version ${record.version} but ${events.length} events`);
  if (JSON.stringify(sortKeys(replay(events))) !== JSON.stringify(sortKeys(record))) fail('4', 'replaying the history does not yield the stored record');

  // Every intermediate state, to check invariants 1-3 along the way, not only at the end.
  const states: StoredRecord[] = [];
  let state: unknown;
  for (const event of events) {
    state = applyPatches(state as Objectish, event.changes as never);
    states.push(structuredClone(state) as StoredRecord);
  }

  const table = kind === 'instance' ? tables.instance : tables.plan;
  for (let i = 1; i < states.length; i++) {
    const before = states[i - 1]!;
    const after = states[i]!;
    if (before.status !== after.status && !table.get(before.status)?.includes(after.status)) {
      fail('1', `status moved ${before.status} -> ${after.status}, not an edge of the table`);
    }
    if (table.get(before.status)?.length === 0) fail('1', `terminal status ${before.status} changed (event ${i + 1})`);
    if (kind === 'instance') {
      const [b, a] = [before as Instance, after as Instance];
      if (a.turn_count < b.turn_count || a.tokens_total < b.tokens_total) fail('2', `counters decreased at event ${i + 1}`);
      if (b.started_at !== null && a.started_at !== b.started_at) fail('2', 'started_at changed after it was set');
    } else {
      const [b, a] = [before as Plan, after as Plan];
      b.steps.forEach((step, index) => {
        const next = a.steps[index];
        if (!next || next.id !== step.id) return fail('3', `step ${step.id} was removed or moved`);
        if (next.status !== step.status && !tables.step.get(step.status)?.includes(next.status)) {
          fail('1', `step ${step.id} moved ${step.status} -> ${next.status}, not an edge of the table`);
        }
        if (next.attempts < step.attempts) fail('2', `step ${step.id} attempts decreased`);
      });
    }
  }

  let everRunning = false;
  for (const snapshot of states) {
    if (kind === 'instance') {
      const instance = snapshot as Instance;
      everRunning ||= instance.status === 'running';
      const terminal = TERMINAL_INSTANCE(tables, instance.status);
      if ((instance.ended_at !== null) !== terminal) fail('2', `ended_at ${instance.ended_at} while ${instance.status}`);
      if (instance.needs_input !== (instance.status === 'waiting')) fail('2', `needs_input ${instance.needs_input} while ${instance.status}`);
      if ((instance.started_at !== null) !== everRunning) fail('2', `started_at ${instance.started_at}, ever running: ${everRunning}`);
    } else {
      const plan = snapshot as Plan;
      if (plan.status === 'completed') {
        if (!plan.steps.every((step) => step.status === 'completed')) fail('3', 'completed plan with a step not completed');
        if (!plan.summary || plan.summary.trim() === '') fail('3', 'completed plan without a summary');
      }
      if (plan.ordering === 'strict') {
        plan.steps.forEach((step, index) => {
          if (step.status !== 'in_progress' && step.status !== 'completed') return;
          const blocking = plan.steps.slice(0, index).find((earlier) => earlier.status !== 'completed');
          if (blocking) fail('3', `step ${step.id} is ${step.status} while earlier step ${blocking.id} is ${blocking.status}`);
        });
      }
    }
  }
  return violations;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
}
