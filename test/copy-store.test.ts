// Copying between stores and dumps: a copy interrupted halfway is finished by running it again, a
// second run copies just what changed (also across pruned history), a target ahead of the source
// is refused, and a dump reads back what was written. The conformance suite copies into and out
// of every adapter.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { copyStore, dumpStore, loadDump, memoryAdapter, PlanManager, replay, type StorageAdapter } from '../src';
import { migrate, sqliteAdapter, type SqliteDatabase } from '../src/adapters/sqlite/index';
import { checkInvariants } from '../src/testing/invariants';
import { expectRejection } from './support/core-fixtures';

async function lines(adapter: StorageAdapter): Promise<string[]> {
  const out: string[] = [];
  for await (const line of dumpStore(adapter)) out.push(line);
  return out;
}

/** A source store with `instances` instances, each with a plan worked on a few times. */
async function source(instances = 5, retention: { events: number } | 'all' = 'all') {
  const adapter = memoryAdapter();
  let now = Date.UTC(2026, 0, 1);
  const manager = new PlanManager({ adapter, retention, clock: () => new Date((now += 1_000)) });
  const plans = [];
  for (let i = 0; i < instances; i++) {
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: `agent-${i}` });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: `Plan ${i}`, steps: [{ title: 'Search', type: 'tool_call' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    plans.push(plan);
  }
  return { adapter, manager, plans };
}

/** An adapter whose commits fail from the `failAt`-th on, as a copy cut off halfway would see. */
function failingAfter(inner: StorageAdapter, failAt: number) {
  let commits = 0;
  const adapter: StorageAdapter = {
    get: (kind, id) => inner.get(kind, id),
    list: (kind, query) => inner.list(kind, query),
    history: (id, page) => inner.history(id, page),
    commit: async (batch) => {
      if (++commits >= failAt) throw new Error('the connection dropped');
      return inner.commit(batch);
    },
  };
  return adapter;
}

describe('copyStore', () => {
  it('an interrupted copy is finished by running it again: nothing lost, nothing written twice', async () => {
    const { adapter: from } = await source(6);
    const to = memoryAdapter();
    await expect(copyStore(from, failingAfter(to, 5))).rejects.toThrow('the connection dropped');
    const resumed = await copyStore(from, to);
    expect(resumed.instances.skipped + resumed.plans.skipped).toBe(4);
    expect(resumed.instances.written + resumed.plans.written).toBe(8);
    expect(await lines(to)).toEqual(await lines(from));
    expect(await checkInvariants(to)).toEqual([]);
  });

  it('a second run after the source changed brings the target up to date, also where the source pruned its history', async () => {
    const { adapter: from, manager, plans } = await source(2, { events: 3 });
    const to = memoryAdapter();
    await copyStore(from, to);
    // Many changes: the source drops events the target has, so the target's catch-up starts at a snapshot.
    for (let n = 0; n < 9; n++) await manager.executeStep({ plan_id: plans[0]!.id, step_id: plans[0]!.steps[0]!.id, step_status: n % 2 === 0 ? 'failed' : 'in_progress', ...(n % 2 === 0 && { step_output: `try ${n}` }) });
    const progress: string[] = [];
    const report = await copyStore(from, to, { onProgress: ({ kind, outcome, done, total }) => progress.push(`${kind} ${outcome} ${done}/${total}`) });
    expect(report.plans).toEqual({ written: 0, updated: 1, skipped: 1 });
    expect(report.instances).toEqual({ written: 0, updated: 0, skipped: 2 });
    expect(progress).toEqual(['instance skipped 1/2', 'instance skipped 2/2', 'plan skipped 1/2', 'plan updated 2/2']);
    expect(await lines(to)).toEqual(await lines(from));
    const events = await to.history(plans[0]!.id);
    expect(events[0]!.snapshot).toBeDefined();
    expect(replay(events)).toEqual(await from.get('plan', plans[0]!.id));
  });

  it('refuses to take a record back: a target ahead of the source is CONFLICT naming both versions, and that record is untouched', async () => {
    const { adapter: from, plans } = await source(1);
    const to = memoryAdapter();
    await copyStore(from, to);
    await new PlanManager({ adapter: to }).updatePlan({ plan_id: plans[0]!.id, title: 'Changed on the target' });
    const before = await to.get('plan', plans[0]!.id);
    const error = await expectRejection(copyStore(from, to), 'CONFLICT');
    expect(error.details).toEqual({ kind: 'plan', id: plans[0]!.id, source_version: 2, target_version: 3 });
    expect(await to.get('plan', plans[0]!.id)).toEqual(before);
  });

  it('refuses to overwrite a change the target made on its own since the last copy (CONFLICT "diverged"), and leaves it', async () => {
    const { adapter: from, manager, plans } = await source(1);
    const to = memoryAdapter();
    await copyStore(from, to);
    await new PlanManager({ adapter: to }).updatePlan({ plan_id: plans[0]!.id, title: 'Changed on the target' });
    await manager.updatePlan({ plan_id: plans[0]!.id, title: 'Changed on the source' });
    await manager.updatePlan({ plan_id: plans[0]!.id, title: 'Changed on the source again' });
    const before = await to.get('plan', plans[0]!.id);
    const error = await expectRejection(copyStore(from, to), 'CONFLICT');
    expect(error.details).toEqual({ kind: 'plan', id: plans[0]!.id, target_version: 3, reason: 'diverged' });
    expect(await to.get('plan', plans[0]!.id)).toEqual(before);
  });

  it('copies a history that managers of different retentions pruned: from its latest snapshot, replaying on the target', async () => {
    const adapter = memoryAdapter();
    const windowed = new PlanManager({ adapter, retention: { events: 2 } });
    const keepsAll = new PlanManager({ adapter });
    const instance = await windowed.createInstance({ organization_id: 'org-1', agent_type_id: 'a' });
    let plan = await windowed.createPlan({ instance_id: instance.id, title: 'P', steps: [] });
    // Seq 3 (a window start) written without a snapshot, seq 5 with one that prunes before seq 3.
    plan = await windowed.updatePlan({ plan_id: plan.id, title: 't2' });
    plan = await keepsAll.updatePlan({ plan_id: plan.id, title: 't3' });
    plan = await windowed.updatePlan({ plan_id: plan.id, title: 't4' });
    plan = await windowed.updatePlan({ plan_id: plan.id, title: 't5' });
    expect((await adapter.history(plan.id)).map((event) => [event.seq, event.snapshot !== undefined])).toEqual([[3, false], [4, false], [5, true]]);
    const to = memoryAdapter();
    await copyStore(adapter, to);
    expect((await to.history(plan.id)).map((event) => event.seq)).toEqual([5]);
    expect(replay(await to.history(plan.id))).toEqual(plan);
    expect(await checkInvariants(to)).toEqual([]);
    // The source's own history is reported, not a crash.
    expect((await checkInvariants(adapter)).map((violation) => violation.rule)).toEqual([4]);
    // Its dump is written from the latest snapshot too, and loads back.
    const loaded = await loadDump(await lines(adapter));
    expect(replay(await loaded.history(plan.id))).toEqual(plan);
  });

  it('copies from the memory adapter to a SQLite file and on to another, the histories replaying on each', async () => {
    const { adapter: from } = await source(4, { events: 2 });
    const files = [new Database(':memory:'), new Database(':memory:')].map((database) => {
      migrate(database as unknown as SqliteDatabase);
      return sqliteAdapter({ database: database as unknown as SqliteDatabase });
    });
    await copyStore(from, files[0]!);
    await copyStore(files[0]!, files[1]!, { pageSize: 1, historyPageSize: 1 });
    expect(await lines(files[1]!)).toEqual(await lines(from));
    expect(await checkInvariants(files[1]!)).toEqual([]);
  });

  it('refuses bad options with a TypeError naming them', async () => {
    for (const options of [{ pageSize: 0 }, { historyPageSize: 1.5 }]) {
      await expect(copyStore(memoryAdapter(), memoryAdapter(), options)).rejects.toThrow(TypeError);
    }
  });
});

describe('dumps', () => {
  it('a dump loads back into the same records, histories and leases', async () => {
    const { adapter, manager } = await source(3);
    const [first] = (await manager.listInstances()).instances;
    await manager.acquireLease(first!.id, { owner: 'worker-1', ttl_ms: 60_000 });
    const dumped = await lines(adapter);
    expect(JSON.parse(dumped[0]!)).toEqual({ format: 'instance-plan dump', version: 2 });
    const loaded = await loadDump(dumped);
    expect(await lines(loaded)).toEqual(dumped);
    expect(await loaded.get('lease', first!.id)).toEqual(await adapter.get('lease', first!.id));
  });

  it('refuses what is not a dump, a malformed line, and a dump newer than the library, naming the line or both versions', async () => {
    const refusal = async (text: string[]) => (await expectRejection(loadDump(text), 'STORAGE_ERROR')).details;
    expect(await refusal([])).toMatchObject({ reason: 'not_a_dump' });
    expect(await refusal(['{"records":[]}'])).toMatchObject({ reason: 'not_a_dump', line: 1 });
    expect(await refusal(['{"format":"instance-plan dump","version":3}'])).toMatchObject({ reason: 'version_too_new', stored_version: 3, code_version: 2 });
    expect(await refusal(['{"format":"instance-plan dump","version":0}'])).toMatchObject({ reason: 'not_a_dump', line: 1 });
    const header = '{"format":"instance-plan dump","version":2}';
    expect(await refusal([header, 'not json'])).toMatchObject({ reason: 'malformed', line: 2 });
    expect(await refusal([header, '{"kind":"event","event":{}}'])).toMatchObject({ reason: 'malformed', line: 2 });
    expect(await refusal([header, '', '{"kind":"step","record":{}}'])).toMatchObject({ reason: 'malformed', line: 3 });
    expect(await refusal([header, '{"kind":"plan","record":{"id":"p","created_at":"x","version":7}}'])).toMatchObject({ reason: 'malformed', line: 2 });
    // An event without its changes, in a dump of either shape (one of version 1 is brought forward as it is read).
    const [instanceLine] = (await lines((await source(1)).adapter)).filter((line) => line.startsWith('{"kind":"instance"'));
    const broken = '{"kind":"event","event":{"seq":1,"record_id":"x","record_kind":"instance","type":"instance.created"}}';
    for (const version of [1, 2]) {
      expect(await refusal([`{"format":"instance-plan dump","version":${version}}`, instanceLine!, broken])).toMatchObject({ reason: 'malformed', line: 3 });
    }
  });

  it('refuses a dump cut short, a record without its whole history, events of another record, and lines after the end', async () => {
    const { adapter, manager } = await source(2);
    const [first] = (await manager.listInstances()).instances;
    await manager.acquireLease(first!.id, { owner: 'worker-1', ttl_ms: 60_000 });
    const whole = await lines(adapter);
    const refusal = async (text: string[]) => (await expectRejection(loadDump(text), 'STORAGE_ERROR')).details;
    expect(JSON.parse(whole.at(-1)!)).toEqual({ kind: 'end', records: 5 });
    // Cut at any line boundary: never read as whole.
    for (let cut = 1; cut < whole.length; cut++) {
      const details = await refusal(whole.slice(0, cut));
      expect(['truncated', 'malformed'], `cut after line ${cut}`).toContain(details.reason);
    }
    const recordLine = whole.findIndex((line) => line.startsWith('{"kind":"plan"'));
    const withoutAnEvent = whole.filter((_, i) => i !== recordLine + 2);
    expect(await refusal(withoutAnEvent)).toMatchObject({ reason: 'malformed', line: recordLine + 1 });
    const leaseLine = whole.findIndex((line) => line.startsWith('{"kind":"lease"'));
    const eventAfterLease = [...whole.slice(0, leaseLine + 1), whole[leaseLine - 1]!, ...whole.slice(leaseLine + 1)];
    expect(await refusal(eventAfterLease)).toMatchObject({ reason: 'malformed', line: leaseLine + 2 });
    expect(await refusal([...whole, whole[1]!])).toMatchObject({ reason: 'malformed', line: whole.length + 1 });
    expect(await refusal([...whole.slice(0, -1), '{"kind":"end","records":4}'])).toMatchObject({ reason: 'malformed', line: whole.length });
  });

  it('dumpStore refuses a page size that is not a whole number of at least 1', async () => {
    await expect(dumpStore(memoryAdapter(), { pageSize: 0 }).next()).rejects.toThrow(new TypeError('dumpStore: pageSize must be a whole number of at least 1, got 0'));
  });
});
