import { compareNewestFirst, INDEXED_FIELDS, type ListQuery, type StorageAdapter } from '../../adapters/contract';
import type { Instance, Plan, RecordKind, RecordOfKind } from '../../schemas/records';
import { check, checkEqual } from './assert';
import { at, createBatch, instanceRecord, planRecord, T0, type Entry } from './fixtures';
import type { Harness } from './harness';

// Ids and timestamps chosen to catch a store that sorts by anything but UTF-16 code units, or
// breaks ties otherwise than by id: case, digits, accents, astral characters, prefixes.
const IDS = ['a', 'B', 'b', 'ä', '10', '9', 'Z', '_x', 'z-1', 'z-10', 'z-2', '😀', 'ÿ', 'a a', '~', 'constructor', 'ﬀ', 'A'];
const CREATED = [T0, at(1), at(1), '2025-03-01', '2025-03-01T09:00:00Z', at(-60), T0];

const pick = <T>(values: readonly T[], n: number) => values[n % values.length]!;

function instances(): Instance[] {
  return IDS.slice(0, 16).map((id, i) =>
    instanceRecord({
      id,
      organization_id: pick(['org-a', 'org-b', '__proto__'], i),
      status: pick(['starting', 'running', 'waiting', 'paused', 'completed', 'error', 'stopped'] as const, i),
      agent_type_id: pick(['researcher', 'writer'], i >> 1),
      task_id: pick([null, 'task-1', 'task-2', null], i),
      created_at: pick(CREATED, i),
    }),
  );
}

function plans(): Plan[] {
  return IDS.map((id, i) =>
    planRecord({
      id,
      instance_id: pick(['instance-1', 'instance-2', '__proto__'], i),
      status: pick(['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'paused'] as const, i >> 1),
      plan_type: pick(['objective', 'task'] as const, i >> 2),
      site_id: pick([null, 'site-1', 'site-2'], i >> 1),
      user_id: pick([null, 'user-1'], i),
      agent_id: pick([null, 'agent-1', 'agent-2', 'agent-1'], i * 7),
      created_at: pick(CREATED, i + 3),
    }),
  );
}

/** What `list` must answer, computed from the records themselves (the contract's definition). */
function expectedPage<K extends RecordKind>(records: RecordOfKind[K][], query: ListQuery<K>) {
  const matches = records
    .filter((record) => Object.entries(query.where).every(([field, value]) => (record as unknown as Record<string, unknown>)[field] === value))
    .sort(compareNewestFirst);
  return { records: matches.slice(query.offset, query.offset + query.limit), total: matches.length };
}

/** Every field alone (each value held, one held by nobody, and "null"), every pair, and every record's full set. */
function filterQueries<K extends RecordKind>(kind: K, records: RecordOfKind[K][]): ListQuery<K>['where'][] {
  const fields = INDEXED_FIELDS[kind] as readonly string[];
  const value = (record: RecordOfKind[K], field: string): string | null => (record as unknown as Record<string, string | null>)[field] ?? null;
  const queries: Record<string, string>[] = [{}];
  for (const field of fields) {
    const held = new Set(records.map((record) => value(record, field)).filter((v) => v !== null));
    for (const v of [...held, 'held-by-nobody', 'null']) queries.push({ [field]: v });
  }
  for (const [i, first] of fields.entries()) {
    for (const second of fields.slice(i + 1)) {
      records.forEach((record, n) => {
        const crossed = records[(n + 1) % records.length]!;
        for (const [a, b] of [[value(record, first), value(record, second)], [value(record, first), value(crossed, second)]] as const) {
          if (a !== null && b !== null) queries.push({ [first]: a, [second]: b });
        }
      });
    }
  }
  for (const record of records) {
    queries.push(Object.fromEntries(fields.map((field) => [field, value(record, field)]).filter(([, v]) => v !== null)));
  }
  const unique = new Map(queries.map((query) => [JSON.stringify(Object.entries(query).sort()), query]));
  return [...unique.values()] as ListQuery<K>['where'][];
}

async function store(adapter: StorageAdapter, entries: Entry[]) {
  // Several batches, so a store cannot pass by keeping one batch's insertion order.
  for (let i = 0; i < entries.length; i += 5) await adapter.commit(createBatch(...entries.slice(i, i + 5)));
}

async function checkAllFilters<K extends RecordKind>(adapter: StorageAdapter, kind: K, records: RecordOfKind[K][]) {
  let matched = 0;
  for (const where of filterQueries(kind, records)) {
    const query = { where, limit: 100, offset: 0 };
    const expected = expectedPage(records, query);
    checkEqual(await adapter.list(kind, query), expected, `list(${kind}, ${JSON.stringify(where)})`);
    if (expected.total > 0 && Object.keys(where).length > 1) matched++;
  }
  check(matched > 5, 'the suite\'s own data must make several combined filters match');
}

export function lists(h: Harness): void {
  h.describe('list', () => {
    h.it('filters instances by every indexed field, alone and together', async ({ adapter }) => {
      const records = instances();
      await store(adapter, records.map((record): Entry => ['instance', record]));
      await checkAllFilters(adapter, 'instance', records);
    });

    h.it('filters plans by every indexed field, alone and together', async ({ adapter }) => {
      const records = plans();
      await store(adapter, records.map((record): Entry => ['plan', record]));
      await checkAllFilters(adapter, 'plan', records);
    });

    h.it('orders newest first, ties by id, both by UTF-16 code units', async ({ adapter }) => {
      const created = ['2025-03-01', '2025-03-01T09:00:00Z', T0, T0, T0, at(1), '', '2025-03-01T', '\uffff', 'é', '2025-03-01\u0000'];
      const records = created.map((createdAt, i) => planRecord({ id: IDS[i]!, created_at: createdAt }));
      await store(adapter, records.map((record): Entry => ['plan', record]));
      const ordered = [...records].sort(compareNewestFirst);
      checkEqual(await adapter.list('plan', { where: {}, limit: 100, offset: 0 }), { records: ordered, total: ordered.length }, 'unfiltered order');
      checkEqual(
        await adapter.list('plan', { where: { instance_id: 'instance-1', status: 'pending' }, limit: 100, offset: 0 }),
        { records: ordered, total: ordered.length },
        'order under two filters',
      );
    });

    h.it('pages with limit and offset: pages join into the whole list, past the end is empty', async ({ adapter }) => {
      const records = plans();
      await store(adapter, records.map((record): Entry => ['plan', record]));
      const wheres: ListQuery<'plan'>['where'][] = [{}, { user_id: 'user-1' }, { instance_id: 'instance-2', plan_type: 'objective' }];
      for (const where of wheres) {
        const all = expectedPage(records, { where, limit: 1000, offset: 0 });
        check(all.total >= 3, `the suite's data must hold several plans matching ${JSON.stringify(where)}`);
        for (const limit of [1, 2, 3, 7, 100]) {
          const joined: Plan[] = [];
          for (let offset = 0; offset < all.total; offset += limit) {
            const page = await adapter.list('plan', { where, limit, offset });
            checkEqual(page, expectedPage(records, { where, limit, offset }), `list(${JSON.stringify(where)}, limit ${limit}, offset ${offset})`);
            joined.push(...page.records);
          }
          checkEqual(joined, all.records, `pages of ${limit} joined, ${JSON.stringify(where)}`);
        }
        for (const offset of [all.total, all.total + 5]) {
          checkEqual(await adapter.list('plan', { where, limit: 10, offset }), { records: [], total: all.total }, `offset ${offset} past the end`);
        }
        checkEqual(await adapter.list('plan', { where, limit: 0, offset: 1 }), { records: [], total: all.total }, 'limit 0 answers only the total');
      }
    });

    h.it('a null field matches no filter, not even the string "null"', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1', site_id: null, user_id: 'user-1', agent_id: null });
      const instance = instanceRecord({ id: 'instance-1', task_id: null });
      await adapter.commit(createBatch(['plan', plan], ['instance', instance]));
      for (const where of [{ site_id: 'null' }, { agent_id: '' }, { user_id: 'user-1', site_id: 'null' }]) {
        checkEqual(await adapter.list('plan', { where, limit: 10, offset: 0 }), { records: [], total: 0 }, `list(plan, ${JSON.stringify(where)})`);
      }
      checkEqual(await adapter.list('instance', { where: { task_id: 'null' }, limit: 10, offset: 0 }), { records: [], total: 0 }, 'list(instance, task_id "null")');
      checkEqual(await adapter.list('plan', { where: { user_id: 'user-1' }, limit: 10, offset: 0 }), { records: [plan], total: 1 }, 'list(plan, user_id)');
    });

    h.it('lists see a record\'s current version, under its current field values', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1', status: 'pending' });
      await adapter.commit(createBatch(['plan', plan]));
      const moved = { ...plan, status: 'in_progress' as const, version: 2 };
      await adapter.commit({ writes: [{ kind: 'plan', record: moved, expected_version: 1 }], events: [] });
      checkEqual(await adapter.list('plan', { where: { status: 'pending' }, limit: 10, offset: 0 }), { records: [], total: 0 }, 'list by the old status');
      checkEqual(await adapter.list('plan', { where: { status: 'in_progress' }, limit: 10, offset: 0 }), { records: [moved], total: 1 }, 'list by the new status');
    });
  });
}
