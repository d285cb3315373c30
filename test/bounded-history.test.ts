// Bounded history: with `retention: { events: n }` a record keeps windows of n events, the oldest
// kept one carrying a snapshot, so replay still yields the record; `history()` pages. The last
// test measures the bound: an agent retrying one step 10,000 times with outputs of the largest
// size allowed. The conformance suite checks pruning and paging on every adapter.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, memoryAdapter, PlanManager, replay, type CommittedChange, type Plan } from '../src';
import { checkInvariants } from '../src/testing/invariants';
import { expectRejection } from './support/core-fixtures';

async function retriedStep(options: ConstructorParameters<typeof PlanManager>[0] = {}) {
  const adapter = options.adapter ?? memoryAdapter();
  const manager = new PlanManager({ ...options, adapter });
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'retrier' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'Retry', steps: [{ title: 'Flaky call', type: 'tool_call' }] });
  const step = plan.steps[0]!.id;
  /** One attempt: in_progress, then failed with `output`. */
  const attempt = async (output: string) => {
    await manager.executeStep({ plan_id: plan.id, step_id: step, step_status: 'in_progress' });
    return manager.executeStep({ plan_id: plan.id, step_id: step, step_status: 'failed', step_output: output });
  };
  return { adapter, manager, instance, plan, attempt };
}

describe('retention', () => {
  it('keeps every event by default', async () => {
    const { manager, plan, attempt } = await retriedStep();
    for (let n = 0; n < 30; n++) await attempt(`try ${n}`);
    const events = await manager.history(plan.id);
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    expect(events.some((event) => event.snapshot !== undefined)).toBe(false);
  });

  it('{ events: 5 }: each change at seq 1 + 5k carries a snapshot and drops the window before the last; subscribers hear the snapshot', async () => {
    const { manager, adapter, plan, attempt } = await retriedStep({ retention: { events: 5 } });
    const heard: CommittedChange[] = [];
    manager.subscribe((change) => heard.push(change));
    let last: Plan = plan;
    for (let n = 0; n < 10; n++) last = await attempt(`try ${n}`);
    expect(last.version).toBe(21);
    const events = await manager.history(plan.id);
    // Seq 21 = 1 + 4 * 5 snapshots and drops everything before seq 16 (the previous window's start).
    expect(events.map((event) => [event.seq, event.snapshot !== undefined])).toEqual([
      [16, true],
      [17, false],
      [18, false],
      [19, false],
      [20, false],
      [21, true],
    ]);
    expect(events.at(-1)!.snapshot).toEqual(last);
    expect(replay(events)).toEqual(last);
    expect(heard.at(-1)!.events[0]!.snapshot).toEqual(last);
    expect(heard.filter((change) => change.events.some((event) => event.snapshot !== undefined)).map((change) => change.events[0]!.seq)).toEqual([6, 11, 16, 21]);
    expect(await checkInvariants(adapter)).toEqual([]);
  });

  it('{ events: 1 } keeps the last change and the one before it', async () => {
    const { manager, plan, attempt } = await retriedStep({ retention: { events: 1 } });
    const last = await attempt('once');
    expect((await manager.history(plan.id)).map((event) => event.seq)).toEqual([2, 3]);
    expect(replay(await manager.history(plan.id))).toEqual(last);
  });

  it('refuses a retention that is not "all" or { events: n } with n a whole number of at least 1', () => {
    for (const retention of [{ events: 0 }, { events: 2.5 }, { events: '3' }, {}, { events: 3, bytes: 10 }, 'some', null, 3]) {
      expect(() => new PlanManager({ retention: retention as never }), JSON.stringify(retention)).toThrow(
        new TypeError(`retention must be "all" or { events: n } with n a whole number of at least 1, got ${JSON.stringify(retention)}`),
      );
    }
  });
});

describe('history pages', () => {
  it('answers the events after after_seq, at most limit, and the pages join into the whole history', async () => {
    const { manager, plan, attempt } = await retriedStep();
    for (let n = 0; n < 12; n++) await attempt(`try ${n}`);
    const all = await manager.history(plan.id);
    expect(await manager.history(plan.id, { limit: 5 })).toEqual(all.slice(0, 5));
    expect(await manager.history(plan.id, { after_seq: 20, limit: 3 })).toEqual(all.slice(20, 23));
    const joined = [];
    for (let page = await manager.history(plan.id, { limit: 7 }); page.length > 0; page = await manager.history(plan.id, { after_seq: page.at(-1)!.seq, limit: 7 })) joined.push(...page);
    expect(joined).toEqual(all);
  });

  it('answers exactly the page asked for even over an adapter that ignores pages', async () => {
    const inner = memoryAdapter();
    const { manager, plan, attempt } = await retriedStep({ adapter: { ...inner, history: (id) => inner.history(id) } });
    for (let n = 0; n < 4; n++) await attempt(`try ${n}`);
    expect((await manager.history(plan.id, { after_seq: 3, limit: 2 })).map((event) => event.seq)).toEqual([4, 5]);
  });

  it('refuses a bad page with VALIDATION_ERROR naming the bound', async () => {
    const { manager, plan } = await retriedStep();
    const refusals: [object, string, string][] = [
      [{ after_seq: -1 }, 'after_seq', 'must be 0 or more (the seq of the last event seen)'],
      [{ limit: 0 }, 'limit', 'must be at least 1'],
      [{ limit: 1_001 }, 'limit', 'must be at most 1000'],
      [{ cursor: 'x' }, '(input)', 'unknown key: "cursor" (accepted: after_seq, limit)'],
    ];
    for (const [page, path, message] of refusals) {
      const error = await expectRejection(manager.history(plan.id, page as never), 'VALIDATION_ERROR');
      expect(error.details.issues, JSON.stringify(page)).toEqual([{ path, message }]);
    }
  });
});

describe('the bound, measured', () => {
  it('an agent retrying one step 10,000 times with the largest outputs keeps its plan and history within the bound (retention 100)', async () => {
    const retention = 100;
    const { manager, adapter, plan, attempt } = await retriedStep({ retention: { events: retention } });
    // Outputs of the largest size allowed, a few distinct ones (so memory holds the store, not the test's strings).
    const outputs = Array.from({ length: 4 }, (_, i) => String(i).repeat(DEFAULT_LIMITS.maxOutputLength));
    let last: Plan = plan;
    for (let n = 0; n < 5_000; n++) last = await attempt(outputs[n % outputs.length]!);
    const events = await manager.history(plan.id);
    const planBytes = JSON.stringify(last).length;
    const historyBytes = JSON.stringify(events).length;
    // 10,000 step reports (5,000 attempts), 2 creation-time changes before them.
    expect(last.version).toBe(10_001);
    expect(last.steps[0]!.attempts).toBe(5_000);
    expect(events.length).toBeGreaterThanOrEqual(retention);
    expect(events.length).toBeLessThanOrEqual(2 * retention);
    // Each event carries at most one output, a snapshot at most the plan: the bound is 2n events of
    // (an output + the plan), and the history is nowhere near the 959 MB of an unbounded run.
    expect(historyBytes).toBeLessThan(2 * retention * (DEFAULT_LIMITS.maxOutputLength + planBytes) + 1_000_000);
    expect(replay(events)).toEqual(last);
    expect(await checkInvariants(adapter)).toEqual([]);
    console.log(`[bounded history] ${JSON.stringify({ reports: 10_000, retention, events_kept: events.length, plan_bytes: planBytes, history_bytes: historyBytes })}`);
  }, 120_000);
});
