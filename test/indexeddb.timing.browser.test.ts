// What one executeStep costs on the IndexedDB adapter in Chromium, next to the floor under it:
// a raw idb get+put of the same plan record in one readwrite transaction, in the same run.
// Logs the figures (the close note of issue 3 quotes them); asserts outcomes, never timings.
import { openDB, type IDBPDatabase } from 'idb';
import { expect, it } from 'vitest';
import { PlanManager } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { deleteDatabase, freshName } from './support/idb-harness';

const WARM_UP = 20;
const MEASURED = 100;

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p90: at(0.9), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

/** One readwrite transaction: read the plan's row, write it back with a new updated_at. */
async function rawGetPut(db: IDBPDatabase, store: string, id: string): Promise<void> {
  const transaction = db.transaction(store, 'readwrite');
  const row = await transaction.store.get(id);
  row.record.updated_at = new Date().toISOString();
  await transaction.store.put(row, store === 'bare' ? id : undefined);
  await transaction.done;
}

it('executeStep on the IndexedDB adapter vs a raw idb get+put of the same plan (median of 100, Chromium)', async () => {
  const name = freshName('timing');
  const adapter = indexedDBAdapter({ name });
  const manager = new PlanManager({ adapter });
  const bareName = freshName('timing-bare');
  let db: IDBPDatabase | undefined;
  let bare: IDBPDatabase | undefined;
  try {
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    // A plan of realistic weight: 120 steps with details; each measured call completes one step.
    const steps = Array.from({ length: WARM_UP + MEASURED }, (_, i) => ({
      title: `Step ${i + 1}: look something up`,
      type: 'tool_call' as const,
      description: 'Search the sources for the figures the report needs.',
      details: { tool: 'search', arguments: { query: `figure ${i + 1}`, limit: 10 } },
    }));
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Timing', ordering: 'free', steps });
    db = await openDB(name);
    // The same row in a store with no indexes: how much of the raw cost is index upkeep.
    bare = await openDB(bareName, 1, { upgrade: (upgrade) => void upgrade.createObjectStore('bare') });
    await bare.put('bare', await db.get('plans', plan.id), plan.id);

    const executeStep: number[] = [];
    const raw: number[] = [];
    const rawBare: number[] = [];
    for (let i = 0; i < WARM_UP + MEASURED; i++) {
      const step = plan.steps[i]!;
      let start = performance.now();
      await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'completed', step_output: `Found figure ${i + 1}.` });
      const stepTime = performance.now() - start;
      start = performance.now();
      await rawGetPut(db, 'plans', plan.id);
      const rawTime = performance.now() - start;
      start = performance.now();
      await rawGetPut(bare, 'bare', plan.id);
      const bareTime = performance.now() - start;
      if (i >= WARM_UP) {
        executeStep.push(stepTime);
        raw.push(rawTime);
        rawBare.push(bareTime);
      }
    }

    const stored = await manager.getPlan(plan.id);
    expect(stored.steps.every((step) => step.status === 'completed')).toBe(true);
    expect(stored.version).toBe(1 + WARM_UP + MEASURED);
    const figures = {
      'manager.executeStep (IndexedDB adapter)': summary(executeStep),
      'raw idb get+put, same plan row, plans store': summary(raw),
      'raw idb get+put, same plan row, store without indexes': summary(rawBare),
    };
    const bytes = JSON.stringify(stored).length;
    console.log(
      `timing (ms, ${MEASURED} samples after ${WARM_UP} warm-up, plan of ${stored.steps.length} steps, ${bytes} bytes as JSON, ${navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0]}):\n` +
        Object.entries(figures)
          .map(([what, { median, p90, mean }]) => `  ${what}: median ${median.toFixed(2)}, p90 ${p90.toFixed(2)}, mean ${mean.toFixed(2)}`)
          .join('\n'),
    );
  } finally {
    db?.close();
    bare?.close();
    await adapter.close();
    await deleteDatabase(name);
    await deleteDatabase(bareName);
  }
});
