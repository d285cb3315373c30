import { cloneJson } from '../clone';
import { conflictError, type CommitBatch, type CommittedChange, type HistoryEvent, type RecordCheck, type StoredKind } from '../contract';
import type { StoredRecord } from '../../schemas/records';
import { storageFault } from './faults';
import { orderKey } from './order-key';
import { countDeltas, movedCount } from './counts';
import { COUNT_STORE, EVENT_STORE, STORES, type CountRow, type Database, type RecordRow } from './schema';

interface PreparedWrite {
  kind: StoredKind;
  row: RecordRow;
  expected: number | null;
}

/**
 * Checks a batch and builds its rows before any transaction starts, so a malformed batch is
 * refused with a `TypeError` that says what is wrong, and nothing is opened or written. Also
 * takes the snapshot subscribers will hear, as the batch is now (the caller may reuse objects).
 */
export function prepareBatch(batch: CommitBatch): { writes: PreparedWrite[]; events: HistoryEvent[]; checks: RecordCheck[]; change: CommittedChange } {
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.writes) || !Array.isArray(batch.events)) {
    throw new TypeError('commit: a batch is { writes: RecordWrite[], events: HistoryEvent[] }');
  }
  const seen = new Set<string>();
  const writes = batch.writes.map((write, i): PreparedWrite => {
    const where = `commit: writes[${i}]`;
    if (typeof write !== 'object' || write === null) throw new TypeError(`${where} must be { kind, record, expected_version }`);
    const { kind, record, expected_version: expected } = write;
    if (!Object.hasOwn(STORES, kind)) throw new TypeError(`${where}.kind must be "instance" or "plan" (records) or "lease", got ${JSON.stringify(kind)}`);
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
  const checks = prepareChecks(batch.checks);
  const events = batch.events;
  const change: CommittedChange = {
    records: writes.map(({ kind, row }) => ({ kind, id: row.id, version: row.record.version })),
    events: events.map(cloneJson),
  };
  return { writes, events, checks, change };
}

/** Checks are optional; each must name a known kind, a string id and an integer (or null) version. */
function prepareChecks(checks: CommitBatch['checks']): RecordCheck[] {
  if (checks === undefined) return [];
  if (!Array.isArray(checks)) throw new TypeError('commit: checks must be an array of { kind, id, expected_version }');
  return checks.map((check, i) => {
    const where = `commit: checks[${i}]`;
    if (typeof check !== 'object' || check === null) throw new TypeError(`${where} must be { kind, id, expected_version }`);
    const { kind, id, expected_version: expected } = check;
    if (!Object.hasOwn(STORES, kind)) throw new TypeError(`${where}.kind must be "instance" or "plan" (records) or "lease", got ${JSON.stringify(kind)}`);
    if (typeof id !== 'string') throw new TypeError(`${where}.id must be a string`);
    if (expected !== null && !Number.isSafeInteger(expected)) throw new TypeError(`${where}.expected_version must be an integer or null`);
    return { kind, id, expected_version: expected };
  });
}

/**
 * Stores a prepared batch in ONE readwrite transaction over every store: reads the stored version
 * of each record written or checked, refuses the batch on the first mismatch, else puts every row,
 * adds every event and moves the counters the rows' indexed fields changed (in the same
 * transaction, so they cannot drift from the records), and resolves only when the transaction has committed. Nothing but IndexedDB requests
 * is awaited inside, so the transaction cannot auto-commit halfway. On any failure the
 * transaction is aborted, and the promise rejects only after the abort has settled: when the
 * caller hears "failed", nothing of the batch is stored or will be.
 */
export async function commitBatch(
  db: Database,
  writes: PreparedWrite[],
  events: HistoryEvent[],
  checks: RecordCheck[],
  durability: 'default' | 'strict' | 'relaxed',
): Promise<void> {
  const transaction = db.transaction([STORES.instance, STORES.plan, STORES.lease, EVENT_STORE, COUNT_STORE], 'readwrite', { durability });
  const storeOf = (kind: StoredKind) => transaction.objectStore(STORES[kind]);
  // Handled from the start: the counter reads below are awaited before `done` is, and an abort
  // in between (the browser's, or a failed put) must not surface as an unhandled rejection.
  transaction.done.catch(() => undefined);
  try {
    // Every read is issued at once; IndexedDB answers them in order within the transaction.
    const expectations = [
      ...writes.map(({ kind, row, expected }) => ({ kind, id: row.id, expected })),
      ...checks.map(({ kind, id, expected_version: expected }) => ({ kind, id, expected })),
    ];
    const stored = await Promise.all(expectations.map(({ kind, id }) => storeOf(kind).get(id)));
    expectations.forEach(({ kind, id, expected }, i) => {
      const actual = (stored[i] as RecordRow | undefined)?.record.version ?? null;
      if (actual !== expected) throw conflictError(kind, id, expected, actual);
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
    // The stored rows were read above for their versions; they also say which counters to move.
    const deltas = countDeltas(writes.map(({ kind, row }, i) => ({ kind, before: (stored[i] as RecordRow | undefined)?.record, after: row.record })));
    if (deltas.length > 0) {
      const counts = transaction.objectStore(COUNT_STORE);
      const current = await Promise.all(deltas.map(({ key }) => counts.get(key)));
      deltas.forEach(({ key, delta }, i) => {
        const row = movedCount(key, current[i] as CountRow | undefined, delta);
        issue(row ? counts.put(row) : counts.delete(key));
      });
    }
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
