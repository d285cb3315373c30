import { cloneJson } from '../clone';
import { conflictError, type CommitBatch, type CommittedChange, type HistoryEvent } from '../contract';
import type { RecordKind, StoredRecord } from '../../schemas/records';
import { storageFault } from './faults';
import { orderKey } from './order-key';
import { EVENT_STORE, RECORD_STORES, type Database, type RecordRow } from './schema';

interface PreparedWrite {
  kind: RecordKind;
  row: RecordRow;
  expected: number | null;
}

/**
 * Checks a batch and builds its rows before any transaction starts, so a malformed batch is
 * refused with a `TypeError` that says what is wrong, and nothing is opened or written. Also
 * takes the snapshot subscribers will hear, as the batch is now (the caller may reuse objects).
 */
export function prepareBatch(batch: CommitBatch): { writes: PreparedWrite[]; events: HistoryEvent[]; change: CommittedChange } {
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.writes) || !Array.isArray(batch.events)) {
    throw new TypeError('commit: a batch is { writes: RecordWrite[], events: HistoryEvent[] }');
  }
  const seen = new Set<string>();
  const writes = batch.writes.map((write, i): PreparedWrite => {
    const where = `commit: writes[${i}]`;
    if (typeof write !== 'object' || write === null) throw new TypeError(`${where} must be { kind, record, expected_version }`);
    const { kind, record, expected_version: expected } = write;
    if (!Object.hasOwn(RECORD_STORES, kind)) throw new TypeError(`${where}.kind must be "instance" or "plan", got ${JSON.stringify(kind)}`);
    if (typeof record !== 'object' || record === null) throw new TypeError(`${where}.record must be an object`);
    const { id, created_at: createdAt, version } = record as Partial<StoredRecord>;
    if (typeof id !== 'string') throw new TypeError(`${where}.record.id must be a string`);
    if (typeof createdAt !== 'string') throw new TypeError(`${where}.record.created_at must be a string (lists are ordered by it)`);
    if (!Number.isSafeInteger(version)) throw new TypeError(`${where}.record.version must be an integer`);
    if (expected !== null && !Number.isSafeInteger(expected)) throw new TypeError(`${where}.expected_version must be an integer or null`);
    const key = `${kind}\u0000${id}`;
    if (seen.has(key)) throw new TypeError(`a batch writes ${kind} ${JSON.stringify(id)} twice`);
    seen.add(key);
    return { kind, row: { id, order: orderKey(createdAt), record }, expected };
  });
  batch.events.forEach((event, i) => {
    // Events are found again by [record_id, seq]; one without them would be stored but never returned.
    if (typeof event !== 'object' || event === null || typeof event.record_id !== 'string' || !Number.isFinite(event.seq)) {
      throw new TypeError(`commit: events[${i}] needs a string record_id and a numeric seq`);
    }
  });
  const events = batch.events;
  const change: CommittedChange = {
    records: writes.map(({ kind, row }) => ({ kind, id: row.id, version: row.record.version })),
    events: events.map(cloneJson),
  };
  return { writes, events, change };
}

/**
 * Stores a prepared batch in ONE readwrite transaction over every store: reads each record's
 * stored version, refuses the batch on the first mismatch, else puts every row and adds every
 * event, and resolves only when the transaction has committed. Nothing but IndexedDB requests
 * is awaited inside, so the transaction cannot auto-commit halfway. On any failure the
 * transaction is aborted, and the promise rejects only after the abort has settled: when the
 * caller hears "failed", nothing of the batch is stored or will be.
 */
export async function commitBatch(
  db: Database,
  writes: PreparedWrite[],
  events: HistoryEvent[],
  durability: 'default' | 'strict' | 'relaxed',
): Promise<void> {
  const transaction = db.transaction([RECORD_STORES.instance, RECORD_STORES.plan, EVENT_STORE], 'readwrite', { durability });
  const storeOf = (kind: RecordKind) => transaction.objectStore(RECORD_STORES[kind]);
  try {
    // Every read is issued at once; IndexedDB answers them in order within the transaction.
    const stored = await Promise.all(writes.map(({ kind, row }) => storeOf(kind).get(row.id)));
    writes.forEach(({ kind, row, expected }, i) => {
      const actual = stored[i]?.record.version ?? null;
      if (actual !== expected) throw conflictError(kind, row.id, expected, actual);
    });
    const requests: Promise<unknown>[] = [];
    // Handled at once: if a later put throws (a value that cannot be stored), the abort rejects
    // the requests already issued, and that must not surface as an unhandled rejection.
    const issue = (request: Promise<unknown>) => {
      request.catch(() => undefined);
      requests.push(request);
    };
    for (const { kind, row } of writes) issue((storeOf(kind) as unknown as { put(row: RecordRow): Promise<unknown> }).put(row));
    const eventStore = transaction.objectStore(EVENT_STORE);
    for (const event of events) issue(eventStore.add(event));
    await Promise.all([...requests, transaction.done]);
  } catch (error) {
    try {
      transaction.abort();
    } catch {
      // already finished aborting (a failed request aborts it by itself)
    }
    await transaction.done.catch(() => undefined);
    throw storageFault('commit', error, transaction.error);
  }
}
