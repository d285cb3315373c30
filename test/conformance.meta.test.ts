// The conformance suite is only worth something if it fails bad adapters. This runs it, outside
// the runner, against an adapter with one defect at a time and checks which tests catch it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type CommittedChange, type HistoryEvent, type StorageAdapter, type StoredRecord } from 'instance-plan';
import { checkBatch, compareNewestFirst, conflictError, pageOfEvents } from 'instance-plan/adapter';
import { adapterConformance } from 'instance-plan/testing';

// A small in-memory adapter with switchable defects, each a mistake a real adapter could make.

type Flaw =
  | 'returns-references'
  | 'freezes-shallowly'
  | 'plain-object-tables'
  | 'naive-clone'
  | 'ignores-expected-version'
  | 'writes-before-checking-all'
  | 'copies-while-writing'
  | 'ties-by-id-descending'
  | 'total-is-page-length'
  | 'null-matches-string-null'
  | 'history-sorted-as-text'
  | 'feed-shares-one-object'
  | 'feed-announces-refused-commits'
  | 'check-after-await'
  | 'ignores-checks'
  | 'writes-before-checks'
  | 'trusts-batches'
  | 'announces-empty-changes'
  | 'ignores-pages'
  | 'ignores-prune'
  | 'prunes-before-checking'
  | 'scope-filter-always-names-site';

/** Deep copy that assigns keys with `=`: a "__proto__" key sets the prototype instead of copying. */
function naiveClone<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(naiveClone) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = naiveClone((value as Record<string, unknown>)[key]);
  return out as T;
}

const jsonClone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

function flawedAdapter(flaws: Flaw[] = []): StorageAdapter {
  const has = (flaw: Flaw) => flaws.includes(flaw);
  const copy = <T>(value: T): T =>
    has('returns-references') ? value : has('freezes-shallowly') ? (value && Object.freeze(value)) : has('naive-clone') ? naiveClone(value) : jsonClone(value);
  const table = () => (has('plain-object-tables') ? objectTable() : new Map<string, StoredRecord>());
  const tables = { instance: table(), plan: table(), lease: table() };
  let events: HistoryEvent[] = [];
  const prune = (batch: { prune?: { record_id: string; before_seq: number }[] }) => {
    for (const { record_id, before_seq } of batch.prune ?? []) events = events.filter((event) => event.record_id !== record_id || event.seq >= before_seq);
  };
  const listeners = new Set<(change: CommittedChange) => void>();
  const announce = (change: CommittedChange) => {
    const shared = copy(change);
    for (const listener of listeners) {
      try {
        listener(has('feed-shares-one-object') ? shared : copy(change));
      } catch {
        // a listener's fault is its own
      }
    }
  };

  return {
    async get(kind, id, scope) {
      const record = tables[kind].get(id);
      // The defect: a scoped read compares the site even when the scope names none (an SQL
      // filter written as "site_id = $n" whatever the scope), hiding plans the scope can see.
      if (has('scope-filter-always-names-site') && scope && kind === 'plan' && (record as { site_id?: unknown } | undefined)?.site_id !== (scope.site_id ?? null)) return undefined;
      return copy(record) as never;
    },
    async list(kind, query) {
      const matches = [...tables[kind].values()].filter((record) =>
        Object.entries(query.where).every(([field, value]) => {
          const held = (record as unknown as Record<string, unknown>)[field];
          return has('null-matches-string-null') ? String(held) === value : held === value;
        }),
      );
      matches.sort((a, b) => (has('ties-by-id-descending') && a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : compareNewestFirst(a, b)));
      const page = matches.slice(query.offset, query.offset + query.limit);
      return { records: page.map(copy) as never, total: has('total-is-page-length') ? page.length : matches.length };
    },
    async commit(batch) {
      // The defect: copying each record only as it is written, so a record that fails to copy
      // is found after the ones before it were stored.
      if (!has('trusts-batches')) checkBatch(batch);
      const writes = has('copies-while-writing') ? batch.writes : batch.writes.map((write) => ({ ...write, record: copy(write.record) }));
      const seen = new Set<string>();
      for (const write of writes) {
        const key = `${write.kind}:${write.record.id}`;
        if (seen.has(key)) throw new TypeError('written twice');
        seen.add(key);
      }
      if (has('feed-announces-refused-commits')) announce({ records: writes.map((w) => ({ kind: w.kind, id: w.record.id, version: w.record.version })), events: batch.events });
      if (has('check-after-await')) await Promise.resolve();
      // The defect: drops history before finding out whether the batch lands.
      if (has('prunes-before-checking')) prune(batch);
      for (const write of writes) {
        const actual = tables[write.kind].get(write.record.id)?.version ?? null;
        if (!has('ignores-expected-version') && actual !== write.expected_version) throw conflictError(write.kind, write.record.id, write.expected_version, actual);
        if (has('writes-before-checking-all')) tables[write.kind].set(write.record.id, write.record as StoredRecord);
      }
      // The defect: stores the writes, then finds a stale check (too late to store nothing).
      if (has('writes-before-checks')) for (const write of writes) tables[write.kind].set(write.record.id, write.record as StoredRecord);
      for (const check of batch.checks ?? []) {
        const actual = tables[check.kind].get(check.id)?.version ?? null;
        if (!has('ignores-checks') && actual !== check.expected_version) throw conflictError(check.kind, check.id, check.expected_version, actual);
      }
      const newEvents = batch.events.map(copy);
      if (has('check-after-await')) await Promise.resolve();
      for (const write of writes) tables[write.kind].set(write.record.id, (has('copies-while-writing') ? copy(write.record) : write.record) as StoredRecord);
      if (!has('ignores-prune') && !has('prunes-before-checking')) prune(batch);
      events.push(...newEvents);
      // A batch of checks only changed nothing, so there is nothing to announce.
      const changed = writes.length > 0 || newEvents.length > 0;
      if (!has('feed-announces-refused-commits') && (changed || has('announces-empty-changes'))) announce({ records: writes.map((w) => ({ kind: w.kind, id: w.record.id, version: w.record.version })), events: newEvents });
    },
    async history(id, page) {
      const own = events.filter((event) => event.record_id === id).map(copy);
      const sorted = has('history-sorted-as-text') ? own.sort((a, b) => (String(a.seq) < String(b.seq) ? -1 : 1)) : own;
      return has('ignores-pages') ? sorted : pageOfEvents(sorted, page);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A table kept in a plain object, the classic way ids such as "__proto__" go missing. */
function objectTable() {
  const rows: Record<string, StoredRecord> = {};
  return {
    get: (id: string): StoredRecord | undefined => (Object.hasOwn(rows, id) ? rows[id] : undefined),
    set: (id: string, record: StoredRecord) => {
      rows[id] = record;
    },
    values: () => Object.values(rows),
  };
}

interface Outcome {
  name: string;
  error?: string;
}

/** Registers the suite with a collecting describe/it and runs every test; returns each outcome. */
async function runSuite(flaws: Flaw[]): Promise<Outcome[]> {
  const tests: { name: string; body: () => Promise<void> }[] = [];
  const path: string[] = [];
  adapterConformance({
    name: flaws.join('+') || 'flawless',
    create: () => flawedAdapter(flaws),
    // Small limits: the large-record test proves nothing about these defects, and runs 13 times here.
    limits: { ...DEFAULT_LIMITS, maxSteps: 3, maxDescriptionLength: 100, maxOutputLength: 100, maxDetailsLength: 100 },
    describe: (name, body) => {
      path.push(name);
      body();
      path.pop();
    },
    it: (name, body) => tests.push({ name: [...path.slice(1), name].join(' > '), body }),
  });
  const outcomes: Outcome[] = [];
  for (const test of tests) {
    try {
      await test.body();
      outcomes.push({ name: test.name });
    } catch (error) {
      outcomes.push({ name: test.name, error: String(error) });
    }
  }
  return outcomes;
}

const failed = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.error !== undefined).map((outcome) => outcome.name);

describe('the conformance suite', () => {
  it('passes the flawless twin of the flawed adapter, and registers a test per property', async () => {
    const outcomes = await runSuite([]);
    expect(outcomes.filter((outcome) => outcome.error)).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(30);
  });

  // Each defect, and a test name (or part of one) that must fail because of it.
  const cases: [Flaw, string[]][] = [
    ['returns-references', ['a returned record > changing committed objects', 'a returned record > changing returned records']],
    // Frozen at the top only: a caller holding a "frozen" record can still change its steps.
    ['freezes-shallowly', ['a returned record > changing returned records']],
    ['plain-object-tables', ['awkward ids > instances with ids like "__proto__"', 'awkward ids > plans with ids like "__proto__"']],
    ['naive-clone', ['a "__proto__" key inside a record is data']],
    ['ignores-expected-version', ['compare-and-set > a stale expected version', 'concurrent writers > two concurrent commits over one version']],
    ['writes-before-checking-all', ['atomic batches > a conflict on the last write stores none of the batch']],
    ['copies-while-writing', ['atomic batches > a fault while storing a write in the middle stores none of the batch']],
    ['ties-by-id-descending', ['list > orders newest first, ties by id']],
    ['total-is-page-length', ['list > pages with limit and offset']],
    ['null-matches-string-null', ['list > a null field matches no filter']],
    ['history-sorted-as-text', ['history > returns each record\'s own events in seq order']],
    ['feed-shares-one-object', ['change feed > no subscriber can change what another hears']],
    ['feed-announces-refused-commits', ['change feed > a refused commit is not announced']],
    ['check-after-await', ['concurrent writers > two concurrent commits over one version', 'concurrent writers > ten concurrent creators']],
    [
      'ignores-checks',
      [
        'lease records and checks > a stale check refuses the whole batch',
        'lease records and checks > a check of a missing record holds only for null',
        'lease records and checks > a check sees what another handle committed',
        'lease records and checks > two managers on two handles: a holder whose lease was taken over is refused with LEASE_LOST',
      ],
    ],
    ['writes-before-checks', ['lease records and checks > a stale check refuses the whole batch']],
    ['trusts-batches', ['malformed batches > are refused with a TypeError naming the field']],
    ['announces-empty-changes', ['lease records and checks > a batch of checks only stores nothing and announces nothing']],
    ['ignores-pages', ['history > pages: the events after after_seq', 'history > a malformed page is a TypeError']],
    ['ignores-prune', ['history > prune drops the older events', 'history > a manager with retention { events: 3 }']],
    ['prunes-before-checking', ['history > prune drops the older events']],
    ['scope-filter-always-names-site', ['reads given a scope: what the scope sees always comes back > every record against every scope']],
  ];

  it.each(cases)('fails an adapter that %s', async (flaw, mustFail) => {
    const failures = failed(await runSuite([flaw]));
    for (const name of mustFail) {
      expect(failures.some((failure) => failure.includes(name)), `no failing test named like "${name}"; failures: ${failures.join(' | ')}`).toBe(true);
    }
  });
});
