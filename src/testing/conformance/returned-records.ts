import { cloneJson } from '../../adapters/clone';
import { check, checkEqual, tryChange } from './assert';
import { createBatch, instanceRecord, planRecord } from './fixtures';
import type { Harness } from './harness';

/** Scribbles over every nested object and array of a plan, as a careless caller would. */
function scribble(plan: { title: string; steps: { title: string; details: Record<string, unknown> }[] }) {
  tryChange(() => (plan.title = 'scribbled'));
  tryChange(() => (plan.steps[0]!.title = 'scribbled'));
  tryChange(() => (plan.steps[0]!.details.scribbled = true));
  tryChange(() => plan.steps.push({ ...plan.steps[0]!, title: 'pushed' }));
}

/** A record handed out frozen must be frozen all the way down: a caller trusts it and keeps it. */
function checkFrozenThroughout(value: unknown, what: string, path = '$'): void {
  if (typeof value !== 'object' || value === null) return;
  check(Object.isFrozen(value), `${what}: ${path} must be frozen, as the record holding it is`);
  for (const [key, child] of Object.entries(value)) checkFrozenThroughout(child, what, `${path}[${JSON.stringify(key)}]`);
}

const checkFrozenIfFrozen = (value: unknown, what: string) => {
  if (Object.isFrozen(value)) checkFrozenThroughout(value, what);
};

export function returnedRecords(h: Harness): void {
  h.describe('a caller cannot change what is stored through a returned record', () => {
    h.it('changing committed objects afterwards changes nothing stored', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1' });
      plan.steps[0]!.details = { tool: 'search', arguments: { query: 'q' } };
      const expected = cloneJson(plan);
      const batch = createBatch(['plan', plan]);
      const expectedEvents = cloneJson(batch.events);
      await adapter.commit(batch);
      scribble(plan);
      tryChange(() => ((batch.events[0]!.changes[0]!.value as { title: string }).title = 'scribbled'));
      tryChange(() => (batch.events[0]!.to = 'scribbled'));
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

      const gotPlan = (await adapter.get('plan', 'plan-1'))!;
      checkFrozenIfFrozen(gotPlan, 'a plan from get');
      scribble(gotPlan);
      const page = await adapter.list('plan', { where: {}, limit: 10, offset: 0 });
      checkFrozenIfFrozen(page.records[0], 'a plan from list');
      scribble(page.records[0]!);
      tryChange(() => (page.records.length = 0));
      const events = await adapter.history('plan-1');
      checkFrozenIfFrozen(events[0], 'an event from history');
      tryChange(() => (events[0]!.to = 'scribbled'));
      tryChange(() => events.pop());
      const got = (await adapter.get('instance', 'instance-1'))!;
      checkFrozenIfFrozen(got, 'an instance from get');
      tryChange(() => (got.turn_count = 999));

      checkEqual(await adapter.get('plan', 'plan-1'), expected.plan, 'get after the caller changed a returned plan');
      checkEqual(await adapter.list('plan', { where: {}, limit: 10, offset: 0 }), { records: [expected.plan], total: 1 }, 'list after the caller changed a page');
      checkEqual(await adapter.history('plan-1'), [expected.event], 'history after the caller changed returned events');
      checkEqual(await adapter.get('instance', 'instance-1'), expected.instance, 'get after the caller changed a returned instance');
    });
  });
}
