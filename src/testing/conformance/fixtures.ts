/**
 * Records and batches for the suite, built by hand (not by a manager) so every field is known.
 * Events follow the manager's conventions (`seq` is the record's new version, the creation
 * event holds the whole record), though an adapter stores them as opaque data either way.
 */
import type { CommitBatch, HistoryEvent, HistoryEventType } from '../../adapters/contract';
import type { Instance, Lease, Plan, RecordKind, RecordOfKind, Step } from '../../schemas/records';

export const T0 = '2025-03-01T09:00:00.000Z';

/** An ISO timestamp `minutes` after T0. */
export const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

export function instanceRecord(fields: Partial<Instance> & { id: string }): Instance {
  return {
    organization_id: 'org-1',
    agent_type_id: 'researcher',
    task_id: null,
    status: 'running',
    status_reason: null,
    created_at: T0,
    updated_at: T0,
    started_at: T0,
    ended_at: null,
    turn_count: 3,
    tokens_total: 1200,
    max_turns: null,
    max_tokens: 100_000,
    needs_input: false,
    current_step: 'Read the sources',
    last_action_at: T0,
    session_id: 'session-1',
    version: 1,
    ...fields,
  };
}

export function stepRecord(fields: Partial<Step> & { id: string }): Step {
  return {
    title: 'Search the web',
    type: 'tool_call',
    description: null,
    status: 'pending',
    output: null,
    attempts: 0,
    started_at: null,
    completed_at: null,
    details: {},
    ...fields,
  };
}

export function planRecord(fields: Partial<Plan> & { id: string }): Plan {
  return {
    instance_id: 'instance-1',
    site_id: null,
    user_id: null,
    agent_id: null,
    title: 'Write the report',
    description: null,
    plan_type: 'objective',
    ordering: 'strict',
    status: 'pending',
    steps: [stepRecord({ id: 'step-1' }), stepRecord({ id: 'step-2', title: 'Summarise', type: 'process' })],
    summary: null,
    created_at: T0,
    updated_at: T0,
    version: 1,
    ...fields,
  };
}

/** A lease as the manager stores it: one per instance, under the instance's id, no history. */
export function leaseRecord(fields: Partial<Lease> & { id: string }): Lease {
  return {
    instance_id: fields.id,
    owner: 'worker-a',
    token: 1,
    ttl_ms: 30_000,
    expires_at: at(0.5),
    created_at: T0,
    updated_at: T0,
    version: 1,
    ...fields,
  };
}

export type Entry = { [K in RecordKind]: [K, RecordOfKind[K]] }[RecordKind];

export function eventOf(kind: RecordKind, record: Instance | Plan, from: string | null): HistoryEvent {
  const type: HistoryEventType = from === null ? `${kind}.created` : kind === 'plan' ? 'plan.updated' : 'instance.transitioned';
  return {
    seq: record.version,
    record_id: record.id,
    record_kind: kind,
    at: record.updated_at,
    type,
    from,
    to: record.status,
    changes: from === null ? [{ op: 'replace', path: [], value: record }] : [{ op: 'replace', path: ['version'], value: record.version }],
  };
}

/** A batch creating every record given (each must not exist yet), with its creation event. */
export function createBatch(...entries: Entry[]): CommitBatch {
  return {
    writes: entries.map(([kind, record]) => ({ kind, record, expected_version: null })),
    events: entries.map(([kind, record]) => eventOf(kind, record, null)),
  };
}

/** The next version of `record` with `changes`, and the batch that stores it over the version it has. */
export function updateOf<K extends RecordKind>(
  kind: K,
  record: RecordOfKind[K],
  changes: Partial<RecordOfKind[K]> = {},
): { record: RecordOfKind[K]; batch: CommitBatch } {
  const next = { ...record, ...changes, version: record.version + 1 } as RecordOfKind[K];
  return {
    record: next,
    batch: { writes: [{ kind, record: next, expected_version: record.version }], events: [eventOf(kind, next, record.status)] },
  };
}

/** Strings that break naive stores: escapes, NUL, non-Latin scripts, astral characters. */
export const AWKWARD_TEXT = 'quote " backslash \\ tab \t newline \n nul \u0000 naïve 日本語 עברית 😀👍🏽 end';
