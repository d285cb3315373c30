// The IndexedDB adapter's counters (schema version 3): a list with no filter or one takes its
// `total` from the `counts` store instead of walking the index, so the counters must equal the
// records after any commits, including batches that fail with CONFLICT or abort after the
// counters were written, and a database an older version of the code filled must be counted
// when it upgrades. Over fake-indexeddb; the conformance suite covers the lists themselves.
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INDEXED_FIELDS, InstancePlanError, type CommitBatch, type HistoryEvent } from 'instance-plan';
import { indexedDBAdapter, SCHEMA_VERSION, type IndexedDBAdapter } from 'instance-plan/indexeddb';
import { orderKey } from '../src/adapters/indexeddb/order-key';
import { MIGRATIONS } from '../src/adapters/indexeddb/schema';
import type { Instance, Plan, RecordKind } from '../src/schemas/records';
import { at, eventOf, instanceRecord, leaseRecord, planRecord } from '../src/testing/conformance/fixtures';
import { expectCurrentLayout, expectFault, rawOpen } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';

type AnyRecord = Instance | Plan;

/** Few values per field, so filters match several records and values move between them; null is "no entry". */
const VALUES: { [K in RecordKind]: Record<string, (string | null)[]> } = {
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
const KINDS = ['instance', 'plan'] as const;

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

/** Every single-filter and unfiltered total the adapter reports, against a count of the records. */
async function expectTotalsMatch(adapter: IndexedDBAdapter, stored: Map<string, AnyRecord>, kinds: Map<string, RecordKind>) {
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
  it(`is schema version ${SCHEMA_VERSION}, the counters' migration being the last`, () => {
    expect(SCHEMA_VERSION).toBe(3);
    expect(MIGRATIONS).toHaveLength(3);
  });

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

describe('IndexedDB schema version 3: counters of an existing database', () => {
  const instances = [
    instanceRecord({ id: 'instance-1', status: 'running', task_id: 'task-1' }),
    instanceRecord({ id: 'instance-2', status: 'paused', organization_id: 'org-2', created_at: at(1) }),
    instanceRecord({ id: 'instance-3', status: 'running', created_at: at(2) }),
  ];
  const plans = Array.from({ length: 12 }, (_, i) =>
    planRecord({
      id: `plan-${i}`,
      instance_id: `instance-${(i % 3) + 1}`,
      status: i % 4 === 0 ? 'in_progress' : 'pending',
      // every filter field, each held by some plans and not others
      plan_type: i % 5 === 0 ? 'task' : 'objective',
      site_id: i % 2 ? 'site-1' : null,
      user_id: i % 3 ? 'user-1' : null,
      agent_id: i % 4 ? 'agent-1' : null,
      created_at: at(i),
    }),
  );

  /** A database as version `version` of the code left it, holding the records above (and a lease). */
  async function olderDatabase(name: string, version: 1 | 2, extraPlanRows: object[] = []) {
    const db = await rawOpen(name, version, (raw) => {
      for (const migration of MIGRATIONS.slice(0, version)) migration(raw as never, undefined as never);
    });
    const stores = version === 2 ? ['instances', 'plans', 'leases'] : ['instances', 'plans'];
    const write = db.transaction(stores, 'readwrite');
    for (const record of instances) write.objectStore('instances').put({ id: record.id, order: orderKey(record.created_at), record });
    for (const record of plans) write.objectStore('plans').put({ id: record.id, order: orderKey(record.created_at), record });
    for (const row of extraPlanRows) write.objectStore('plans').put(row);
    if (version === 2) write.objectStore('leases').put({ id: 'instance-1', order: orderKey(instances[0]!.created_at), record: leaseRecord({ id: 'instance-1' }) });
    await new Promise<void>((resolve, reject) => {
      write.oncomplete = () => resolve();
      write.onerror = () => reject(write.error);
    });
    expect(Array.from(db.objectStoreNames)).not.toContain('counts');
    db.close();
  }

  for (const version of [1, 2] as const) {
    it(`a version-${version} database is counted on first open: every total is right, and later commits keep it so`, async () => {
      const name = freshName(`counts-upgrade-v${version}`);
      await olderDatabase(name, version);
      const adapter = indexedDBAdapter({ name });
      try {
        const stored = new Map<string, AnyRecord>();
        const kinds = new Map<string, RecordKind>();
        for (const record of instances) [stored.set(`instance:${record.id}`, record), kinds.set(`instance:${record.id}`, 'instance')];
        for (const record of plans) [stored.set(`plan:${record.id}`, record), kinds.set(`plan:${record.id}`, 'plan')];
        await expectTotalsMatch(adapter, stored, kinds);
        expect((await adapter.list('plan', { where: { instance_id: 'instance-1' }, limit: 2, offset: 1 })).records.map((plan) => plan.id)).toEqual(['plan-6', 'plan-3']);

        // A status change moves a plan from one counter to another; the upgraded counters follow.
        const before = plans[0]!;
        const after = { ...before, status: 'completed', version: 2 } as Plan;
        await adapter.commit({ writes: [{ kind: 'plan', record: after, expected_version: 1 }], events: [eventOf('plan', after, before.status)] });
        stored.set('plan:plan-0', after);
        await expectTotalsMatch(adapter, stored, kinds);
        await adapter.close();
        await expectCurrentLayout(name);
      } finally {
        await adapter.close();
        await deleteDatabase(name);
      }
    });
  }

  it('a row the counting step cannot read fails the upgrade as "upgrade_failed"; the database stays at version 2 with its rows', async () => {
    const name = freshName('counts-upgrade-broken');
    // A plans row with no record (no code of ours writes one): counting it throws midway through the cursor.
    await olderDatabase(name, 2, [{ id: 'broken', order: orderKey(at(99)) }]);
    const adapter = indexedDBAdapter({ name });
    try {
      const error = await expectFault(adapter.list('plan', { where: {}, limit: 1, offset: 0 }), 'upgrade_failed');
      expect(error.details).toMatchObject({ code_version: SCHEMA_VERSION });
      const db = await rawOpen(name);
      try {
        expect(db.version).toBe(2);
        expect(Array.from(db.objectStoreNames)).not.toContain('counts');
        const count = db.transaction('plans').objectStore('plans').count();
        expect(await new Promise((resolve) => (count.onsuccess = () => resolve(count.result)))).toBe(plans.length + 1);
      } finally {
        db.close();
      }
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });
});
