import type { StorageAdapter } from '../../adapters/contract';
import { replay } from '../../manager/history';
import { PlanManager } from '../../manager/plan-manager';
import { check, checkEqual } from './assert';
import { T0 } from './fixtures';
import type { ConformanceContext, Harness } from './harness';

/**
 * Recovery through the manager on this adapter: worker A dies mid-step (its lease runs out
 * unreleased), worker B on another handle takes the instance over. The new lease and every
 * settled plan are one commit: another handle sees all of it, and the histories replay.
 */
async function deadHolder({ adapter, connect }: ConformanceContext, wrap: (adapter: StorageAdapter) => StorageAdapter = (inner) => inner) {
  let now = Date.parse(T0);
  const clock = () => new Date(now);
  const a = new PlanManager({ adapter, clock });
  const other = await connect();
  const b = new PlanManager({ adapter: wrap(other), clock });
  const instance = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
  await a.transitionInstance(instance.id, { status: 'running' });
  const first = await a.createPlan({ instance_id: instance.id, title: 'First', ordering: 'free', steps: [{ title: 'One', type: 'process' }, { title: 'Two', type: 'process' }] });
  const second = await a.createPlan({ instance_id: instance.id, title: 'Second', steps: [{ title: 'Three', type: 'tool_call' }] });
  const workerA = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
  await workerA.executeStep({ plan_id: first.id, step_id: first.steps[1]!.id, step_status: 'in_progress' });
  await workerA.executeStep({ plan_id: second.id, step_id: second.steps[0]!.id, step_status: 'in_progress' });
  now += 1_000;
  return { a, b, other, instance, first, second, take: () => b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 }) };
}

export function recovery(h: Harness): void {
  h.describe('recovery: taking over an abandoned lease', () => {
    h.it('the new lease and every settled plan land in one commit, seen whole from another handle, and replay', async (context) => {
      const { a, b, instance, first, second, take } = await deadHolder(context);
      const lease = await take();
      checkEqual(
        lease.recovered?.steps.map((step) => [step.title, step.status]).sort(),
        [['Three', 'failed'], ['Two', 'failed']],
        'the steps recovered',
      );
      for (const manager of [a, b]) {
        checkEqual((await manager.getPlan(first.id)).steps.map((step) => step.status), ['pending', 'failed'], 'the first plan after recovery');
        checkEqual((await manager.getPlan(second.id)).steps.map((step) => step.status), ['failed'], 'the second plan after recovery');
        checkEqual((await context.adapter.get('lease', instance.id))?.token, 2, 'the new lease');
        for (const plan of [first, second]) {
          const events = await manager.history(plan.id);
          checkEqual(events.at(-1)?.type, 'plan.recovered', `the last event of ${plan.title}`);
          checkEqual(events.at(-1)?.recovery, { previous_owner: 'worker-a', previous_token: 1, owner: 'worker-b', token: 2 }, `the recovery named in ${plan.title}'s event`);
          checkEqual(replay(events), await manager.getPlan(plan.id), `${plan.title} replayed from its history`);
        }
      }
      const retried = await b.withLease(lease).executeStep({ plan_id: second.id, step_id: second.steps[0]!.id, step_status: 'in_progress' });
      checkEqual([retried.steps[0]!.status, retried.steps[0]!.attempts], ['in_progress', 2], 'the interrupted step retried by the new holder');
    });

    h.it('a plan changed by another handle between the listing and the commit is read again, and nothing is lost', async (context) => {
      let raced = false;
      let race: (() => Promise<unknown>) | undefined;
      // Runs the racing write once, right before the recovery's first commit reaches the store.
      const before = <T>(run: () => Promise<T>) => async () => {
        if (race && !raced) {
          raced = true;
          await race();
        }
        return run();
      };
      const wrap = (inner: StorageAdapter): StorageAdapter => {
        const wrapped: StorageAdapter = {
          get: (kind, id, scope) => inner.get(kind, id, scope),
          list: (kind, query) => inner.list(kind, query),
          history: (id) => inner.history(id),
          commit: (batch) => before(() => inner.commit(batch))(),
        };
        if (inner.getPlanWithInstance) wrapped.getPlanWithInstance = (id, scope) => inner.getPlanWithInstance!(id, scope);
        if (inner.transact) wrapped.transact = (work) => before(() => inner.transact!(work))();
        return wrapped;
      };
      const { a, b, first, take } = await deadHolder(context, wrap);
      race = () => a.updatePlan({ plan_id: first.id, steps: [{ title: 'Appended meanwhile', type: 'review' }] });
      const lease = await take();
      check(raced, 'the racing write ran');
      checkEqual(lease.recovered?.steps.length, 2, 'the steps recovered');
      const plan = await b.getPlan(first.id);
      checkEqual(plan.steps.map((step) => [step.title, step.status]), [['One', 'pending'], ['Two', 'failed'], ['Appended meanwhile', 'pending']], 'the first plan: the racing write and the recovery both landed');
      checkEqual(replay(await b.history(first.id)), plan, 'the first plan replayed from its history');
    });
  });
}
