import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PlanManager,
  PlanStatus,
  StepStatus,
  memoryAdapter,
  replay,
  type HistoryEvent,
  type Instance,
  type Plan,
  type StorageAdapter,
} from '../src';
import { readSpecTables } from './support/spec-tables';
import { sequentialIds, settle, testClock } from './support/core-fixtures';

/** test/spec/transitions.md: the tables every status move is checked against. */
const spec = readSpecTables();

/** The strict execution path (the default ordering): these step moves need every earlier step completed. */
const ORDERED_STEP_TARGETS: readonly string[] = ['in_progress', 'completed'];

// ---------------------------------------------------------------------------------------------
// Operations on one plan, as plain data: the same call can be replayed sequentially later.

type Op =
  | { kind: 'exec'; index: number; to: StepStatus }
  | { kind: 'status'; to: PlanStatus; summary: string | undefined }
  | { kind: 'append' }
  | { kind: 'title' };

type Call = { method: 'executeStep'; input: Parameters<PlanManager['executeStep']>[0] } | { method: 'updatePlan'; input: Parameters<PlanManager['updatePlan']>[0] };

function toCall(op: Op, position: number, plan: Plan): Call {
  switch (op.kind) {
    case 'exec': {
      const output = op.to === 'completed' || op.to === 'failed' ? { step_output: `output of call ${position}` } : {};
      return { method: 'executeStep', input: { plan_id: plan.id, step_id: plan.steps[op.index % plan.steps.length]!.id, step_status: op.to, ...output } };
    }
    case 'status':
      return { method: 'updatePlan', input: { plan_id: plan.id, status: op.to, ...(op.summary === undefined ? {} : { summary: op.summary }) } };
    case 'append':
      return { method: 'updatePlan', input: { plan_id: plan.id, steps: [{ title: `Extra from call ${position}`, type: 'review' }] } };
    case 'title':
      return { method: 'updatePlan', input: { plan_id: plan.id, title: `Title from call ${position}` } };
  }
}

function invoke(manager: PlanManager, call: Call): Promise<Plan> {
  return call.method === 'executeStep' ? manager.executeStep(call.input) : manager.updatePlan(call.input);
}

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('exec' as const), index: fc.nat({ max: 2 }), to: fc.constantFrom(...StepStatus.options) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      to: fc.constantFrom(...PlanStatus.options),
      summary: fc.constantFrom(undefined, '', 'Finished: every step done'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'append' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'title' as const }) },
);

/** A store whose every call lands when the fast-check scheduler says so (reads and commits interleave). */
function scheduledAdapter(s: fc.Scheduler, inner: StorageAdapter): StorageAdapter {
  const land = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    await s.schedule(Promise.resolve(), label);
    return run();
  };
  return {
    get: (kind, id) => land(`get ${kind} ${id}`, () => inner.get(kind, id)),
    list: (kind, query) => land(`list ${kind}`, () => inner.list(kind, query)),
    history: (id) => land(`history ${id}`, () => inner.history(id)),
    commit: (batch) =>
      land(`commit ${batch.writes.map((w) => `${w.kind} ${w.record.id} v${w.expected_version}->v${w.record.version}`).join(', ')}`, () => inner.commit(batch)),
  };
}

/**
 * Runs calls one at a time against a fresh store holding given records: what a sequential
 * execution would answer in that state. One manager, a swappable store (construction is the
 * expensive part); the clock and ids are set per replay so a write can be reproduced exactly.
 */
function sequentialOracle() {
  let store = memoryAdapter();
  let at = new Date(0).toISOString();
  let ids: string[] = [];
  const proxy: StorageAdapter = {
    get: (kind, id) => store.get(kind, id),
    list: (kind, query) => store.list(kind, query),
    history: (id) => store.history(id),
    commit: (batch) => store.commit(batch),
  };
  const manager = new PlanManager({ adapter: proxy, clock: () => new Date(at), ids: () => ids.shift() ?? 'an-id-nobody-generated', retries: 0 });
  return async (call: Call, plan: Plan, instance: Instance, options: { at?: string; ids?: string[] } = {}) => {
    store = memoryAdapter();
    await store.commit({
      writes: [
        { kind: 'plan', record: plan, expected_version: null },
        { kind: 'instance', record: instance, expected_version: null },
      ],
      events: [],
    });
    at = options.at ?? new Date(0).toISOString();
    ids = [...(options.ids ?? [])];
    return settle(invoke(manager, call));
  };
}

function checkEdge(before: Plan, after: Plan) {
  expect(after.version).toBe(before.version + 1);
  if (after.status !== before.status) expect(spec.plan.allows(before.status, after.status), `${before.status} -> ${after.status}`).toBe(true);
  expect(after.steps.length).toBeGreaterThanOrEqual(before.steps.length);
  before.steps.forEach((step, i) => {
    const next = after.steps[i]!;
    expect(next.id).toBe(step.id);
    if (next.status !== step.status) expect(spec.step.allows(step.status, next.status), `step ${step.status} -> ${next.status}`).toBe(true);
  });
}

function checkInvariants(plan: Plan) {
  if (plan.status === 'completed') {
    expect(plan.steps.every((step) => step.status === 'completed')).toBe(true);
    expect(plan.summary ?? '').toMatch(/\S/);
  }
  if (plan.ordering === 'strict') {
    plan.steps.forEach((step, index) => {
      if (ORDERED_STEP_TARGETS.includes(step.status)) expect(plan.steps.slice(0, index).every((s) => s.status === 'completed')).toBe(true);
    });
  }
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

interface Scenario {
  stepCount: number;
  ordering: 'strict' | 'free';
  prelude: Op[];
  calls: { manager: number; op: Op }[];
}

const scenario = (managers: number): fc.Arbitrary<Scenario> =>
  fc.record({
    stepCount: fc.integer({ min: 2, max: 3 }),
    ordering: fc.constantFrom('strict' as const, 'free' as const),
    prelude: fc.array(op, { maxLength: 4 }),
    calls: fc.array(fc.record({ manager: fc.nat({ max: managers - 1 }), op }), { minLength: 2, maxLength: 8 }),
  });

interface Stats {
  runs: number;
  successes: number;
  writes: number;
  conflicts: number;
  refusals: Map<string, number>;
}

/**
 * Sets a plan up, lets `managers` PlanManagers (sharing one store, interleaved by the scheduler)
 * run the calls, then proves the outcome linearizable: every committed version is exactly one
 * successful call applied to the version before it, every success is reflected in history,
 * every refusal is what a sequential execution answers in some committed state, and every
 * CONFLICT lost a real race after its retries.
 */
async function runScenario(s: fc.Scheduler, sc: Scenario, managers: number, retries: number, stats: Stats) {
  const base = memoryAdapter();
  const clock = testClock();
  const ids = sequentialIds('c');
  const setup = new PlanManager({ adapter: base, clock, ids });
  const instance = await setup.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
  await setup.transitionInstance(instance.id, { status: 'running' });
  let plan = await setup.createPlan({
    instance_id: instance.id,
    title: 'Shared plan',
    ordering: sc.ordering,
    steps: range(1, sc.stepCount).map((i) => ({ title: `Step ${i}`, type: 'process' as const })),
  });
  for (const [i, prelude] of sc.prelude.entries()) await settle(invoke(setup, toCall(prelude, -1 - i, plan)));
  plan = await setup.getPlan(plan.id);
  const start = { plan: plan.version, instance: (await setup.getInstance(instance.id)).version };

  const shared = scheduledAdapter(s, base);
  const pool = range(1, managers).map(() => new PlanManager({ adapter: shared, clock, ids, retries }));
  const calls = sc.calls.map(({ manager, op: o }, position) => ({ manager, call: toCall(o, position, plan) }));
  const pending = calls.map(({ manager, call }, position) =>
    s.schedule(Promise.resolve(), `start call ${position}`).then(() => settle(invoke(pool[manager]!, call))),
  );
  const outcomes = await s.waitFor(Promise.all(pending));

  // ---- the record and its history
  const final = await setup.getPlan(plan.id);
  const history = await base.history(plan.id);
  const n = final.version;
  expect(history.map((event) => event.seq)).toEqual(range(1, n));
  const states: Plan[] = [];
  for (let v = 1; v <= n; v++) states[v] = replay<Plan>(history.slice(0, v))!;
  expect(states[n]).toEqual(final);
  for (let v = start.plan + 1; v <= n; v++) {
    checkEdge(states[v - 1]!, states[v]!);
    checkInvariants(states[v]!);
  }
  const finalInstance = await setup.getInstance(instance.id);
  const instanceHistory = await base.history(instance.id);
  expect(instanceHistory.map((event) => event.seq)).toEqual(range(1, finalInstance.version));
  expect(replay(instanceHistory)).toEqual(finalInstance);
  // a step going in_progress and the instance's current_step are one atomic batch
  const lastStart = [...history].reverse().find((event) => event.step?.to === 'in_progress');
  expect(finalInstance.current_step).toBe(lastStart ? states[lastStart.seq]!.steps.find((step) => step.id === lastStart.step!.id)!.title : null);

  const sequential = sequentialOracle();
  const writerAt = async (call: Call, v: number) => {
    if (v <= start.plan) return false;
    const event = history[v - 1]!;
    const appended = states[v]!.steps.slice(states[v - 1]!.steps.length).map((step) => step.id);
    const replayed = await sequential(call, states[v - 1]!, finalInstance, { at: event.at, ids: appended });
    return replayed.ok && isDeepStrictEqual(replayed.value, states[v]);
  };
  const noopAt = async (call: Call, v: number) => {
    const replayed = await sequential(call, states[v]!, finalInstance);
    return replayed.ok && replayed.value.version === v;
  };

  // ---- every success is reflected in history, and explained
  const mustWrite = new Map<number, number>();
  const claimed = new Set<number>();
  for (const [position, outcome] of outcomes.entries()) {
    if (!outcome.ok) continue;
    stats.successes++;
    const v = outcome.value.version;
    expect(v).toBeGreaterThanOrEqual(start.plan);
    expect(v).toBeLessThanOrEqual(n);
    expect(outcome.value, `call ${position} answered a state that history does not hold`).toEqual(states[v]);
    const { call } = calls[position]!;
    const wrote = await writerAt(call, v);
    const noop = await noopAt(call, v);
    expect(wrote || noop, `call ${position} (${JSON.stringify(call)}) succeeded with v${v} but is neither its write nor a no-op there`).toBe(true);
    if (wrote) claimed.add(v);
    if (wrote && !noop) mustWrite.set(v, (mustWrite.get(v) ?? 0) + 1);
  }
  for (const [v, count] of mustWrite) expect(count, `${count} successful calls each wrote v${v}: an update was lost`).toBe(1);
  // every committed version after the start came from a call that reported success
  for (let v = start.plan + 1; v <= n; v++) expect(claimed.has(v), `v${v} (${history[v - 1]!.type}) was written by no successful call`).toBe(true);
  stats.writes += n - start.plan;

  // ---- every refusal is a real one
  for (const [position, outcome] of outcomes.entries()) {
    if (outcome.ok) continue;
    const error = outcome.error;
    stats.refusals.set(error.code, (stats.refusals.get(error.code) ?? 0) + 1);
    // A CONFLICT about a step (the same status reported with another output) is a refusal of the
    // call itself, explained by a committed state like the others below; any other lost a race.
    const aboutStep = error.code === 'CONFLICT' && (error.details as { kind?: unknown }).kind === 'step';
    if (error.code === 'CONFLICT' && !aboutStep) {
      stats.conflicts++;
      const details = error.details as { kind: string; expected_version: number | null; actual_version: number | null; attempts: number };
      expect(details.attempts, 'a CONFLICT is reported only once the retries are spent').toBe(retries + 1);
      const events: HistoryEvent[] = details.kind === 'plan' ? history : instanceHistory;
      const startVersion = details.kind === 'plan' ? start.plan : start.instance;
      expect(details.expected_version).not.toBeNull();
      const expected = details.expected_version!;
      expect(expected).toBeGreaterThanOrEqual(startVersion);
      // the version it expected had been superseded by a committed change
      expect(events.some((event) => event.seq === expected + 1), `no commit superseded v${expected}`).toBe(true);
      expect(details.actual_version).toBeGreaterThan(expected);
      expect(details.actual_version).toBeLessThanOrEqual(events.length);
      if (details.kind === 'plan') {
        const winner = outcomes.some((other, i) => i !== position && other.ok && other.value.version === expected + 1);
        expect(winner, `the call that won v${expected + 1} reported success`).toBe(true);
      }
      continue;
    }
    expect(['INVALID_TRANSITION', 'STEP_ORDER', 'PLAN_CLOSED', 'VALIDATION_ERROR', 'CONFLICT']).toContain(error.code);
    let explained = false;
    for (let k = n; k >= start.plan && !explained; k--) {
      const replayed = await sequential(calls[position]!.call, states[k]!, finalInstance);
      explained = !replayed.ok && isDeepStrictEqual(replayed.error.toJSON(), error.toJSON());
    }
    expect(explained, `call ${position} refused with ${error.code} (${error.message}), which no committed state explains`).toBe(true);
  }
  stats.runs++;
}

function newStats(): Stats {
  return { runs: 0, successes: 0, writes: 0, conflicts: 0, refusals: new Map() };
}

describe('PlanManagers sharing one store, interleaved by the scheduler', () => {
  it('no update is lost and every refusal is explainable (retries on, 3 managers)', async () => {
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenario(3), async (s, sc) => {
        await runScenario(s, sc, 3, 5, stats);
      }),
      { numRuns: 300 },
    );
    expect(stats.runs).toBeGreaterThanOrEqual(300);
    // not vacuous: many concurrent writes landed, and the moves were refused for several reasons
    expect(stats.writes).toBeGreaterThan(300);
    expect(stats.refusals.get('INVALID_TRANSITION') ?? 0).toBeGreaterThan(0);
    expect(stats.refusals.get('STEP_ORDER') ?? 0).toBeGreaterThan(0);
    expect(stats.refusals.get('PLAN_CLOSED') ?? 0).toBeGreaterThan(0);
  });

  it('with retries: 0, conflicts happen, and each one really lost a race', async () => {
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenario(2), async (s, sc) => {
        await runScenario(s, sc, 2, 0, stats);
      }),
      { numRuns: 300 },
    );
    expect(stats.conflicts).toBeGreaterThan(20);
    expect(stats.successes).toBeGreaterThan(0);
  });

  it('the same step reported by many managers at once is written exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), fc.constantFrom<StepStatus>('in_progress', 'completed', 'failed'), async (s, count, to) => {
        const base = memoryAdapter();
        const clock = testClock();
        const ids = sequentialIds('d');
        const setup = new PlanManager({ adapter: base, clock, ids });
        const instance = await setup.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
        await setup.transitionInstance(instance.id, { status: 'running' });
        const plan = await setup.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'Only', type: 'tool_call' }] });
        const shared = scheduledAdapter(s, base);
        const input = { plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: to, ...(to === 'in_progress' ? {} : { step_output: 'same' }) };
        const pending = range(1, count).map((i) =>
          s.schedule(Promise.resolve(), `start ${i}`).then(() => settle(new PlanManager({ adapter: shared, clock, ids }).executeStep(input))),
        );
        const outcomes = await s.waitFor(Promise.all(pending));
        // every call succeeds (the losers re-read and find nothing to do), one write lands
        for (const outcome of outcomes) {
          if (!outcome.ok) expect.fail(`${outcome.error.code}: ${outcome.error.message}`);
          expect(outcome.value.version).toBe(2);
          expect(outcome.value.steps[0]).toMatchObject({ status: to, attempts: 1 });
        }
        const history = await base.history(plan.id);
        expect(history.map((event) => [event.seq, event.step?.to])).toEqual([
          [1, undefined],
          [2, to],
        ]);
        expect(replay(history)).toEqual(await setup.getPlan(plan.id));
      }),
      { numRuns: 200 },
    );
  });
});
