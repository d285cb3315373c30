// The IndexedDB adapter in real Chromium: the shared behaviour tests, plus what only a browser
// can show: a real quota refusal, and a worker killed in the middle of its commits.
import { describe, expect, it } from 'vitest';
import { cdp } from 'vitest/browser';
import { PlanManager, replay, type Instance, type Plan } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { createBatch, instanceRecord, planRecord, stepRecord, updateOf } from '../src/testing/conformance/fixtures';
import { describeIndexedDBAdapter, expectFault, rawOpen } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';
import { crashAndRecover, type StepWorkerHandle } from './support/crash-recovery';
import type { StepWorkerLine } from './support/step-worker';
import { expectWhat010Wrote, restoreIndexedDB } from './support/fixtures-0.1.0';

describeIndexedDBAdapter('Chromium');

/** Text no compressor shrinks (random bytes, base64): what it weighs is what the quota sees. */
function incompressible(length: number): string {
  const bytes = new Uint8Array(Math.ceil((length * 3) / 4));
  for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 8_192) binary += String.fromCharCode(...bytes.subarray(i, i + 8_192));
  return btoa(binary).slice(0, length);
}

/**
 * Resolves once every transaction begun before the call has finished. A transaction the killed
 * worker had begun still ends in the browser (committed or aborted, whole); a readwrite
 * transaction over every store is queued behind it, so the checks read a settled database.
 */
async function afterPendingTransactions(name: string): Promise<void> {
  const db = await rawOpen(name);
  try {
    await new Promise<void>((resolve, reject) => {
      const transaction = db.transaction(['instances', 'plans', 'events'], 'readwrite');
      transaction.oncomplete = () => resolve();
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

/** Checks a plan and its instance against their histories and each other: no half-written batch. */
async function checkConsistent(manager: PlanManager, plan: Plan, instance: Instance) {
  const storedPlan = await manager.getPlan(plan.id);
  const storedInstance = await manager.getInstance(instance.id);
  const started = storedPlan.steps.filter((step) => step.status === 'in_progress');
  expect(storedPlan.version).toBe(1 + started.length);
  // Every step start wrote the plan and the instance's current_step in one batch: both or neither.
  expect(storedInstance.version).toBe(2 + started.length);
  const planHistory = await manager.history(plan.id);
  expect(replay(planHistory)).toEqual(storedPlan);
  expect(replay(await manager.history(instance.id))).toEqual(storedInstance);
  if (started.length > 0) {
    const last = storedPlan.steps.find((step) => step.id === planHistory.at(-1)!.step!.id)!;
    expect(storedInstance.current_step).toBe(last.title);
  }
  return started.map((step) => step.id);
}

describe('indexedDBAdapter, only in a real browser', () => {
  it('a real quota refusal is STORAGE_ERROR "quota_exceeded" with the QuotaExceededError as cause, and nothing is written', async () => {
    const session = cdp();
    const origin = location.origin;
    // The DevTools protocol gives this origin a 200 kB quota. Chromium caches how much room is
    // left, so the origin's IndexedDB data is cleared too (browser test files run one at a time,
    // and this file's other tests have deleted their databases), making it ask afresh.
    await session.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 200_000 });
    await session.send('Storage.clearDataForOrigin', { origin, storageTypes: 'indexeddb' });
    const name = freshName('quota');
    const adapter = indexedDBAdapter({ name });
    try {
      const instance = instanceRecord({ id: 'instance-1' });
      await adapter.commit(createBatch(['instance', instance]));
      const plan = planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', output: incompressible(600_000) })] });
      const update = updateOf('instance', instance, { current_step: 'Write' });
      const batch = createBatch(['plan', plan]);
      batch.writes.push(...update.batch.writes);
      batch.events.push(...update.batch.events);

      const error = await expectFault(adapter.commit(batch), 'quota_exceeded');
      expect((error.cause as DOMException).name).toBe('QuotaExceededError');
      expect(error.message).toMatch(/quota is exceeded\. Nothing of this change was written/);
      expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
      expect(await adapter.get('instance', 'instance-1')).toEqual(instance);
      expect(await adapter.history('instance-1')).toHaveLength(1);

      // With the quota back, the same batch goes through on the same connection.
      await session.send('Storage.overrideQuotaForOrigin', { origin });
      await adapter.commit(batch);
      expect(await adapter.get('instance', 'instance-1')).toEqual(update.record);
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
    } finally {
      await session.send('Storage.overrideQuotaForOrigin', { origin });
      await adapter.close();
      await deleteDatabase(name);
    }
  });

  it('a worker killed in the middle of its commits leaves every acknowledged change and no partial one', async () => {
    const name = freshName('killed');
    const adapter = indexedDBAdapter({ name });
    const manager = new PlanManager({ adapter });
    try {
      for (const killAfter of [1, 4, 9]) {
        const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
        await manager.transitionInstance(instance.id, { status: 'running' });
        const steps = Array.from({ length: 40 }, (_, i) => ({ title: `Step ${i + 1}`, type: 'process' as const }));
        const plan = await manager.createPlan({ instance_id: instance.id, title: `Killed after ${killAfter}`, ordering: 'free', steps });

        const worker = new Worker(new URL('./support/idb-worker.ts', import.meta.url), { type: 'module' });
        const acknowledged: string[] = [];
        await new Promise<void>((resolve, reject) => {
          worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
          worker.onmessage = (event: MessageEvent<{ landed?: string; failed?: string; error?: string }>) => {
            if (event.data.failed) reject(new Error(`worker step failed: ${event.data.error}`));
            if (!event.data.landed) return;
            acknowledged.push(event.data.landed);
            if (acknowledged.length === killAfter) {
              worker.terminate(); // mid-run: the other starts are still reading, retrying or committing
              resolve();
            }
          };
          worker.postMessage({ name, planId: plan.id });
        });

        await afterPendingTransactions(name);
        const reopened = new PlanManager({ adapter: indexedDBAdapter({ name }) });
        const started = await checkConsistent(reopened, plan, instance);
        for (const id of acknowledged) expect(started).toContain(id);
        expect(started.length).toBeLessThan(steps.length);
        // The killed worker holds nothing open: the database still takes writes.
        await reopened.executeStep({ plan_id: plan.id, step_id: plan.steps.at(-1)!.id, step_status: 'failed', step_output: 'abandoned' });
      }
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });

  it('a worker terminated mid-step, and one left waiting: the next holder recovers, the step is failed then retried, the late write is refused', async () => {
    const name = freshName('recovered');
    const adapter = indexedDBAdapter({ name });
    const manager = new PlanManager({ adapter });
    const laterAdapter = indexedDBAdapter({ name });
    const later = new PlanManager({ adapter: laterAdapter, clock: () => new Date(Date.now() + 60_000) });
    try {
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'crashing' });
      await manager.transitionInstance(instance.id, { status: 'running' });
      const plan = await manager.createPlan({ instance_id: instance.id, title: 'Crashed', steps: ['One', 'Two', 'Three'].map((title) => ({ title, type: 'process' as const })) });
      const start = (owner: string, hang_at: number): StepWorkerHandle => {
        const worker = new Worker(new URL('./support/idb-step-worker.ts', import.meta.url), { type: 'module' });
        const lines: StepWorkerLine[] = [];
        let errors = '';
        const finished = new Promise<boolean>((resolve) => {
          worker.onerror = (event) => {
            errors += event.message;
            resolve(false);
          };
          worker.onmessage = (event: MessageEvent<{ line?: StepWorkerLine; finished?: boolean; error?: string }>) => {
            if (event.data.line) lines.push(event.data.line);
            if (event.data.error) errors += event.data.error;
            if (event.data.finished !== undefined) resolve(event.data.finished);
          };
        });
        return {
          ready: Promise.resolve(),
          said: () => lines,
          stderr: () => errors,
          go: () => worker.postMessage({ name, config: { instance_id: instance.id, plan_id: plan.id, owner, ttl_ms: 30_000, hang_at } }),
          kill: async () => {
            worker.terminate();
            await afterPendingTransactions(name);
          },
          // A Web Worker cannot be paused from outside: this one waits at its hang until told to go on.
          stop: () => {},
          resume: () => worker.postMessage('continue'),
          finished,
        };
      };
      const figures = await crashAndRecover({ manager, later, instance, plan, start });
      console.log(`[indexeddb figures] recovery: ${JSON.stringify(figures)}`);
    } finally {
      await adapter.close();
      await laterAdapter.close();
      await deleteDatabase(name);
    }
  });

  it('a database written by 0.1.0 in Chromium opens and reads back exactly what 0.1.0 wrote', async () => {
    const name = freshName('from-0.1.0');
    await restoreIndexedDB(indexedDB, name);
    const adapter = indexedDBAdapter({ name });
    try {
      await expectWhat010Wrote(adapter);
    } finally {
      await adapter.close();
      await deleteDatabase(name);
    }
  });
});
