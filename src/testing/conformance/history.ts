import type { HistoryEvent, StorageAdapter } from '../../adapters/contract';
import { replay } from '../../manager/history';
import { PlanManager } from '../../manager/plan-manager';
import type { Plan } from '../../schemas/records';
import { check, checkEqual, checkRejects } from './assert';
import { createBatch, instanceRecord, planRecord, T0, updateOf } from './fixtures';
import type { Harness } from './harness';

/** A plan created, then changed `changes` times, one batch each; answers the plan and every event in order. */
async function changedPlan(adapter: StorageAdapter, id: string, changes: number) {
  let plan = planRecord({ id });
  const created = createBatch(['plan', plan]);
  await adapter.commit(created);
  const events: HistoryEvent[] = [created.events[0]!];
  for (let n = 0; n < changes; n++) {
    const next = updateOf('plan', plan, { title: `title ${n}` });
    await adapter.commit(next.batch);
    events.push(...next.batch.events);
    plan = next.record;
  }
  return { plan, events };
}

export function history(h: Harness): void {
  h.describe('history', () => {
    h.it('returns each record\'s own events in seq order, across batches', async ({ adapter }) => {
      let plan = planRecord({ id: 'plan-1' });
      let instance = instanceRecord({ id: 'instance-1' });
      const created = createBatch(['plan', plan], ['instance', instance]);
      await adapter.commit(created);
      const planEvents: HistoryEvent[] = [created.events[0]!];
      const instanceEvents: HistoryEvent[] = [created.events[1]!];
      for (let n = 0; n < 12; n++) {
        const planNext = updateOf('plan', plan, { title: `title ${n}` });
        const instanceNext = updateOf('instance', instance, { turn_count: instance.turn_count + 1 });
        // Events listed out of order within the batch: the store must still answer in seq order.
        await adapter.commit({ writes: [...instanceNext.batch.writes, ...planNext.batch.writes], events: [...planNext.batch.events, ...instanceNext.batch.events].reverse() });
        planEvents.push(...planNext.batch.events);
        instanceEvents.push(...instanceNext.batch.events);
        plan = planNext.record;
        instance = instanceNext.record;
      }
      checkEqual(await adapter.history('plan-1'), planEvents, 'history of the plan');
      checkEqual(await adapter.history('instance-1'), instanceEvents, 'history of the instance');
      checkEqual((await adapter.history('plan-1')).map((event) => event.seq), Array.from({ length: 13 }, (_, i) => i + 1), 'seqs 1..13, numerically ordered');
    });

    h.it('pages: the events after after_seq, at most limit; pages join into the whole history, past the end is empty', async ({ adapter }) => {
      const { events } = await changedPlan(adapter, 'plan-1', 9);
      checkEqual(await adapter.history('plan-1', {}), events, 'an empty page: everything');
      checkEqual(await adapter.history('plan-1', { limit: 3 }), events.slice(0, 3), 'the first 3');
      checkEqual(await adapter.history('plan-1', { after_seq: 4 }), events.slice(4), 'after seq 4');
      checkEqual(await adapter.history('plan-1', { after_seq: 4, limit: 2 }), events.slice(4, 6), 'after seq 4, 2 of them');
      const joined: HistoryEvent[] = [];
      for (let page = await adapter.history('plan-1', { limit: 4 }); page.length > 0; page = await adapter.history('plan-1', { after_seq: page.at(-1)!.seq, limit: 4 })) joined.push(...page);
      checkEqual(joined, events, 'pages of 4, joined');
      checkEqual(await adapter.history('plan-1', { after_seq: 10 }), [], 'after the last seq');
      checkEqual(await adapter.history('plan-2', { limit: 5 }), [], 'a page of an unknown id');
    });

    h.it('a malformed page is a TypeError naming it', async ({ adapter }) => {
      await changedPlan(adapter, 'plan-1', 1);
      for (const page of [{ after_seq: -1 }, { after_seq: 1.5 }, { limit: 0 }, { limit: 2.5 }, null]) {
        let thrown: unknown;
        try {
          await adapter.history('plan-1', page as never);
        } catch (error) {
          thrown = error;
        }
        check(thrown instanceof TypeError, `history with the page ${JSON.stringify(page)} must throw a TypeError, got ${String(thrown)}`);
      }
    });

    h.it('prune drops the older events of the named record in the same commit, keeps the batch\'s own and every other record\'s', async ({ adapter }) => {
      const { plan, events } = await changedPlan(adapter, 'plan-1', 5);
      const other = await changedPlan(adapter, 'plan-2', 5);
      const next = updateOf('plan', plan, { title: 'pruning' });
      const snapshotted = { ...next.batch.events[0]!, snapshot: next.record };
      // A refused batch prunes nothing.
      await checkRejects(adapter.commit({ writes: [{ ...next.batch.writes[0]!, expected_version: 1 }], events: [snapshotted], prune: [{ record_id: 'plan-1', before_seq: 7 }] }), 'a stale batch that prunes', 'CONFLICT');
      checkEqual(await adapter.history('plan-1'), events, 'the history after a refused prune');
      await adapter.commit({ ...next.batch, events: [snapshotted], prune: [{ record_id: 'plan-1', before_seq: 4 }, { record_id: 'unknown', before_seq: 4 }] });
      const kept = await adapter.history('plan-1');
      checkEqual(kept, [...events.slice(3), snapshotted], 'the history after pruning before seq 4: seqs 4..7, the snapshot stored as given');
      checkEqual(replay(kept), next.record, 'the pruned history replayed from its snapshot');
      checkEqual(await adapter.history('plan-2'), other.events, 'another record\'s history');
      checkEqual(await adapter.get('plan', 'plan-1'), next.record, 'the record the batch wrote');
    });

    h.it('a manager with retention { events: 3 } keeps 3 to 6 events per record, the oldest a snapshot or the creation, and replay yields the record', async ({ adapter }) => {
      const manager = new PlanManager({ adapter, retention: { events: 3 }, clock: () => new Date(T0) });
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
      await manager.transitionInstance(instance.id, { status: 'running' });
      let plan: Plan = await manager.createPlan({ instance_id: instance.id, title: 'Retried', steps: [{ title: 'Flaky', type: 'tool_call' }] });
      const step = plan.steps[0]!.id;
      for (let n = 0; n < 20; n++) {
        plan = await manager.executeStep({ plan_id: plan.id, step_id: step, step_status: n % 2 === 0 ? 'in_progress' : 'failed', ...(n % 2 === 1 && { step_output: `attempt ${n}` }) });
        const kept = await adapter.history(plan.id);
        const seqs = kept.map((event) => event.seq);
        checkEqual(seqs, Array.from({ length: kept.length }, (_, i) => plan.version - kept.length + 1 + i), `after change ${n + 1}: consecutive seqs up to the version`);
        check(kept.length >= Math.min(3, plan.version) && kept.length <= 6, `after change ${n + 1}: ${kept.length} events kept (3 to 6)`);
        check(kept[0]!.seq === 1 || kept[0]!.snapshot !== undefined, `after change ${n + 1}: the oldest event kept (seq ${kept[0]!.seq}) carries a snapshot`);
        checkEqual(replay(kept), plan, `after change ${n + 1}: the kept history replayed`);
      }
    });

    h.it('an unknown id has an empty history', async ({ adapter }) => {
      await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      checkEqual(await adapter.history('plan-2'), [], 'history of an unknown id');
      checkEqual(await adapter.history('plan-'), [], 'history of a prefix of a known id');
    });
  });
}
