import type { HistoryEvent } from '../../adapters/contract';
import { checkEqual } from './assert';
import { createBatch, instanceRecord, planRecord, updateOf } from './fixtures';
import type { Harness } from './harness';

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

    h.it('an unknown id has an empty history', async ({ adapter }) => {
      await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      checkEqual(await adapter.history('plan-2'), [], 'history of an unknown id');
      checkEqual(await adapter.history('plan-'), [], 'history of a prefix of a known id');
    });
  });
}
