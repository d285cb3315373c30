// IndexedDB in Chromium: executeStep against a raw idb get+put of the same record in one
// readwrite transaction (interleaved, so both see the same conditions), with two steps between
// them measured alike to say where the difference goes, and listPlans with a
// filter and limit 20 as the store grows. Writes its figures; asserts only that work was done.
import { openDB } from 'idb';
import { expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { PlanManager } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { planRecord } from 'instance-plan/testing';
import { countKeysOf } from '../../src/adapters/indexeddb/counts';
import { orderKey } from '../../src/adapters/indexeddb/order-key';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};

const results: Record<string, unknown> = { userAgent: navigator.userAgent };
// Relative to the project root (where vitest runs); bench/run.mjs reads it.
const save = () => commands.writeFile('bench/.browser-results.json', JSON.stringify(results, null, 2));

it('executeStep vs raw idb get+put', async () => {
  const name = `bench-step-${Date.now()}`;
  const adapter = indexedDBAdapter({ name });
  const manager = new PlanManager({ adapter });
  const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'bench' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const steps = Array.from({ length: 10 }, (_, i) => ({ title: `step ${i + 1}`, type: 'tool_call' as const, details: { tool: 'search', arguments: { query: `q${i}` } } }));
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'bench', ordering: 'free', steps });
  const db = await openDB(name);
  const ours: number[] = [];
  const raw: number[] = [];
  const sameRequests: number[] = [];
  const adapterOnly: number[] = [];
  let to: 'in_progress' | 'failed' = 'in_progress';
  for (let i = 0; i < 320; i++) {
    let start = performance.now();
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[4]!.id, step_status: to, ...(to === 'failed' ? { step_output: 'timed out' } : {}) });
    const stepTime = performance.now() - start;
    to = to === 'in_progress' ? 'failed' : 'in_progress';
    start = performance.now();
    const transaction = db.transaction('plans', 'readwrite');
    const row = await transaction.store.get(plan.id);
    row.record.updated_at = new Date().toISOString();
    await transaction.store.put(row);
    await transaction.done;
    const rawTime = performance.now() - start;
    // The same requests as one change makes, raw: the plan, its instance and its lease read at
    // once, then the plan put and its event added, in one readwrite transaction over every store.
    start = performance.now();
    {
      const transaction = db.transaction(['plans', 'instances', 'leases', 'events', 'counts'], 'readwrite');
      const [row] = await Promise.all([transaction.objectStore('plans').get(plan.id), transaction.objectStore('instances').get(instance.id), transaction.objectStore('leases').get(instance.id)]);
      row.record.updated_at = new Date().toISOString();
      await Promise.all([transaction.objectStore('plans').put(row), transaction.objectStore('events').add({ record_id: plan.id, seq: 100000 + i, x: 1 })]);
      await transaction.done;
    }
    sameRequests.push((performance.now() - start) * 1000);
    // The adapter's own part: one change through transact, with a batch made by hand (no manager).
    start = performance.now();
    await adapter.transact!(async (reader) => {
      const both = (await reader.getPlanWithInstance!(plan.id))!;
      const next = { ...both.plan, version: both.plan.version + 1 };
      return { batch: { writes: [{ kind: 'plan', record: next, expected_version: both.plan.version }], events: [{ seq: next.version, record_id: plan.id, record_kind: 'plan', at: 'x', type: 'plan.updated', from: 'x', to: 'x', changes: [] }], checks: [{ kind: 'lease', id: instance.id, expected_version: null }] }, result: 1 };
    });
    adapterOnly.push((performance.now() - start) * 1000);
    if (i >= 20) {
      ours.push(stepTime * 1000);
      raw.push(rawTime * 1000);
    }
  }
  db.close();
  results.executeStep = { ours: median(ours), raw: median(raw), sameRequests: median(sameRequests), adapterOnly: median(adapterOnly), samples: ours.length };
  await save();
  expect((await manager.getPlan(plan.id)).version).toBeGreaterThan(300);
});

it('listPlans with a filter and limit 20 as the store grows', async () => {
  const growth: { count: number; us: number }[] = [];
  for (const count of [1_000, 10_000, 100_000]) {
    const name = `bench-list-${count}-${Date.now()}`;
    const adapter = indexedDBAdapter({ name });
    // The adapter creates the database; the store is then filled with raw puts in its own row
    // layout ({ id, order, record }), 5,000 per transaction: the commit path checks versions
    // one by one and would spend minutes on 100,000 plans that this benchmark does not measure.
    await adapter.list('plan', { where: {}, limit: 1, offset: 0 });
    const db = await openDB(name);
    // The raw fill bypasses commits, so it also writes the list counters the adapter keeps.
    const tally = new Map<string, { key: unknown; n: number }>();
    for (let start = 0; start < count; start += 5_000) {
      const transaction = db.transaction('plans', 'readwrite');
      for (let i = start; i < Math.min(start + 5_000, count); i++) {
        const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
        const record = planRecord({ id: `plan-${i}`, instance_id: `instance-${i % 5}`, title: `plan ${i}`, status: i % 2 ? 'pending' : 'in_progress', steps: [], created_at: at, updated_at: at });
        void transaction.store.put({ id: record.id, order: orderKey(at), record });
        for (const key of countKeysOf('plan', record)) {
          const id = JSON.stringify(key);
          const row = tally.get(id);
          if (row) row.n++;
          else tally.set(id, { key, n: 1 });
        }
      }
      await transaction.done;
    }
    {
      const transaction = db.transaction('counts' as never, 'readwrite');
      for (const row of tally.values()) void (transaction.store as any).put(row);
      await transaction.done;
    }
    db.close();
    const manager = new PlanManager({ adapter });
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const start = performance.now();
      const page = await manager.listPlans({ instance_id: 'instance-0', limit: 20 });
      times.push((performance.now() - start) * 1000);
      expect(page.plans).toHaveLength(20);
      expect(page.total).toBe(count / 5);
    }
    growth.push({ count, us: median(times.slice(10)) });
    results.listGrowth = growth;
    await save();
    await adapter.close?.();
    indexedDB.deleteDatabase(name);
  }
  results.listGrowth = growth;
  await save();
});
