import type { CommittedChange } from '../../adapters/contract';
import { check, checkEqual, checkRejects, eventually } from './assert';
import { createBatch, instanceRecord, leaseRecord, planRecord, updateOf } from './fixtures';
import type { Harness } from './harness';

/** How long a change may take to reach a subscriber (another connection hears it through the platform). */
const DELIVERY_MS = 5_000;

export function changeFeed(h: Harness): void {
  h.describe('change feed', () => {
    if (!h.changeFeed) {
      h.it('declares no change feed: subscribe is absent, so managers fall back to their own', async ({ adapter }) => {
        check(adapter.subscribe === undefined, 'an adapter declared without a change feed must not have subscribe');
      });
      return;
    }

    h.it('a subscriber hears each committed batch: kinds, ids, new versions and events', async ({ adapter }) => {
      check(typeof adapter.subscribe === 'function', 'an adapter with a change feed must have subscribe');
      const heard: CommittedChange[] = [];
      const stop = adapter.subscribe!((change) => heard.push(change));
      const plan = planRecord({ id: 'plan-1' });
      const created = createBatch(['plan', plan], ['instance', instanceRecord({ id: 'instance-1' })]);
      await adapter.commit(created);
      const next = updateOf('plan', plan, { status: 'in_progress' });
      await adapter.commit(next.batch);
      await eventually(() => heard.length >= 2, DELIVERY_MS, 'two changes');
      stop();
      checkEqual(
        heard,
        [
          { records: [{ kind: 'plan', id: 'plan-1', version: 1 }, { kind: 'instance', id: 'instance-1', version: 1 }], events: created.events },
          { records: [{ kind: 'plan', id: 'plan-1', version: 2 }], events: next.batch.events },
        ],
        'the changes heard',
      );
    });

    h.it('a refused commit is not announced; unsubscribe stops delivery; a throwing listener breaks nothing', async ({ adapter }) => {
      const heard: CommittedChange[] = [];
      const stopThrowing = adapter.subscribe!(() => {
        throw new Error('listener fault');
      });
      const stop = adapter.subscribe!((change) => heard.push(change));
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      await checkRejects(adapter.commit(createBatch(['plan', plan])), 'a second create', 'CONFLICT');
      const second = updateOf('plan', plan, { title: 'second' });
      await adapter.commit(second.batch);
      await eventually(() => heard.length >= 2, DELIVERY_MS, 'two changes');
      stop();
      stopThrowing();
      await adapter.commit(updateOf('plan', second.record, { title: 'third' }).batch);
      checkEqual(heard.map((change) => change.records[0]!.version), [1, 2], 'versions heard: the refused commit and the one after unsubscribing are absent');
    });

    h.it('no subscriber can change what another hears (a change is frozen, or each gets a copy)', async ({ adapter }) => {
      const first: CommittedChange[] = [];
      const second: CommittedChange[] = [];
      const stops = [
        adapter.subscribe!((change) => {
          first.push(change);
          // Refused with a TypeError when the change is frozen; taken when it is this listener's copy.
          change.records[0]!.version = 999;
          change.events.length = 0;
        }),
        adapter.subscribe!((change) => second.push(change)),
      ];
      const created = createBatch(['plan', planRecord({ id: 'plan-1' })]);
      await adapter.commit(created);
      await eventually(() => second.length >= 1 && first.length >= 1, DELIVERY_MS, 'the change');
      stops.forEach((stop) => stop());
      checkEqual(second, [{ records: [{ kind: 'plan', id: 'plan-1', version: 1 }], events: created.events }], 'what the second subscriber heard');
    });

    h.it('a subscriber on another handle hears the commits made through the first', async ({ adapter, connect }) => {
      const other = await connect();
      const heard: CommittedChange[] = [];
      const stop = other.subscribe!((change) => heard.push(change));
      const plan = planRecord({ id: 'plan-1' });
      const created = createBatch(['plan', plan]);
      await adapter.commit(created);
      // A lease write has no events, and is a change all the same (a holder hears it was taken).
      await adapter.commit({ writes: [{ kind: 'lease', record: leaseRecord({ id: 'instance-1' }), expected_version: null }], events: [] });
      await eventually(() => heard.length >= 2, DELIVERY_MS, 'the two changes on the other handle');
      stop();
      checkEqual(
        heard,
        [
          { records: [{ kind: 'plan', id: 'plan-1', version: 1 }], events: created.events },
          { records: [{ kind: 'lease', id: 'instance-1', version: 1 }], events: [] },
        ],
        'what the other handle heard',
      );
      checkEqual(await other.get('plan', 'plan-1'), plan, 'the other handle reads what it heard of');
    });
  });
}
