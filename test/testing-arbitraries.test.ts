import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src';
import { createInputSchemas } from '../src/tool';
import { instanceLogic, planLogic, stepLogic } from '../src/machines';
import {
  instanceInputArbitrary,
  machineWalkArbitrary,
  planInputArbitrary,
  stepInputArbitrary,
  toolCallArbitrary,
} from '../src/testing/arbitraries';

/** The kit's "valid" arbitraries must only ever produce input the manager accepts. */
const schemas = createInputSchemas(DEFAULT_LIMITS);
const accepted = (schema: { safeParse(input: unknown): { success: boolean; error?: { issues: unknown } } }) => (input: unknown) => {
  const result = schema.safeParse(input);
  expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
};

describe('the testing kit arbitraries', () => {
  it('instance, step and plan inputs are valid for the default limits', () => {
    fc.assert(fc.property(instanceInputArbitrary(), accepted(schemas.createInstance)), { numRuns: 2_000 });
    // Nested "__proto__" keys in details are refused by the manager, so they must never be generated.
    fc.assert(fc.property(stepInputArbitrary(), accepted(schemas.stepInput)), { numRuns: 5_000 });
    fc.assert(fc.property(planInputArbitrary('instance-1'), accepted(schemas.createPlan)), { numRuns: 1_000 });
  });

  it('tool calls match the tool schema', () => {
    fc.assert(fc.property(toolCallArbitrary({ instance_id: 'i', plan_id: 'p', step_id: 's' }), accepted(schemas.tool)), { numRuns: 2_000 });
  });

  it('machine walks take only edges of the machine', () => {
    for (const logic of [instanceLogic, planLogic, stepLogic]) {
      fc.assert(
        fc.property(machineWalkArbitrary(logic as typeof instanceLogic), (walk) => {
          let state: string = logic.initial;
          for (const next of walk) {
            expect((logic.targets as (s: string) => readonly string[])(state)).toContain(next);
            state = next;
          }
        }),
        { numRuns: 500 },
      );
    }
  });
});
