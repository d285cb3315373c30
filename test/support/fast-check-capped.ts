/**
 * fast-check with the number of runs capped, for mutation testing only (`npm run mutation`).
 *
 * vitest.mutation.config.ts aliases the exact module id `fast-check` to this file; everything
 * else (vitest.config.ts, `npm test`, CI) imports the real package untouched. The property tests
 * ask for 150-3,000 runs each, and with per-test coverage the model-based test covers nearly
 * every mutant, so Stryker would spend hours re-running the same properties: under mutation each
 * `fc.assert`/`fc.check` runs at most MUTATION_MAX_RUNS times, with a fixed seed unless the test
 * gives one, so that a run is reproducible and an incremental run judges a mutant the same way.
 *
 * The real package is imported by its file path: the alias matches only the bare id, so this
 * import is not redirected back here.
 */
import { expect } from 'vitest';
import * as real from '../../node_modules/fast-check/lib/fast-check.js';

export * from '../../node_modules/fast-check/lib/fast-check.js';

/** At most this many runs per property under mutation (each test's own `numRuns` when lower). */
export const MUTATION_MAX_RUNS = 60;
/** The seed used when a test does not give one. */
export const MUTATION_SEED = 20_260_501;

/**
 * Tests that assert on their own sampling (how many runs happened, what share of random events
 * took an edge, that every category of bad input came up, that a cheating manager is caught
 * within its runs): a cap would make them fail without any mutant, so they keep their own
 * `numRuns` and random seed. Named as vitest names them (`describe > it`); a renamed test
 * fails the initial run loudly rather than being capped silently.
 */
export const UNCAPPED_TESTS: ReadonlySet<string> = new Set([
  "compileMachine(...).resolve agrees with XState transition() > 'instance' machine (random states and events)",
  "compileMachine(...).resolve agrees with XState transition() > 'step' machine (random states and events)",
  'compileMachine(...).resolve agrees with XState transition() > plan machine (random states, contexts, events and summaries)',
  "the effects of every edge are the same through XState and through the compiled machines > 'instance' machine: random states, records and events",
  "the effects of every edge are the same through XState and through the compiled machines > 'step' machine: random states, records and events",
  "the effects of every edge are the same through XState and through the compiled machines > 'plan' machine: random states, records and events",
  'PlanManagers sharing one store, interleaved by the scheduler > no update is lost and every refusal is explainable (retries on, 3 managers)',
  'PlanManager against the reference model > reports a manager that breaks the rules (the model bites)',
  'bad input through manager.handle > never throws, always answers { success: false, error }, and changes nothing (property)',
]);

type Parameters = { numRuns?: number; seed?: number } | undefined;

function capped<P extends Parameters>(parameters: P): P {
  const test = expect.getState().currentTestName;
  if (test !== undefined && UNCAPPED_TESTS.has(test)) return parameters;
  const asked = parameters?.numRuns ?? real.readConfigureGlobal().numRuns ?? 100;
  return { seed: MUTATION_SEED, ...parameters, numRuns: Math.min(asked, MUTATION_MAX_RUNS) } as P;
}

export const assert: typeof real.assert = ((property: unknown, parameters?: Parameters) =>
  (real.assert as (p: unknown, q: Parameters) => unknown)(property, capped(parameters))) as typeof real.assert;

export const check: typeof real.check = ((property: unknown, parameters?: Parameters) =>
  (real.check as (p: unknown, q: Parameters) => unknown)(property, capped(parameters))) as typeof real.check;

const fc: typeof real.default = { ...real.default, assert, check };
export default fc;
