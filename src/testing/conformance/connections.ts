import { check, checkEqual, within } from './assert';
import { createBatch, instanceRecord, planRecord, updateOf } from './fixtures';
import type { Harness } from './harness';

export function connections(h: Harness): void {
  h.describe('handles and closing', () => {
    h.it('what one handle commits, another reads at once', async ({ adapter, connect }) => {
      const other = await connect();
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      checkEqual(await other.get('plan', 'plan-1'), plan, 'the plan through the other handle');
      const next = updateOf('plan', plan, { title: 'changed elsewhere' });
      await other.commit(next.batch);
      checkEqual(await adapter.get('plan', 'plan-1'), next.record, 'the update through the first handle');
    });

    h.it('after close, every commit is there through a new handle, and the closed one refuses work without hanging', async ({ adapter, connect }) => {
      const instance = instanceRecord({ id: 'instance-1' });
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      const next = updateOf('plan', plan, { status: 'in_progress' });
      await adapter.commit(next.batch);
      if (adapter.close) {
        await within(Promise.resolve(adapter.close()), 5_000, 'close');
        const outcome = await within(
          adapter.get('plan', 'plan-1').then(
            () => 'resolved',
            () => 'rejected',
          ),
          5_000,
          'get on a closed adapter',
        );
        check(outcome === 'rejected', 'get on a closed adapter must reject');
      }
      const reopened = await connect();
      checkEqual(await reopened.get('plan', 'plan-1'), next.record, 'the plan after reopening');
      checkEqual(await reopened.get('instance', 'instance-1'), instance, 'the instance after reopening');
      checkEqual((await reopened.history('plan-1')).map((event) => event.seq), [1, 2], 'the plan\'s history after reopening');
    });
  });
}
