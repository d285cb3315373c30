import type { StorageAdapter } from '../../adapters/contract';
import { InstancePlanError } from '../../errors';
import { replay } from '../../manager/history';
import { PlanManager } from '../../manager/plan-manager';
import { check, checkEqual } from './assert';
import { createBatch, instanceRecord, planRecord, updateOf } from './fixtures';
import type { Harness } from './harness';

/** Runs commits at once; checks exactly one landed and every other was refused with CONFLICT. Returns the winner's index. */
async function exactlyOneWins(commits: Promise<void>[], what: string): Promise<number> {
  const outcomes = await Promise.allSettled(commits);
  const won = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
  check(won.length === 1, `${what}: exactly one commit must win, ${won.length} did`);
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') {
      check(InstancePlanError.is(outcome.reason, 'CONFLICT'), `${what}: the losers must be refused with CONFLICT, got ${String(outcome.reason)}`);
    }
  }
  return won[0]!;
}

/** Delegates to an adapter, counting the conflicts it reports (works for class-based adapters too). */
function counting(adapter: StorageAdapter) {
  const counter = { conflicts: 0 };
  const wrapped: StorageAdapter = {
    get: (kind, id) => adapter.get(kind, id),
    list: (kind, query) => adapter.list(kind, query),
    history: (id) => adapter.history(id),
    commit: async (batch) => {
      try {
        await adapter.commit(batch);
      } catch (error) {
        if (InstancePlanError.is(error, 'CONFLICT')) counter.conflicts++;
        throw error;
      }
    },
  };
  return { adapter: wrapped, counter };
}

export function concurrency(h: Harness): void {
  h.describe('concurrent writers', () => {
    h.it('two concurrent commits over one version: exactly one wins', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      const updates = [updateOf('plan', plan, { title: 'by A' }), updateOf('plan', plan, { title: 'by B' })];
      const winner = await exactlyOneWins(updates.map((update) => adapter.commit(update.batch)), 'two writers on one handle');
      checkEqual(await adapter.get('plan', 'plan-1'), updates[winner]!.record, 'the stored plan is the winner\'s');
      checkEqual(await adapter.history('plan-1'), [...createBatch(['plan', plan]).events, ...updates[winner]!.batch.events], 'history holds the winner\'s event only');
    });

    h.it('two handles on one store: exactly one of two concurrent commits wins', async ({ adapter, connect }) => {
      const other = await connect();
      const instance = instanceRecord({ id: 'instance-1' });
      await adapter.commit(createBatch(['instance', instance]));
      const updates = [updateOf('instance', instance, { turn_count: 4 }), updateOf('instance', instance, { turn_count: 5 })];
      const winner = await exactlyOneWins([adapter.commit(updates[0]!.batch), other.commit(updates[1]!.batch)], 'two writers on two handles');
      checkEqual(await other.get('instance', 'instance-1'), updates[winner]!.record, 'the stored instance, read through the other handle');
    });

    h.it('ten concurrent creators of one id: exactly one wins', async ({ adapter, connect }) => {
      const other = await connect();
      const candidates = Array.from({ length: 10 }, (_, i) => planRecord({ id: 'contested', title: `by writer ${i}` }));
      const winner = await exactlyOneWins(
        candidates.map((plan, i) => (i % 2 === 0 ? adapter : other).commit(createBatch(['plan', plan]))),
        'ten creators of one plan',
      );
      checkEqual(await adapter.get('plan', 'contested'), candidates[winner], 'the stored plan is the winner\'s');
      checkEqual((await adapter.history('contested')).length, 1, 'history holds one creation');
    });

    h.it('two managers on two handles racing on one plan lose no update', async ({ adapter, connect }) => {
      const a = counting(adapter);
      const b = counting(await connect());
      const options = { retries: 100, clock: () => new Date('2025-03-01T09:00:00.000Z') };
      const managerA = new PlanManager({ ...options, adapter: a.adapter });
      const managerB = new PlanManager({ ...options, adapter: b.adapter });
      const instance = await managerA.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
      await managerA.transitionInstance(instance.id, { status: 'running' });
      const steps = Array.from({ length: 6 }, (_, i) => ({ title: `Step ${i + 1}`, type: 'process' as const }));
      const plan = await managerA.createPlan({ instance_id: instance.id, title: 'Race', ordering: 'free', steps });

      // A completes the six steps while B appends six more: every call starts at once.
      await Promise.all([
        ...plan.steps.map((step, i) => managerA.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'completed', step_output: `done ${i + 1}` })),
        ...steps.map((_, i) => managerB.updatePlan({ plan_id: plan.id, steps: [{ title: `Extra ${i + 1}`, type: 'review' }] })),
      ]);

      const stored = await managerB.getPlan(plan.id);
      check(a.counter.conflicts + b.counter.conflicts > 0, 'the managers must actually have collided (no CONFLICT was seen)');
      checkEqual(stored.version, 13, 'the plan version after 12 changes');
      checkEqual(
        stored.steps.map((step) => [step.title, step.status, step.output]),
        [
          ...plan.steps.map((step, i) => [step.title, 'completed', `done ${i + 1}`]),
          ...stored.steps.slice(6).map((step) => [step.title, 'pending', null]),
        ],
        'every completion kept',
      );
      checkEqual(stored.steps.slice(6).map((step) => step.title).sort(), steps.map((_, i) => `Extra ${i + 1}`).sort(), 'every appended step kept');
      const history = await managerA.history(plan.id);
      checkEqual(history.map((event) => event.seq), Array.from({ length: 13 }, (_, i) => i + 1), 'one event per version');
      checkEqual(replay(history), stored, 'replaying the history yields the stored plan');
    });
  });
}
