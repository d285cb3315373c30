import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type StorageAdapter } from '../src';
import { checkInvariants } from '../src/testing/invariants';
import { ModelMismatch, planManagerCommands, runPlanManagerModel } from '../src/testing/model';

/**
 * The PlanManager on the memory adapter against the testing kit's reference model: random
 * command sequences, each command's outcome and the records compared with the model, a
 * refused command checked to change nothing, every invariant checked after each command.
 */
const RUNS = 1_000;

function deterministicManager(retention: 'all' | { events: number } = 'all') {
  let tick = 0;
  let next = 0;
  const adapter = memoryAdapter();
  // A restarted process (or one over a copy) goes on with the same clock and ids, and the same retention.
  const open = (store: StorageAdapter) =>
    new PlanManager({
      adapter: store,
      retention,
      clock: () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000),
      ids: () => `id-${++next}`,
    });
  return { adapter, manager: open(adapter), open };
}

describe('PlanManager against the reference model', () => {
  it(`agrees with the model and keeps every invariant over ${RUNS} random command sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), async (commands) => {
        let built: ReturnType<typeof deterministicManager> | undefined;
        await runPlanManagerModel(
          () => (built = deterministicManager()).manager,
          commands,
          () => ({ adapter: built!.adapter, open: built!.open }),
        );
        // The kit checks the records it knows after each command; the whole store once more at the end.
        expect(await checkInvariants(built!.adapter)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with the model with bounded history (retention { events: 2 }), across restarts, recoveries and copies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), async (commands) => {
        let built: ReturnType<typeof deterministicManager> | undefined;
        await runPlanManagerModel(
          () => (built = deterministicManager({ events: 2 })).manager,
          commands,
          () => ({ adapter: built!.adapter, open: built!.open }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('reports a manager that breaks the rules (the model bites)', async () => {
    // A manager that quietly runs every plan in free ordering, whatever the plan asked for. The
    // model finds it within 14 to 127 sequences in most seeds, past 300 in about 1 of 15 (measured
    // over 60 seeds): 3,000 keeps the test from missing it, and it stops at the first found.
    const cheat = () => {
      const { manager } = deterministicManager();
      const createPlan = manager.createPlan.bind(manager);
      manager.createPlan = (input) => createPlan({ ...input, ordering: 'free' });
      return manager;
    };
    const failure = await fc
      .assert(
        fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), (commands) => runPlanManagerModel(cheat, commands)),
        { numRuns: 3_000 },
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error & { cause?: unknown }).cause ?? failure)).toMatch(ModelMismatch.name);
  });
});
