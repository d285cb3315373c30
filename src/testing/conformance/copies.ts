import { cloneJson } from '../../adapters/clone';
import { checkEqual } from './assert';
import { createBatch, instanceRecord, planRecord } from './fixtures';
import type { Harness } from './harness';

/** Scribbles over every nested object and array of a plan, as a careless caller would. */
function scribble(plan: { title: string; steps: { title: string; details: Record<string, unknown> }[] }) {
  plan.title = 'scribbled';
  plan.steps[0]!.title = 'scribbled';
  plan.steps[0]!.details.scribbled = true;
  plan.steps.push({ ...plan.steps[0]!, title: 'pushed' });
}

export function copies(h: Harness): void {
  h.describe('copies, not references', () => {
    h.it('changing committed objects afterwards changes nothing stored', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1' });
      plan.steps[0]!.details = { tool: 'search', arguments: { query: 'q' } };
      const expected = cloneJson(plan);
      const batch = createBatch(['plan', plan]);
      const expectedEvents = cloneJson(batch.events);
      await adapter.commit(batch);
      scribble(plan);
      (batch.events[0]!.changes[0]!.value as { title: string }).title = 'scribbled';
      batch.events[0]!.to = 'scribbled';
      checkEqual(await adapter.get('plan', 'plan-1'), expected, 'get after the caller changed its objects');
      checkEqual(await adapter.history('plan-1'), expectedEvents, 'history after the caller changed its events');
    });

    h.it('changing returned records, pages and events changes nothing stored', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1' });
      const instance = instanceRecord({ id: 'instance-1' });
      const batch = createBatch(['plan', plan], ['instance', instance]);
      // Expectations are copies of their own: a store that hands out what it holds must not change them too.
      const expected = cloneJson({ plan, instance, event: batch.events[0] });
      await adapter.commit(batch);

      scribble((await adapter.get('plan', 'plan-1'))!);
      const page = await adapter.list('plan', { where: {}, limit: 10, offset: 0 });
      scribble(page.records[0]!);
      page.records.length = 0;
      const events = await adapter.history('plan-1');
      events[0]!.to = 'scribbled';
      events.pop();
      const got = (await adapter.get('instance', 'instance-1'))!;
      got.turn_count = 999;

      checkEqual(await adapter.get('plan', 'plan-1'), expected.plan, 'get after the caller changed a returned plan');
      checkEqual(await adapter.list('plan', { where: {}, limit: 10, offset: 0 }), { records: [expected.plan], total: 1 }, 'list after the caller changed a page');
      checkEqual(await adapter.history('plan-1'), [expected.event], 'history after the caller changed returned events');
      checkEqual(await adapter.get('instance', 'instance-1'), expected.instance, 'get after the caller changed a returned instance');
    });
  });
}
