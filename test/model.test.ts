import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager } from '../src';
import { checkInvariants } from '../src/testing/invariants';
import { ModelMismatch, planManagerCommands, runPlanManagerModel } from '../src/testing/model';

/**
 * The PlanManager on the memory adapter against the testing kit's reference model: random
 * command sequences, each command's outcome and the records compared with the model, a
 * refused command checked to change nothing, every invariant checked after each command.
 */
const RUNS = 1_000;

function deterministicManager() {
  let tick = 0;
  let next = 0;
  const adapter = memoryAdapter();
  const manager = new PlanManager({
    adapter,
    clock: () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000),
    ids: () => `id-${++next}`,
  });
  return { adapter, manager };
}

describe('PlanManager against the reference model', () => {
  it(`agrees with the model and keeps every invariant over ${RUNS} random command sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), async (commands) => {
        let adapter: ReturnType<typeof memoryAdapter> | undefined;
        await runPlanManagerModel(() => {
          const built = deterministicManager();
          adapter = built.adapter;
          return built.manager;
        }, commands);
        // The kit checks the records it knows after each command; the whole store once more at the end.
        expect(await checkInvariants(adapter!)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('reports a manager that breaks the rules (the model bites)', async () => {
    // A manager that quietly runs every plan in free ordering, whatever the plan asked for.
    const cheat = () => {
      const { manager } = deterministicManager();
      const createPlan = manager.createPlan.bind(manager);
      manager.createPlan = (input) => createPlan({ ...input, ordering: 'free' });
      return manager;
    };
    const failure = await fc
      .assert(
        fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), (commands) => runPlanManagerModel(cheat, commands)),
        { numRuns: 300 },
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error & { cause?: unknown }).cause ?? failure)).toMatch(ModelMismatch.name);
  });
});
