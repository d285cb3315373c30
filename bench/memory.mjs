// executeStep on the memory adapter: against the floor, layer by layer, and as plans grow;
// listPlans as the store grows; heap per stored plan.
import { enablePatches, Immer } from 'immer';
import { memoryAdapter, PlanManager } from '../dist/index.js';
import { planLogic, stepLogic } from '../dist/machines/index.js';
import { createInputSchemas } from '../dist/tool/index.js';
import { planRecord, stepRecord } from '../dist/testing/index.js';
import { measure, measureTogether } from './harness.mjs';
import { profileShares } from './profile.mjs';
import { referenceStore } from './reference.mjs';

enablePatches();
const immer = new Immer({ autoFreeze: false });

function counter(prefix) {
  let next = 0;
  return () => `${prefix}-${++next}`;
}

/** A manager on a fresh memory adapter holding one running instance and one plan of `size` steps. */
export async function planOfSize(size, options = {}) {
  const adapter = memoryAdapter();
  const manager = new PlanManager({ adapter, ids: counter('id'), limits: { maxSteps: Math.max(size, 1) }, ...options });
  const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'bench' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const steps = Array.from({ length: size }, (_, i) => ({ title: `step ${i + 1}`, type: 'tool_call', details: { tool: 'search', arguments: { query: `q${i}` } } }));
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'bench plan', ordering: 'free', steps });
  return { adapter, manager, instance, plan };
}

/**
 * An endless legal sequence of executeStep calls on one step: pending -> in_progress, then
 * failed <-> in_progress (a retry loop). Each call is a real, committed change.
 */
export function toggler(plan, stepIndex) {
  const step = plan.steps[stepIndex];
  let next = 'in_progress';
  return () => {
    const to = next;
    next = to === 'in_progress' ? 'failed' : 'in_progress';
    return { plan_id: plan.id, step_id: step.id, step_status: to, ...(to === 'failed' ? { step_output: 'timed out' } : {}) };
  };
}

export async function executeStepVersusFloor() {
  const { manager, plan } = await planOfSize(10);
  const inputs = toggler(plan, 4);
  const reference = referenceStore();
  reference.put(structuredClone(plan));
  let to = 'in_progress';
  return measureTogether(
    {
      ours: { fn: () => manager.executeStep(inputs()), batch: 500 },
      floor: {
        fn: () => {
          reference.executeStep(plan.id, plan.steps[4].id, to, to === 'failed' ? 'timed out' : undefined, '2026-01-01T00:00:00.000Z');
          to = to === 'in_progress' ? 'failed' : 'in_progress';
        },
        batch: 5_000,
      },
    },
    { rounds: 40 },
  );
}

/** The cost of each layer of executeStep, each measured alone with the library's own parts. */
export async function layers() {
  const { adapter, manager, plan } = await planOfSize(10);
  const schemas = createInputSchemas(manager.limits);
  const input = { plan_id: plan.id, step_id: plan.steps[4].id, step_status: 'failed', step_output: 'timed out' };
  const stored = await adapter.get('plan', plan.id);

  let version = stored.version;
  const event = (seq) => ({
    seq,
    record_id: plan.id,
    record_kind: 'plan',
    at: '2026-01-01T00:00:00.000Z',
    type: 'plan.step_executed',
    from: 'in_progress',
    to: 'in_progress',
    step: { id: plan.steps[4].id, from: 'in_progress', to: 'failed' },
    changes: [{ op: 'replace', path: ['steps', 4, 'status'], value: 'failed' }],
  });
  const commit = (withEvent) => () => {
    // Frozen, sharing its steps with the stored plan, as the manager's records are: stored as it is.
    const record = Object.freeze({ ...stored, version: version + 1 });
    const batch = { writes: [{ kind: 'plan', record, expected_version: version }], events: withEvent ? [Object.freeze(event(version + 1))] : [] };
    version += 1;
    return adapter.commit(batch);
  };
  const quiet = await planOfSize(10);
  const quietInputs = toggler(quiet.plan, 4);
  const heard = await planOfSize(10);
  heard.manager.subscribe(() => {});
  const heardInputs = toggler(heard.plan, 4);

  const m = await measureTogether(
    {
      validation: { fn: () => schemas.executeStep.safeParse(input), batch: 2_000 },
      machine: {
        fn: () => {
          planLogic.resolve(stored.status, { type: 'executeStep' });
          stepLogic.resolve('in_progress', { type: 'failed' });
        },
        batch: 10_000,
      },
      read: { fn: () => adapter.get('plan', plan.id), batch: 1_000 },
      produce: {
        fn: () =>
          immer.produceWithPatches(stored, (draft) => {
            const step = draft.steps[4];
            step.status = 'failed';
            step.output = 'timed out';
            step.completed_at = null;
            draft.updated_at = '2026-01-01T00:00:00.000Z';
            draft.version += 1;
          }),
        batch: 1_000,
      },
      commitOnly: { fn: commit(false), batch: 1_000 },
      commitWithEvent: { fn: commit(true), batch: 1_000 },
      withoutListener: { fn: () => quiet.manager.executeStep(quietInputs()), batch: 300 },
      withListener: { fn: () => heard.manager.executeStep(heardInputs()), batch: 300 },
    },
    { rounds: 30 },
  );

  return {
    validation: m.validation,
    machine: m.machine,
    read: m.read,
    produce: m.produce,
    commit: m.commitOnly,
    historyEvent: Math.max(m.commitWithEvent - m.commitOnly, 0),
    notification: Math.max(m.withListener - m.withoutListener, 0),
    total: m.withoutListener,
  };
}

/** All of executeStep's time (memory, a 10-step plan) by the source file or package it is spent in. */
export async function profileExecuteStep() {
  const { manager, plan } = await planOfSize(10);
  const inputs = toggler(plan, 4);
  return profileShares(() => manager.executeStep(inputs()));
}

export async function executeStepGrowth(sizes = [10, 100, 1_000, 10_000]) {
  const subjects = {};
  for (const size of sizes) {
    const { manager, plan } = await planOfSize(size);
    const inputs = toggler(plan, size - 1);
    subjects[size] = { fn: () => manager.executeStep(inputs()), batch: Math.max(5, Math.round(10_000 / size)) };
  }
  const medians = await measureTogether(subjects, { rounds: 20 });
  return sizes.map((size) => ({ size, us: medians[size] }));
}

/** listPlans with a filter and limit 20 over a store of `count` plans (a fifth of them match). */
export async function listGrowth(adapterFactory, counts = [1_000, 10_000, 100_000]) {
  const results = [];
  for (const count of counts) {
    const adapter = await adapterFactory();
    const manager = new PlanManager({ adapter, ids: counter('p') });
    await fillPlans(adapter, count);
    const us = await measure(() => manager.listPlans({ instance_id: 'instance-0', limit: 20 }), { batch: 50, rounds: 20 });
    results.push({ count, us });
    await adapter.close?.();
  }
  return results;
}

/** Stores `count` plans of `stepsPerPlan` steps directly through the adapter, 1,000 per batch. */
export async function fillPlans(adapter, count, stepsPerPlan = 0) {
  const steps = Array.from({ length: stepsPerPlan }, (_, i) =>
    stepRecord({ id: `s-${i}`, title: `step ${i}`, details: { tool: 'search', arguments: { query: `q${i}` } } }),
  );
  for (let start = 0; start < count; start += 1_000) {
    const writes = [];
    const events = [];
    for (let i = start; i < Math.min(start + 1_000, count); i++) {
      const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
      const record = planRecord({
        id: `plan-${i}`,
        instance_id: `instance-${i % 5}`,
        title: `plan ${i}`,
        status: i % 2 ? 'pending' : 'in_progress',
        steps,
        created_at: at,
        updated_at: at,
      });
      writes.push({ kind: 'plan', record, expected_version: null });
      events.push({ seq: 1, record_id: record.id, record_kind: 'plan', at, type: 'plan.created', from: null, to: record.status, changes: [{ op: 'replace', path: [], value: record }] });
    }
    await adapter.commit({ writes, events });
  }
}

/** Heap held per 10,000 stored plans of 20 steps on the memory adapter (history included). */
export async function heapPer10k() {
  const gc = globalThis.gc;
  if (!gc) return undefined;
  gc();
  const before = process.memoryUsage().heapUsed;
  const adapter = memoryAdapter();
  await fillPlans(adapter, 10_000, 20);
  gc();
  const after = process.memoryUsage().heapUsed;
  const keep = adapter; // held until measured
  return { bytes: after - before, plans: keep ? 10_000 : 0 };
}
