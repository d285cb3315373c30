import { checkEqual, check } from './assert';
import { AWKWARD_TEXT, createBatch, instanceRecord, planRecord, stepRecord, T0, at } from './fixtures';
import type { Harness } from './harness';

/** A plan exercising every field type: nulls, nested JSON, numbers at their edges, awkward text. */
export function richPlan() {
  return planRecord({
    id: 'plan-rich',
    instance_id: 'instance-rich',
    site_id: 'site-1',
    user_id: 'user-1',
    agent_id: 'agent-1',
    title: `Title: ${AWKWARD_TEXT}`,
    description: AWKWARD_TEXT,
    plan_type: 'task',
    ordering: 'free',
    status: 'in_progress',
    summary: '',
    created_at: T0,
    updated_at: at(5),
    version: 1,
    steps: [
      stepRecord({
        id: 'step-a',
        status: 'completed',
        output: AWKWARD_TEXT,
        attempts: 2,
        started_at: at(1),
        completed_at: at(2),
        details: {
          tool: 'search',
          arguments: { query: AWKWARD_TEXT, limit: 10, exact: false, filters: null, tags: [], nested: { deeper: [[1, [2, [3]]], {}] } },
          numbers: [0, -1, 1.5, -0.25, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
          empty: '',
        },
      }),
      stepRecord({ id: 'step-b', type: 'user_input', description: '', status: 'failed', output: '', attempts: 1, started_at: at(3) }),
      stepRecord({ id: 'step-c', type: 'review' }),
    ],
  });
}

export function roundTrip(h: Harness): void {
  h.describe('round trip', () => {
    h.it('get returns an instance and a plan exactly as committed', async ({ adapter }) => {
      const instance = instanceRecord({ id: 'instance-rich', task_id: 'task-1', current_step: AWKWARD_TEXT, session_id: null });
      const plan = richPlan();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      checkEqual(await adapter.get('instance', instance.id), instance, 'get(instance)');
      checkEqual(await adapter.get('plan', plan.id), plan, 'get(plan)');
    });

    h.it('list and history return records and events exactly as committed', async ({ adapter }) => {
      const plan = richPlan();
      const batch = createBatch(['plan', plan]);
      batch.events[0]!.step = { id: 'step-a', from: 'pending', to: 'completed' };
      await adapter.commit(batch);
      checkEqual(await adapter.list('plan', { where: { instance_id: plan.instance_id }, limit: 10, offset: 0 }), { records: [plan], total: 1 }, 'list(plan)');
      checkEqual(await adapter.history(plan.id), batch.events, 'history(plan)');
    });

    h.it('get answers undefined for an unknown id, and the kinds do not share ids', async ({ adapter }) => {
      await adapter.commit(createBatch(['instance', instanceRecord({ id: 'shared-id' })]));
      check((await adapter.get('instance', 'missing')) === undefined, 'get(instance, unknown id) must be undefined');
      check((await adapter.get('plan', 'shared-id')) === undefined, 'get(plan, id of an instance) must be undefined: kinds are separate');
      checkEqual(await adapter.list('plan', { where: {}, limit: 10, offset: 0 }), { records: [], total: 0 }, 'list(plan) with only an instance stored');
    });
  });
}
