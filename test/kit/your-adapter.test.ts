import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type StorageAdapter } from 'instance-plan';
import { adapterConformance, checkInvariants, planManagerCommands, runPlanManagerModel } from 'instance-plan/testing';

// Your adapter. Here: one that counts commits around the memory adapter.
function countingAdapter(): StorageAdapter & { commits: number } {
  const inner = memoryAdapter();
  const adapter = {
    ...inner,
    commits: 0,
    async commit(batch: Parameters<StorageAdapter['commit']>[0]) {
      await inner.commit(batch);
      adapter.commits += 1;
    },
  };
  return adapter;
}

// 1. The storage contract, case by case.
adapterConformance({ name: 'counting adapter', create: () => countingAdapter(), describe, it });

// 2. Random command sequences through a PlanManager on your adapter, against the reference model.
describe('PlanManager on the counting adapter', () => {
  it('agrees with the reference model and keeps every invariant', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), async (commands) => {
        const adapter = countingAdapter();
        await runPlanManagerModel(() => new PlanManager({ adapter }), commands);
        expect(await checkInvariants(adapter)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
