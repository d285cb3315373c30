import type { InstancePlanError } from '../../errors';
import { checkEqual, checkRejects } from './assert';
import { createBatch, instanceRecord, planRecord, updateOf } from './fixtures';
import { checkUnchanged, snapshot, type Harness } from './harness';

export function compareAndSet(h: Harness): void {
  h.describe('compare-and-set', () => {
    h.it('creating a record that exists is a CONFLICT naming both versions, and changes nothing', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      const ids = { plan: ['plan-1'] };
      const before = await snapshot(adapter, ids);
      const error = (await checkRejects(adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1', title: 'again' })])), 'create over an existing plan', 'CONFLICT')) as InstancePlanError;
      checkEqual(
        { kind: error.details.kind, id: error.details.id, expected: error.details.expected_version, actual: error.details.actual_version },
        { kind: 'plan', id: 'plan-1', expected: null, actual: 1 },
        'the CONFLICT details',
      );
      await checkUnchanged(adapter, before, ids, 'a refused create');
    });

    h.it('a stale expected version is a CONFLICT and changes nothing', async ({ adapter }) => {
      const instance = instanceRecord({ id: 'instance-1' });
      await adapter.commit(createBatch(['instance', instance]));
      const second = updateOf('instance', instance, { status: 'waiting', needs_input: true });
      await adapter.commit(second.batch);
      const ids = { instance: ['instance-1'] };
      const before = await snapshot(adapter, ids);
      // Written by someone who read version 1 and missed version 2.
      const stale = updateOf('instance', instance, { status: 'paused' });
      const error = (await checkRejects(adapter.commit(stale.batch), 'an update expecting version 1 of a version-2 record', 'CONFLICT')) as InstancePlanError;
      checkEqual([error.details.expected_version, error.details.actual_version], [1, 2], 'expected and actual versions in the CONFLICT');
      await checkUnchanged(adapter, before, ids, 'a stale update');
      checkEqual(await adapter.get('instance', 'instance-1'), second.record, 'the stored record');
    });

    h.it('updating a record that does not exist is a CONFLICT', async ({ adapter }) => {
      const ghost = planRecord({ id: 'ghost', version: 2 });
      const error = (await checkRejects(
        adapter.commit({ writes: [{ kind: 'plan', record: ghost, expected_version: 1 }], events: [] }),
        'an update of a missing plan',
        'CONFLICT',
      )) as InstancePlanError;
      checkEqual([error.details.expected_version, error.details.actual_version], [1, null], 'expected and actual versions in the CONFLICT');
      checkEqual(await adapter.get('plan', 'ghost'), undefined, 'the missing plan after the refusal');
    });

    h.it('each version can be written over exactly once, in order', async ({ adapter }) => {
      let plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      for (let n = 0; n < 5; n++) {
        const next = updateOf('plan', plan, { title: `title ${n}` });
        await adapter.commit(next.batch);
        await checkRejects(adapter.commit(next.batch), `replaying the commit of version ${next.record.version}`, 'CONFLICT');
        plan = next.record;
      }
      checkEqual(await adapter.get('plan', 'plan-1'), plan, 'the plan after five updates');
      checkEqual((await adapter.history('plan-1')).map((event) => event.seq), [1, 2, 3, 4, 5, 6], 'history seqs');
    });
  });
}
