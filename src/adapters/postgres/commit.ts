import { checkBatch } from '../batch';
import { conflictError, INDEXED_FIELDS, type CommitBatch, type StoredKind } from '../contract';
import type { Lease } from '../../schemas/records';
import { fault } from './faults';
import { codeUnitKey, representable } from '../text-keys';

/** The parameters of one `commit_batch` call: items (checks and writes), records and events as text. */
export interface CommitCall {
  items: string;
  records: string[];
  eventIds: string[];
  eventSeqs: number[];
  events: string[];
  /** Bounded history: per record, the seq below which its events are dropped. */
  pruneIds: string[];
  pruneBefore: number[];
}

type Item = Record<string, string | number | null>;

const KIND_ORDER: Record<StoredKind, number> = { instance: 0, lease: 1, plan: 2 };

/**
 * Checks a batch and turns it into the function's parameters before anything is sent, so a
 * malformed batch is refused with a `TypeError` saying what is wrong, a key PostgreSQL cannot
 * hold with `STORAGE_ERROR` (`unrepresentable`), and in both cases nothing is written.
 * Records and events are serialised here, once: a record that cannot be serialised fails here too.
 */
export function prepareCommit(batch: CommitBatch): CommitCall {
  const checks = checkBatch(batch);
  const items: Item[] = [];
  const records: string[] = [];
  batch.writes.forEach(({ kind, record, expected_version: expected }, i) => {
    const where = `commit: writes[${i}]`;
    const item: Item = { op: 'write', kind, id: keyText(record.id, `${where}.record.id`), expected, version: record.version, slot: records.length + 1 };
    if (kind === 'lease') {
      const { owner, token, expires_at: expiresAt } = record as Lease;
      item.owner = owner === null ? null : keyText(owner, `${where}.record.owner`);
      if (!Number.isSafeInteger(token)) throw new TypeError(`${where}.record.token must be an integer`);
      item.token = token;
      item.expires_at = keyText(expiresAt, `${where}.record.expires_at`);
    } else {
      item.id_key = codeUnitKey(record.id);
      item.created_key = codeUnitKey(record.created_at);
      for (const field of INDEXED_FIELDS[kind]) {
        const value = (record as unknown as Record<string, unknown>)[field];
        // Filters are strings: a field that is not one (null) matches no filter.
        item[field] = typeof value === 'string' ? keyText(value, `${where}.record.${field}`) : null;
      }
    }
    items.push(item);
    records.push(JSON.stringify(record));
  });
  checks.forEach((check) => {
    if (!representable(check.id)) {
      // No such record can be stored, so the check holds exactly when it expects none.
      if (check.expected_version !== null) throw conflictError(check.kind, check.id, check.expected_version, null);
      return;
    }
    items.push({ op: 'check', kind: check.kind, id: check.id, expected: check.expected_version });
  });
  // One locking order for every commit: by kind, then id (code units), a check before a write.
  items.sort((a, b) => {
    const kinds = KIND_ORDER[a.kind as StoredKind] - KIND_ORDER[b.kind as StoredKind];
    if (kinds !== 0) return kinds;
    if (a.id !== b.id) return (a.id as string) < (b.id as string) ? -1 : 1;
    return a.op === b.op ? 0 : a.op === 'check' ? -1 : 1;
  });
  const eventIds: string[] = [];
  const eventSeqs: number[] = [];
  const events = batch.events.map((event, i) => {
    eventIds.push(keyText(event.record_id, `commit: events[${i}].record_id`));
    eventSeqs.push(event.seq);
    return JSON.stringify(event);
  });
  // A record id PostgreSQL cannot hold has no events to drop.
  const prune = (batch.prune ?? []).filter(({ record_id }) => representable(record_id));
  return { items: JSON.stringify(items), records, eventIds, eventSeqs, events, pruneIds: prune.map((p) => p.record_id), pruneBefore: prune.map((p) => p.before_seq) };
}

/** The statement that runs a prepared commit. */
export const commitStatement = (s: string) => `SELECT ${s}.commit_batch($1::json, $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])`;

export const commitParams = (call: CommitCall): unknown[] => [call.items, call.records, call.eventIds, call.eventSeqs, call.events, call.pruneIds, call.pruneBefore];

/** The CONFLICT the function raised (SQLSTATE IP409, the versions in its detail), or undefined for any other error. */
export function conflictOf(error: unknown) {
  const { code, detail } = (error ?? {}) as { code?: unknown; detail?: unknown };
  if (code !== 'IP409' || typeof detail !== 'string') return undefined;
  const { kind, id, expected, actual } = JSON.parse(detail) as { kind: StoredKind; id: string; expected: number | null; actual: number | null };
  return conflictError(kind, id, expected === null ? null : Number(expected), actual === null ? null : Number(actual));
}

/** A string bound for a `text` key column: refused (nothing written) when PostgreSQL cannot hold it exactly. */
function keyText(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new TypeError(`${where} must be a string`);
  if (!representable(value)) {
    throw fault('unrepresentable', `PostgreSQL cannot store ${where} ${JSON.stringify(value)}: a text column cannot hold U+0000 nor unpaired surrogates. Nothing was written; use an id without them.`, undefined, {
      field: where.replace(/^commit: /, ''),
    });
  }
  return value;
}
