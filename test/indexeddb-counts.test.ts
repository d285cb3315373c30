// The IndexedDB adapter's counters (schema version 3): a list with no filter or one takes its
// `total` from the `counts` store instead of walking the index, so the counters must equal the
// records after any commits, including batches that fail with CONFLICT or abort after the
// counters were written. Over fake-indexeddb; the conformance suite covers the lists themselves,
// and test/indexeddb-schema.internal.test.ts the counting of a database an older version filled.
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InstancePlanError, type HistoryEvent } from 'instance-plan';
import { type CommitBatch } from 'instance-plan/adapter';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import type { RecordKind } from '../src/schemas/records';
import { at, eventOf, instanceRecord, leaseRecord, planRecord } from '../src/testing/conformance/fixtures';
import { deleteDatabase, freshName } from './support/idb-harness';
import { expectTotalsMatch, KINDS, VALUES, type AnyRecord } from './support/idb-counts';


/** Values for some of a kind's indexed fields (the rest keep the fixture's or the record's). */
const fieldsOf = (kind: RecordKind) =>
  fc.record(Object.fromEntries(Object.entries(VALUES[kind]).map(([field, values]) => [field, fc.constantFrom(...values)])), { requiredKeys: [] });

/** One write of a batch, resolved against the stored records when the batch runs. */
type Fields = Partial<Record<string, string | null>>;
type Op =
  | { type: 'create'; kind: RecordKind; fields: Fields }
  | { type: 'update'; kind: RecordKind; pick: number; fields: Fields }
  | { type: 'stale'; kind: RecordKind; pick: number } // a write over a version that is not stored: CONFLICT
  | { type: 'lease'; pick: number }; // leases are stored records too, and never counted

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KINDS).chain((kind) => fieldsOf(kind).map((fields): Op => ({ type: 'create', kind, fields }))) },
  { weight: 4, arbitrary: fc.constantFrom(...KINDS).chain((kind) => fc.tuple(fc.nat(), fieldsOf(kind)).map(([pick, fields]): Op => ({ type: 'update', kind, pick, fields }))) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KINDS), fc.nat()).map(([kind, pick]): Op => ({ type: 'stale', kind, pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ type: 'lease', pick })) },
);
/** A batch, and whether it is aborted by the browser right after its first counter write. */
const batchArb = fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 4 }), abortAfterCounting: fc.boolean() });


/**
 * Makes the transaction of the next put to the counts store abort while its requests are pending,
 * as the browser does when it gives up on a transaction. Returns whether it fired, and the undo.
 */
function abortAfterNextCountPut(): { fired(): boolean; restore(): void } {
  const original = IDBObjectStore.prototype.put;
  let armed = true;
  let fired = false;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    const request = original.apply(this, args);
    if (armed && this.name === 'counts') {
      armed = false;
      const transaction = this.transaction;
      queueMicrotask(() => {
        // Under load the transaction may already have finished: then nothing was aborted, and
        // the batch is expected to have been stored.
        try {
          transaction.abort();
          fired = true;
        } catch {
          fired = false;
        }
      });
    }
    return request;
  };
  return { fired: () => fired, restore: () => void (IDBObjectStore.prototype.put = original) };
}

describe('IndexedDB counters', () => {

  it('after random commits (some refused with CONFLICT, some aborted after counting), every single-filter and unfiltered total equals the records', async () => {
    // How the batches ended, over all runs: each way must have happened, or the property proved little.
    const outcomes = { stored: 0, conflict: 0, aborted: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 8 }), async (batches) => {
        const name = freshName('counts-property');
        const adapter = indexedDBAdapter({ name });
        // What the database should hold: records by `${kind}:${id}`, their kinds, and lease versions.
        const stored = new Map<string, AnyRecord>();
        const kinds = new Map<string, RecordKind>();
        const leases = new Map<string, number>();
        let serial = 0;
        try {
          for (const { ops, abortAfterCounting } of batches) {
            const next = new Map(stored);
            const nextLeases = new Map(leases);
            const batch: CommitBatch = { writes: [], events: [], checks: [] };
            const events: HistoryEvent[] = [];
            let conflict = false;
            const written = new Set<string>();
            const idsOf = (kind: RecordKind) => [...stored.keys()].filter((key) => kinds.get(key) === kind && !written.has(key));
            for (const op of ops) {
              if (op.type === 'create') {
                serial++;
                const id = `${op.kind}-${serial}`;
                const created_at = at(serial);
                const record = op.kind === 'instance' ? instanceRecord({ id, created_at, ...op.fields } as never) : planRecord({ id, created_at, ...op.fields } as never);
                batch.writes.push({ kind: op.kind, record, expected_version: null });
                events.push(eventOf(op.kind, record, null));
                next.set(`${op.kind}:${id}`, record);
                kinds.set(`${op.kind}:${id}`, op.kind);
                written.add(`${op.kind}:${id}`);
              } else if (op.type === 'update' || op.type === 'stale') {
                const ids = idsOf(op.kind);
                if (ids.length === 0) continue;
                const key = ids[op.pick % ids.length]!;
                const before = stored.get(key)!;
                const record = { ...before, ...(op.type === 'update' ? op.fields : {}), version: before.version + 1 } as AnyRecord;
                // A stale write names a version the record no longer has; the whole batch is refused.
                const expected = op.type === 'update' ? before.version : before.version + 5;
                batch.writes.push({ kind: op.kind, record, expected_version: expected });
                events.push(eventOf(op.kind, record, before.status));
                if (op.type === 'stale') conflict = true;
                next.set(key, record);
                written.add(key);
              } else {
                const ids = idsOf('instance').filter((key) => !written.has(`lease:${key}`));
                if (ids.length === 0) continue;
                const key = ids[op.pick % ids.length]!;
                written.add(`lease:${key}`);
                const id = key.slice('instance:'.length);
                const version = leases.get(id);
                const lease = leaseRecord({ id, version: (version ?? 0) + 1 });
                batch.writes.push({ kind: 'lease', record: lease, expected_version: version ?? null });
                nextLeases.set(id, lease.version);
              }
            }
            if (batch.writes.length === 0) continue;
            batch.events = events;
            const spy = abortAfterCounting ? abortAfterNextCountPut() : undefined;
            let outcome: unknown;
            try {
              outcome = await adapter.commit(batch).then(
                () => 'stored',
                (error: unknown) => error,
              );
            } finally {
              spy?.restore();
            }
            outcomes[conflict ? 'conflict' : spy?.fired() ? 'aborted' : 'stored']++;
            if (conflict) {
              expect(InstancePlanError.is(outcome, 'CONFLICT'), `expected CONFLICT, got ${String(outcome)}`).toBe(true);
            } else if (spy?.fired()) {
              // The counters were being written when the transaction was aborted: nothing of it stays.
              expect(InstancePlanError.is(outcome, 'STORAGE_ERROR'), `expected STORAGE_ERROR, got ${String(outcome)}`).toBe(true);
            } else {
              expect(outcome).toBe('stored');
              for (const [key, record] of next) stored.set(key, record);
              for (const [id, version] of nextLeases) leases.set(id, version);
            }
            await expectTotalsMatch(adapter, stored, kinds);
          }
        } finally {
          await adapter.close();
          await deleteDatabase(name);
        }
      }),
      { numRuns: 25 },
    );
    expect(outcomes.stored).toBeGreaterThan(0);
    expect(outcomes.conflict).toBeGreaterThan(0);
    expect(outcomes.aborted).toBeGreaterThan(0);
  });
});
