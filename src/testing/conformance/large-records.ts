import { DEFAULT_LIMITS, type Limits } from '../../schemas/limits';
import type { Plan } from '../../schemas/records';
import { checkEqual } from './assert';
import { createBatch, planRecord, stepRecord, updateOf } from './fixtures';
import type { Harness } from './harness';

/** Text of exactly `length` characters that differs from step to step (no store-side dedupe hides a loss). */
function text(length: number, seed: number): string {
  const unit = `${seed}:ünïcödé 😀 text;`;
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** How many steps with every text at its limit fit in one plan: `maxSteps`, or fewer where `maxPlanTextLength` binds first. */
function fullSteps(limits: Limits): number {
  const own = limits.maxTitleLength + 2 * limits.maxDescriptionLength;
  const step = limits.maxTitleLength + limits.maxDescriptionLength + limits.maxOutputLength + limits.maxDetailsLength;
  return Math.max(0, Math.min(limits.maxSteps, Math.floor((limits.maxPlanTextLength - own) / step)));
}

/** The largest plan a manager with these limits accepts: every step full, every text at its limit. */
export function largestPlan(limits: Limits): Plan {
  const steps = Array.from({ length: fullSteps(limits) }, (_, i) =>
    stepRecord({
      id: `step-${i}`,
      title: text(limits.maxTitleLength, i),
      description: text(limits.maxDescriptionLength, i),
      status: 'completed',
      output: text(limits.maxOutputLength, i),
      attempts: 1,
      details: { blob: text(limits.maxDetailsLength - 20, i) },
    }),
  );
  return planRecord({
    id: 'plan-large',
    title: text(limits.maxTitleLength, -1),
    description: text(limits.maxDescriptionLength, -2),
    summary: text(limits.maxDescriptionLength, -3),
    steps,
  });
}

export function largeRecords(h: Harness, limits: Limits = DEFAULT_LIMITS): void {
  h.describe('large records', () => {
    h.it(`a plan at the limits (${fullSteps(limits)} full steps) round-trips through get, list, history and an update`, async ({ adapter }) => {
      const plan = largestPlan(limits);
      const created = createBatch(['plan', plan]);
      await adapter.commit(created);
      checkEqual(await adapter.get('plan', plan.id), plan, 'get of the large plan');
      checkEqual(await adapter.list('plan', { where: { instance_id: plan.instance_id }, limit: 1, offset: 0 }), { records: [plan], total: 1 }, 'list of the large plan');
      const next = updateOf('plan', plan, { status: 'completed' });
      await adapter.commit(next.batch);
      checkEqual(await adapter.get('plan', plan.id), next.record, 'get after updating the large plan');
      checkEqual(await adapter.history(plan.id), [...created.events, ...next.batch.events], 'history of the large plan');
    });
  });
}
