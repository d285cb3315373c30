import { frozenCopy } from '../freeze';
import { checkBatch } from '../batch';
import { conflictError, type CommitBatch, type CommittedChange, type HistoryEvent, type HistoryPrune, type RecordCheck, type StoredKind } from '../contract';
import type { KeyRanges } from './platform';
import { storageFault } from './faults';
import { orderKey } from './order-key';
import { countDeltas, movedCount } from './counts';
import { COUNT_STORE, EVENT_STORE, HISTORY_INDEX, STORES, type CountRow, type Database, type RecordRow } from './schema';

interface PreparedWrite {
  kind: StoredKind;
  row: RecordRow;
  expected: number | null;
}

/**
 * Checks a batch (`checkBatch`) and builds its rows before any transaction starts, so a malformed
 * batch is refused with a `TypeError` and nothing is opened or written. Also takes the snapshot
 * subscribers will hear, as the batch is now (the caller may reuse objects).
 */
export interface PreparedBatch {
  writes: PreparedWrite[];
  events: HistoryEvent[];
  checks: RecordCheck[];
  prune: HistoryPrune[];
  change: CommittedChange;
}

export function prepareBatch(batch: CommitBatch): PreparedBatch {
  const checks = checkBatch(batch);
  const writes = batch.writes.map(({ kind, record, expected_version: expected }): PreparedWrite => ({
    kind,
    row: { id: record.id, order: orderKey(record.created_at), record },
    expected,
  }));
  const events = batch.events;
  const change: CommittedChange = {
    records: writes.map(({ kind, row }) => ({ kind, id: row.id, version: row.record.version })),
    events: events.map(frozenCopy),
  };
  return { writes, events, checks, prune: batch.prune ?? [], change };
}

/** The one kind of transaction that writes: readwrite over every store. */
export type CommitTransaction = ReturnType<typeof openCommit>;

/** Opens a commit's transaction. Handled from the start: an abort while nothing awaits `done` must not surface as an unhandled rejection. */
export function openCommit(db: Database, durability: 'default' | 'strict' | 'relaxed') {
  const transaction = db.transaction([STORES.instance, STORES.plan, STORES.lease, EVENT_STORE, COUNT_STORE], 'readwrite', { durability });
  transaction.done.catch(() => undefined);
  return transaction;
}

/** Rows read earlier in the same transaction, by `kind` and id (see `rowKey`): their versions need no second read. */
export type KnownRows = Map<string, RecordRow | undefined>;

export const rowKey = (kind: StoredKind, id: string) => `${kind}\u0000${id}`;

/**
 * Stores a prepared batch in ONE readwrite transaction over every store, and resolves only when
 * it has committed: see `writeBatch`. On any failure the transaction is aborted, and the promise
 * rejects only after the abort has settled: when the caller hears "failed", nothing of the batch
 * is stored or will be.
 */
export async function commitBatch(db: Database, prepared: PreparedBatch, ranges: KeyRanges, durability: 'default' | 'strict' | 'relaxed'): Promise<void> {
  const transaction = openCommit(db, durability);
  try {
    await writeBatch(transaction, prepared, ranges);
    await transaction.done;
  } catch (error) {
    throw await aborted(transaction, error);
  }
}

/**
 * Writes a prepared batch inside `transaction`: reads the stored version of each record written
 * or checked (unless `known` has its row, read earlier in the same transaction), refuses the
 * batch on the first mismatch, else puts every row, drops the events the batch prunes, adds every
 * event and moves the counters the rows' indexed fields changed (in the same transaction, so
 * they cannot drift from the records).
 * Nothing but IndexedDB requests is awaited inside, so the transaction cannot auto-commit halfway.
 * Resolves when every request has succeeded; the caller awaits the transaction's `done`.
 */
export async function writeBatch(transaction: CommitTransaction, prepared: PreparedBatch, ranges: KeyRanges, known: KnownRows = new Map()): Promise<void> {
  const { writes, events, checks, prune } = prepared;
  const storeOf = (kind: StoredKind) => transaction.objectStore(STORES[kind]);
  // Every read is issued at once; IndexedDB answers them in order within the transaction.
  const expectations = [
    ...writes.map(({ kind, row, expected }) => ({ kind, id: row.id, expected })),
    ...checks.map(({ kind, id, expected_version: expected }) => ({ kind, id, expected })),
  ];
  const stored = await Promise.all(
    expectations.map(({ kind, id }) => {
      const key = rowKey(kind, id);
      return known.has(key) ? known.get(key) : storeOf(kind).get(id);
    }),
  );
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
  if (prune.length > 0) {
    // Bounded history: the keys of the older events, found through the record's history index.
    const index = eventStore.index(HISTORY_INDEX);
    const dropped = await Promise.all(prune.map(({ record_id, before_seq }) => index.getAllKeys(ranges.bound([record_id, -Infinity], [record_id, before_seq], false, true) as never)));
    for (const key of dropped.flat()) issue(eventStore.delete(key));
  }
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
  await Promise.all(requests);
}

/** Aborts a failed transaction and waits until the abort has settled; returns the error to throw, as `STORAGE_ERROR` unless it is one of ours. */
export async function aborted(transaction: CommitTransaction, error: unknown): Promise<unknown> {
  try {
    transaction.abort();
  } catch {
    // already finished aborting (a failed request aborts it by itself)
  }
  await transaction.done.catch(() => undefined);
  return storageFault('commit', error, transaction.error);
}
