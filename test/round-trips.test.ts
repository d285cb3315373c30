// A change costs the fewest round trips the store allows: one readwrite transaction in
// IndexedDB for the read, the check and the commit; two statements in PostgreSQL (the plan with
// its instance, then the commit), one for a lease holder (it starts from what it last wrote);
// and a lease holder on any adapter reads nothing before its commit, until a conflict says what
// it remembered is stale.
import 'fake-indexeddb/auto';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager, type StorageAdapter } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { migrate, postgresAdapter, type PostgresClient } from 'instance-plan/postgres';
import { deleteDatabase, freshName } from './support/idb-harness';
import { recordTransactions } from './support/idb-spies';
import { freshSchema } from './support/pg-harness';

/** A running instance with a free-order plan of three steps, through `manager`. */
async function planOn(manager: PlanManager) {
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({
    instance_id: instance.id,
    title: 'Round trips',
    ordering: 'free',
    steps: ['A', 'B', 'C'].map((title) => ({ title, type: 'process' as const })),
  });
  return { instance, plan };
}

/** A client that records every statement as it is sent (a refused one too). */
function sending(client: PostgresClient) {
  const calls: { text: string }[] = [];
  const recorder: PostgresClient = {
    query(text, params) {
      calls.push({ text });
      return client.query(text, params);
    },
  };
  return { client: recorder, calls };
}

/** Counts every call a manager makes on its adapter, by method. */
function counting(adapter: StorageAdapter) {
  const calls: string[] = [];
  const counted = new Proxy(adapter, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${String(name)}${name === 'get' ? ` ${String(args[0])}` : ''}`);
        return value.apply(target, args);
      };
    },
  });
  return { adapter: counted, calls };
}

describe('IndexedDB: one change is one readwrite transaction', () => {
  it('executeStep, updatePlan and transitionInstance each open exactly one transaction, readwrite, and it commits', async () => {
    const name = freshName('round-trips');
    const adapter = indexedDBAdapter({ name });
    try {
      const manager = new PlanManager({ adapter });
      const { instance, plan } = await planOn(manager);
      const opened = recordTransactions();
      try {
        await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
        expect(opened.opened.map((t) => t.mode)).toEqual(['readwrite']);
        await manager.updatePlan({ plan_id: plan.id, title: 'Renamed' });
        await manager.transitionInstance(instance.id, { status: 'paused' });
        expect(opened.opened.map((t) => t.mode)).toEqual(['readwrite', 'readwrite', 'readwrite']);
      } finally {
        opened.restore();
      }
      const stored = await manager.getPlan(plan.id);
      expect(stored.title).toBe('Renamed');
      expect(stored.steps[0]!.status).toBe('in_progress');
      expect((await manager.getInstance(instance.id)).status).toBe('paused');
      expect((await manager.getInstance(instance.id)).current_step).toBe('A');
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });

  it('a refusal found inside the transaction writes nothing and is answered as it is', async () => {
    const name = freshName('round-trips');
    const adapter = indexedDBAdapter({ name });
    try {
      const manager = new PlanManager({ adapter });
      const { plan } = await planOn(manager);
      const error = await manager.executeStep({ plan_id: plan.id, step_id: 'no-such-step', step_status: 'in_progress' }).catch((e: unknown) => e);
      expect(InstancePlanError.is(error, 'NOT_FOUND')).toBe(true);
      expect((await manager.getPlan(plan.id)).version).toBe(1);
      expect(await manager.history(plan.id)).toHaveLength(1);
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });
});

describe('PostgreSQL (PGlite): two statements per change, one for a lease holder', () => {
  const db = new PGlite();
  afterAll(() => db.close());

  it('executeStep reads the plan with its instance in one statement and commits in one more', async () => {
    const schema = freshSchema('round_trips');
    await migrate(db, { schema });
    const { client, calls } = sending(db);
    const manager = new PlanManager({ adapter: postgresAdapter({ client, schema }) });
    const { plan } = await planOn(manager);
    calls.length = 0;
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(calls).toHaveLength(2);
    expect(calls[0]!.text).toMatch(/JOIN/);
    expect((await manager.getPlan(plan.id)).steps[0]!.status).toBe('in_progress');
  });

  it('a lease holder commits in one statement; after another writer\'s change it reads once and carries on', async () => {
    const schema = freshSchema('round_trips');
    await migrate(db, { schema });
    const { client, calls } = sending(db);
    const manager = new PlanManager({ adapter: postgresAdapter({ client, schema }) });
    const { instance, plan } = await planOn(manager);
    const worker = manager.withLease(await manager.acquireLease(instance.id, { owner: 'worker-1', ttl_ms: 60_000 }));
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    calls.length = 0;
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' });
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'A done' });
    expect(calls).toHaveLength(2);
    // The same holder through another manager (another process sharing the lease) changes the plan.
    const other = new PlanManager({ adapter: postgresAdapter({ client: db, schema }) }).withLease(worker.lease!);
    await other.updatePlan({ plan_id: plan.id, title: 'Renamed elsewhere' });
    calls.length = 0;
    const after = await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[2]!.id, step_status: 'in_progress' });
    // The remembered plan was stale: one commit refused, one read, one commit.
    expect(calls).toHaveLength(3);
    expect(after.title).toBe('Renamed elsewhere');
    expect(after.steps.map((step) => step.status)).toEqual(['completed', 'in_progress', 'in_progress']);
    expect(after.version).toBe(plan.version + 5);
  });
});

describe('any adapter: a lease holder reads nothing before its commit', () => {
  it('on the memory adapter, the holder\'s changes after the first are commits alone', async () => {
    const { adapter, calls } = counting(memoryAdapter());
    const manager = new PlanManager({ adapter });
    const { instance, plan } = await planOn(manager);
    const worker = manager.withLease(await manager.acquireLease(instance.id, { owner: 'worker-1', ttl_ms: 60_000 }));
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    calls.length = 0;
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'A done' });
    await worker.recordTurn(instance.id, { tokens: 10 });
    await worker.updatePlan({ plan_id: plan.id, title: 'Renamed' });
    expect(calls).toEqual(['commit', 'commit', 'commit']);
    // What it remembered is what is stored.
    expect(await manager.getPlan(plan.id)).toEqual(await worker.getPlan(plan.id));
    expect((await manager.getInstance(instance.id)).turn_count).toBe(1);
  });

  it('a manager without a lease reads the plan with its instance (one read), then commits', async () => {
    const { adapter, calls } = counting(memoryAdapter());
    const manager = new PlanManager({ adapter });
    const { plan } = await planOn(manager);
    calls.length = 0;
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(calls).toEqual(['getPlanWithInstance', 'commit']);
  });
});
