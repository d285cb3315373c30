import type { CommitBatch } from '../../adapters/contract';
import type { Plan } from '../../schemas/records';
import { check, checkEqual, checkRejects } from './assert';
import { createBatch, eventOf, instanceRecord, planRecord, updateOf } from './fixtures';
import { checkUnchanged, snapshot, type Harness } from './harness';
import type { ConformanceContext } from './harness';

/** A value that throws when anything reads `field`: the store fails while taking in this object. */
function faulty<T extends object>(value: T, field: keyof T & string): T {
  Object.defineProperty(value, field, {
    enumerable: true,
    get() {
      throw new Error(`injected fault: reading ${field}`);
    },
  });
  return value;
}

/** A stored instance and plan, and a batch touching both plus a new plan; `spoil` breaks it somewhere. */
async function setUp({ adapter }: ConformanceContext, spoil: (batch: CommitBatch) => void) {
  const instance = instanceRecord({ id: 'instance-1' });
  const plan = planRecord({ id: 'plan-1' });
  await adapter.commit(createBatch(['instance', instance], ['plan', plan]));
  const ids = { instance: ['instance-1'], plan: ['plan-1', 'plan-new'] };
  const before = await snapshot(adapter, ids);
  const instanceUpdate = updateOf('instance', instance, { current_step: 'Summarise' });
  const planUpdate = updateOf('plan', plan, { status: 'in_progress' });
  const created = createBatch(['plan', planRecord({ id: 'plan-new' })]);
  const batch: CommitBatch = {
    writes: [...instanceUpdate.batch.writes, ...created.writes, ...planUpdate.batch.writes],
    events: [...instanceUpdate.batch.events, ...created.events, ...planUpdate.batch.events],
  };
  spoil(batch);
  return { before, ids, batch };
}

export function atomicity(h: Harness): void {
  h.describe('atomic batches', () => {
    h.it('a batch across both kinds lands whole', async (context) => {
      const { batch } = await setUp(context, () => undefined);
      await context.adapter.commit(batch);
      for (const write of batch.writes) {
        checkEqual(await context.adapter.get(write.kind, write.record.id), write.record, `${write.kind} ${write.record.id} after the batch`);
      }
      checkEqual((await context.adapter.history('plan-1')).map((event) => event.seq), [1, 2], 'history of the updated plan');
    });

    h.it('a conflict on the last write stores none of the batch', async (context) => {
      const { before, ids, batch } = await setUp(context, (batch) => {
        batch.writes[2]!.expected_version = 7;
      });
      await checkRejects(context.adapter.commit(batch), 'a batch whose last write is stale', 'CONFLICT');
      await checkUnchanged(context.adapter, before, ids, 'a batch refused for its last write');
    });

    h.it('a fault while storing a write in the middle stores none of the batch', async (context) => {
      const { before, ids, batch } = await setUp(context, (batch) => {
        // A copy, so that only the write is faulty, not the creation event that holds the record.
        const write = batch.writes[1]!;
        write.record = faulty({ ...(write.record as Plan) }, 'title');
      });
      await checkRejects(context.adapter.commit(batch), 'a batch whose middle record cannot be read');
      await checkUnchanged(context.adapter, before, ids, 'a batch that failed in the middle');
    });

    h.it('a fault while storing the last event stores none of the batch', async (context) => {
      const { before, ids, batch } = await setUp(context, (batch) => {
        batch.events.push(faulty(eventOf('plan', planRecord({ id: 'plan-1', version: 2 }), 'pending'), 'changes'));
      });
      await checkRejects(context.adapter.commit(batch), 'a batch whose last event cannot be read');
      await checkUnchanged(context.adapter, before, ids, 'a batch that failed at its last event');
    });

    h.it('a batch writing one record twice is refused and stores nothing', async (context) => {
      const { before, ids, batch } = await setUp(context, (batch) => {
        // Two versions 2 of one instance, both over version 1: storing both, or either, would be wrong.
        const first = batch.writes[0]!;
        batch.writes.push({ ...first, record: { ...first.record, current_step: 'something else' } as typeof first.record });
      });
      const error = await checkRejects(context.adapter.commit(batch), 'a batch writing instance-1 twice');
      check(error instanceof Error, 'the refusal must be an Error');
      await checkUnchanged(context.adapter, before, ids, 'a batch writing one record twice');
    });
  });
}
