import { conflictError, INDEXED_FIELDS, type CommitBatch, type StoredKind } from '../contract';
import { fault } from './faults';
import { codeUnitKey, representable } from './keys';
import { TABLES } from './schema';

/** The parameters of one `commit_batch` call: items (checks and writes), records and events as text. */
export interface CommitCall {
  items: string;
  records: string[];
  eventIds: string[];
  eventSeqs: number[];
  events: string[];
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
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.writes) || !Array.isArray(batch.events)) {
    throw new TypeError('commit: a batch is { writes: RecordWrite[], events: HistoryEvent[], checks?: RecordCheck[] }');
  }
  const items: Item[] = [];
  const records: string[] = [];
  const seen = new Set<string>();
  batch.writes.forEach((write, i) => {
    const where = `commit: writes[${i}]`;
    if (typeof write !== 'object' || write === null) throw new TypeError(`${where} must be { kind, record, expected_version }`);
    const { kind, record, expected_version: expected } = write;
    checkKind(kind, where);
    if (typeof record !== 'object' || record === null) throw new TypeError(`${where}.record must be an object`);
    const { id, created_at: createdAt, version } = record as { id?: unknown; created_at?: unknown; version?: unknown };
    if (typeof id !== 'string') throw new TypeError(`${where}.record.id must be a string`);
    if (typeof createdAt !== 'string') throw new TypeError(`${where}.record.created_at must be a string (lists are ordered by it)`);
    if (!Number.isSafeInteger(version)) throw new TypeError(`${where}.record.version must be an integer`);
    checkExpected(expected, where);
    const key = `${kind}\u0000${id}`;
    if (seen.has(key)) throw new TypeError(`a batch writes ${kind} ${JSON.stringify(id)} twice`);
    seen.add(key);
    const item: Item = { op: 'write', kind, id: keyText(id, `${where}.record.id`), expected, version: version as number, slot: records.length + 1 };
    if (kind === 'lease') {
      const { owner, token, expires_at: expiresAt } = record as { owner?: unknown; token?: unknown; expires_at?: unknown };
      item.owner = owner === null ? null : keyText(owner, `${where}.record.owner`);
      if (!Number.isSafeInteger(token)) throw new TypeError(`${where}.record.token must be an integer`);
      item.token = token as number;
      item.expires_at = keyText(expiresAt, `${where}.record.expires_at`);
    } else {
      item.id_key = codeUnitKey(id);
      item.created_key = codeUnitKey(createdAt);
      for (const field of INDEXED_FIELDS[kind]) {
        const value = (record as unknown as Record<string, unknown>)[field];
        // Filters are strings: a field that is not one (null) matches no filter.
        item[field] = typeof value === 'string' ? keyText(value, `${where}.record.${field}`) : null;
      }
    }
    items.push(item);
    records.push(JSON.stringify(record));
  });
  const checks = batch.checks ?? [];
  if (!Array.isArray(checks)) throw new TypeError('commit: checks must be an array of { kind, id, expected_version }');
  checks.forEach((check, i) => {
    const where = `commit: checks[${i}]`;
    if (typeof check !== 'object' || check === null) throw new TypeError(`${where} must be { kind, id, expected_version }`);
    checkKind(check.kind, where);
    if (typeof check.id !== 'string') throw new TypeError(`${where}.id must be a string`);
    checkExpected(check.expected_version, where);
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
    const where = `commit: events[${i}]`;
    // Events are found again by record_id and ordered by seq; one without them would be lost.
    if (typeof event !== 'object' || event === null || typeof event.record_id !== 'string' || !Number.isSafeInteger(event.seq)) {
      throw new TypeError(`${where} needs a string record_id and an integer seq`);
    }
    eventIds.push(keyText(event.record_id, `${where}.record_id`));
    eventSeqs.push(event.seq);
    return JSON.stringify(event);
  });
  return { items: JSON.stringify(items), records, eventIds, eventSeqs, events };
}

/** The statement that runs a prepared commit. */
export const commitStatement = (s: string) => `SELECT ${s}.commit_batch($1::json, $2::text[], $3::text[], $4::bigint[], $5::text[])`;

export const commitParams = (call: CommitCall): unknown[] => [call.items, call.records, call.eventIds, call.eventSeqs, call.events];

/** The CONFLICT the function raised (SQLSTATE IP409, the versions in its detail), or undefined for any other error. */
export function conflictOf(error: unknown) {
  const { code, detail } = (error ?? {}) as { code?: unknown; detail?: unknown };
  if (code !== 'IP409' || typeof detail !== 'string') return undefined;
  const { kind, id, expected, actual } = JSON.parse(detail) as { kind: StoredKind; id: string; expected: number | null; actual: number | null };
  return conflictError(kind, id, expected === null ? null : Number(expected), actual === null ? null : Number(actual));
}

function checkKind(kind: unknown, where: string): asserts kind is StoredKind {
  if (!Object.hasOwn(TABLES, kind as string)) throw new TypeError(`${where}.kind must be "instance" or "plan" (records) or "lease", got ${JSON.stringify(kind)}`);
}

function checkExpected(expected: unknown, where: string): void {
  if (expected !== null && !Number.isSafeInteger(expected)) throw new TypeError(`${where}.expected_version must be an integer or null`);
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
