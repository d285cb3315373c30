import type { StorageAdapter, StoreReader, Transacted } from '../../adapters/contract';
import { InstancePlanError } from '../../errors';
import type { Plan } from '../../schemas/records';
import { check, checkEqual, checkRejects } from './assert';
import { createBatch, instanceRecord, leaseRecord, planRecord, updateOf } from './fixtures';
import { checkUnchanged, snapshot, type Harness } from './harness';

/**
 * One change as the manager makes it: read, decide, commit. Through `transact` (one transaction)
 * where the adapter has it, else through `get` then `commit`; either way the properties below
 * must hold, so an adapter without the fast path passes them too.
 */
async function change<R>(adapter: StorageAdapter, work: (reader: StoreReader) => Promise<Transacted<R>>): Promise<R> {
  if (adapter.transact) return adapter.transact(work);
  const { batch, result } = await work(adapter);
  if (batch) await adapter.commit(batch);
  return result;
}

/** A plan and its instance, read together where the adapter offers it. */
async function planWithInstance(reader: StoreReader, planId: string) {
  if (reader.getPlanWithInstance) return reader.getPlanWithInstance(planId);
  const plan = await reader.get('plan', planId);
  return plan && { plan, instance: await reader.get('instance', plan.instance_id) };
}

const stored = () => ({ instance: instanceRecord({ id: 'instance-1' }), plan: planRecord({ id: 'plan-1' }) });
const ids = { instance: ['instance-1'], plan: ['plan-1'] };

export function oneChange(h: Harness): void {
  h.describe('one change: read, check and commit (in one transaction where the adapter has transact)', () => {
    h.it('what is read is what is stored; the batch decided from it lands, and the result comes back', async ({ adapter }) => {
      const { instance, plan } = stored();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      const result = await change(adapter, async (reader) => {
        const both = await planWithInstance(reader, 'plan-1');
        checkEqual(both, { plan, instance }, 'the plan and its instance, read in the change');
        const next = updateOf('plan', both!.plan, { status: 'in_progress' });
        const current = updateOf('instance', both!.instance!, { current_step: 'Search the web' });
        return { batch: { writes: [...next.batch.writes, ...current.batch.writes], events: [...next.batch.events, ...current.batch.events] }, result: 'landed' };
      });
      checkEqual(result, 'landed', 'the result of the change');
      checkEqual((await adapter.get('plan', 'plan-1'))?.status, 'in_progress', 'the plan after the change');
      checkEqual((await adapter.get('instance', 'instance-1'))?.current_step, 'Search the web', 'the instance after the change');
      checkEqual((await adapter.history('plan-1')).map((event) => event.seq), [1, 2], 'history of the plan');
    });

    h.it('a plan and its instance are read together: an unknown plan is undefined, a plan whose instance is not stored comes alone', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1', instance_id: 'instance-never-stored' });
      await adapter.commit(createBatch(['plan', plan]));
      checkEqual(await planWithInstance(adapter, 'plan-1'), { plan, instance: undefined }, 'a plan without its instance');
      checkEqual(await planWithInstance(adapter, 'plan-unknown'), undefined, 'an unknown plan');
    });

    h.it('a change that writes nothing stores nothing and resolves with its result', async ({ adapter }) => {
      const { instance, plan } = stored();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      const before = await snapshot(adapter, ids);
      checkEqual(await change(adapter, async (reader) => ({ batch: null, result: (await reader.get('plan', 'plan-1'))?.version })), 1, 'the result');
      await checkUnchanged(adapter, before, ids, 'a change with nothing to write');
    });

    h.it('a change refused after reading stores nothing, and its own error comes back as it is', async ({ adapter }) => {
      const { instance, plan } = stored();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      const before = await snapshot(adapter, ids);
      const refusal = new InstancePlanError('INVALID_TRANSITION', 'refused by the caller');
      const reason = await checkRejects(
        change(adapter, async (reader) => {
          await reader.get('plan', 'plan-1');
          throw refusal;
        }),
        'a change whose work throws',
      );
      check(reason === refusal, 'the error thrown by the work must come back as it is, not wrapped');
      await checkUnchanged(adapter, before, ids, 'a refused change');
    });

    h.it('a batch decided on a stale version is a CONFLICT, and nothing of it is stored', async ({ adapter }) => {
      const { instance, plan } = stored();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      const before = await snapshot(adapter, ids);
      await checkRejects(
        change(adapter, async (reader) => {
          const read = (await reader.get('plan', 'plan-1'))!;
          const stale = updateOf('plan', { ...read, version: read.version + 3 }, { title: 'stale' });
          const current = updateOf('instance', (await reader.get('instance', 'instance-1'))!, { current_step: 'x' });
          return { batch: { writes: [...current.batch.writes, ...stale.batch.writes], events: [...current.batch.events, ...stale.batch.events] }, result: undefined };
        }),
        'a change with a stale write',
        'CONFLICT',
      );
      await checkUnchanged(adapter, before, ids, 'a change refused for a stale version');
    });

    h.it('a stale lease check refuses the change with a CONFLICT naming the lease, and nothing is stored', async ({ adapter }) => {
      const { instance, plan } = stored();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      await adapter.commit({ writes: [{ kind: 'lease', record: leaseRecord({ id: 'instance-1', version: 2 }), expected_version: null }], events: [] });
      const before = await snapshot(adapter, ids);
      const error = await checkRejects(
        change(adapter, async (reader) => {
          const next = updateOf('plan', (await reader.get('plan', 'plan-1'))!, { title: 'fenced' });
          return { batch: { ...next.batch, checks: [{ kind: 'lease', id: 'instance-1', expected_version: 1 }] }, result: undefined };
        }),
        'a change whose lease check is stale',
        'CONFLICT',
      );
      checkEqual((error as InstancePlanError).details.kind, 'lease', 'the kind the CONFLICT names');
      await checkUnchanged(adapter, before, ids, 'a change refused for its lease check');
    });

    h.it('a fault while storing the batch of a change stores none of it', async ({ adapter }) => {
      const { instance, plan } = stored();
      await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
      const before = await snapshot(adapter, ids);
      await checkRejects(
        change(adapter, async (reader) => {
          const current = updateOf('instance', (await reader.get('instance', 'instance-1'))!, { current_step: 'x' });
          const next = updateOf('plan', (await reader.get('plan', 'plan-1'))!, { title: 'faulty' });
          const record = { ...next.record };
          Object.defineProperty(record, 'steps', {
            enumerable: true,
            get() {
              throw new Error('injected fault: reading steps');
            },
          });
          return { batch: { writes: [...current.batch.writes, { ...next.batch.writes[0]!, record }], events: [...current.batch.events, ...next.batch.events] }, result: undefined };
        }),
        'a change whose plan cannot be read',
      );
      await checkUnchanged(adapter, before, ids, 'a change that failed while storing');
    });

    h.it('changes racing on one record lose no update: each lands on the version it read, or is a CONFLICT', async ({ adapter }) => {
      await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          change(adapter, async (reader) => {
            const read = (await reader.get('plan', 'plan-1')) as Plan;
            return { batch: updateOf('plan', read, { title: `${read.title} +${i}` }).batch, result: i };
          }),
        ),
      );
      const landed = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') check(InstancePlanError.is(outcome.reason, 'CONFLICT'), `a racing change may only fail with CONFLICT, got ${String(outcome.reason)}`);
      }
      check(landed >= 1, 'at least one racing change must land');
      const final = (await adapter.get('plan', 'plan-1'))!;
      checkEqual(final.version, 1 + landed, 'the version after the race: one more per change that landed');
      checkEqual(final.title.split(' +').length - 1, landed, 'every change that landed is in the record');
      checkEqual((await adapter.history('plan-1')).length, 1 + landed, 'one event per change that landed');
    });
  });
}
