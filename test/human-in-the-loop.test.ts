// Human in the loop: a user_input step is a question to a person. Starting it moves the instance
// to waiting in the same commit; while it waits only the answer executes; the answer moves it
// back to running. The exact records, refusals and tool answers are pinned here; the rules over
// random sequences are the model's (test/model.test.ts), on every adapter the conformance suite's.
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, replay, type StorageAdapter } from 'instance-plan';
import { expectRejection, snapshotStore, testManager } from './support/core-fixtures';

async function asking(options: { ordering?: 'strict' | 'free' } = {}) {
  const world = testManager();
  const { manager } = world;
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({
    instance_id: instance.id,
    title: 'Book the trip',
    ordering: options.ordering ?? 'strict',
    steps: [
      { title: 'Which train should I book?', type: 'user_input' },
      { title: 'Book it', type: 'tool_call' },
    ],
  });
  return { ...world, instance, plan, question: plan.steps[0]!, booking: plan.steps[1]! };
}

/** A memory store that counts its plan listings, and fails them while `failing` is set. */
function listingStore() {
  const inner = memoryAdapter();
  const state = { planLists: 0, failing: false };
  const adapter: StorageAdapter = {
    get: (kind, id) => inner.get(kind, id),
    async list(kind, query) {
      if (kind === 'plan') {
        state.planLists++;
        if (state.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      }
      return inner.list(kind, query);
    },
    history: (id) => inner.history(id),
    commit: (batch) => inner.commit(batch),
  };
  return { adapter, state };
}

describe('a user_input step asks a person', () => {
  it('starting it moves the instance to waiting in the same commit: needs_input, the question as current_step, status_reason awaiting_input', async () => {
    const { manager, adapter, instance, plan, question } = await asking();
    const commits = adapter.counts.commits;
    const started = await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    expect(adapter.counts.commits).toBe(commits + 1);
    expect(started.steps[0]).toMatchObject({ status: 'in_progress', attempts: 1 });
    const waiting = await manager.getInstance(instance.id);
    expect(waiting).toMatchObject({
      status: 'waiting',
      needs_input: true,
      current_step: 'Which train should I book?',
      status_reason: 'awaiting_input',
      version: 3,
    });
    const [event] = (await manager.history(instance.id)).slice(-1);
    expect(event).toMatchObject({ type: 'instance.transitioned', from: 'running', to: 'waiting', seq: 3 });
    expect(replay(await manager.history(instance.id))).toEqual(waiting);
  });

  it('while it waits, no other step executes: AWAITING_INPUT names the question and the step to answer, and nothing changes', async () => {
    const { manager, adapter, instance, plan, question, booking } = await asking({ ordering: 'free' });
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    const other = await manager.createPlan({
      instance_id: instance.id,
      title: 'Meanwhile',
      ordering: 'free',
      steps: [
        { title: 'Read mail', type: 'process' },
        { title: 'Window or aisle?', type: 'user_input' },
      ],
    });
    const before = await snapshotStore(adapter);
    const here = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: booking.id, step_status: 'in_progress' }), 'AWAITING_INPUT');
    const awaiting = { plan_id: plan.id, step_id: question.id, title: 'Which train should I book?' };
    expect(here.details).toEqual({
      instance_id: instance.id,
      plan_id: plan.id,
      step_id: booking.id,
      step_title: 'Book it',
      question: 'Which train should I book?',
      awaiting,
    });
    expect(here.message).toBe(
      `Step "${booking.id}" ("Book it") cannot execute: instance "${instance.id}" is waiting for a person's answer to "Which train should I book?". ` +
        `Ask the person "Which train should I book?" and wait; then execute step "${question.id}" of plan "${plan.id}" with step_status "completed" and their answer as step_output.`,
    );
    // The question is in another plan than the refused step: found among the instance's plans.
    const elsewhere = await expectRejection(manager.executeStep({ plan_id: other!.id, step_id: other!.steps[0]!.id, step_status: 'completed', step_output: 'x' }), 'AWAITING_INPUT');
    expect(elsewhere.details).toMatchObject({ plan_id: other!.id, awaiting });
    // Asking a second question is not the answer either.
    await expectRejection(manager.executeStep({ plan_id: other!.id, step_id: other.steps[1]!.id, step_status: 'in_progress' }), 'AWAITING_INPUT');
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('the answer (the step completed with the person\'s words) moves the instance back to running in the same commit', async () => {
    const { manager, adapter, instance, plan, question, booking } = await asking();
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    const commits = adapter.counts.commits;
    const answered = await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'completed', step_output: 'The 9:40 to Lyon' });
    expect(adapter.counts.commits).toBe(commits + 1);
    expect(answered.steps[0]).toMatchObject({ status: 'completed', output: 'The 9:40 to Lyon' });
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running', needs_input: false, status_reason: null, version: 4 });
    // Work goes on.
    const next = await manager.executeStep({ plan_id: plan.id, step_id: booking.id, step_status: 'in_progress' });
    expect(next.steps[1]!.status).toBe('in_progress');
  });

  it('a declined question (the step failed) also ends the wait; a retry asks again', async () => {
    const { manager, instance, plan, question } = await asking();
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'failed', step_output: 'The person did not answer' });
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running', needs_input: false, status_reason: null });
    const again = await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    expect(again.steps[0]).toMatchObject({ status: 'in_progress', attempts: 2 });
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'waiting', status_reason: 'awaiting_input' });
  });

  it('answer(instance_id, text) completes the open question; with none open it is NOT_FOUND; a blank answer is refused', async () => {
    const { manager, instance, plan, question } = await asking();
    const none = await expectRejection(manager.answer(instance.id, 'too early'), 'NOT_FOUND');
    expect(none.details).toEqual({ kind: 'step', instance_id: instance.id, status: 'running' });
    expect(none.message).toBe(`Instance "${instance.id}" has no question waiting for an answer: none of its plans has a user_input step in progress (it is "running").`);
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    await expectRejection(manager.answer(instance.id, '   '), 'VALIDATION_ERROR');
    await expectRejection(manager.answer('nobody', 'yes'), 'NOT_FOUND');
    const answered = await manager.answer(instance.id, 'The 9:40');
    expect(answered.id).toBe(plan.id);
    expect(answered.steps[0]).toMatchObject({ status: 'completed', output: 'The 9:40' });
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running', needs_input: false });
  });

  it('listInstances({ needs_input: true }) is the inbox; false needs a status beside it', async () => {
    const { manager, instance, plan, question } = await asking();
    const idle = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
    expect(await manager.listInstances({ needs_input: true })).toEqual({ instances: [], total: 0 });
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    const inbox = await manager.listInstances({ needs_input: true });
    expect(inbox).toEqual({ instances: [await manager.getInstance(instance.id)], total: 1 });
    expect(await manager.listInstances({ needs_input: true, status: 'running' })).toEqual({ instances: [], total: 0 });
    expect((await manager.listInstances({ needs_input: true, status: 'waiting' })).total).toBe(1);
    expect(await manager.listInstances({ needs_input: false, status: 'starting' })).toEqual({ instances: [idle], total: 1 });
    expect(await manager.listInstances({ needs_input: false, status: 'waiting' })).toEqual({ instances: [], total: 0 });
    const refused = await expectRejection(manager.listInstances({ needs_input: false }), 'VALIDATION_ERROR');
    expect(refused.details.issues).toEqual([
      { path: 'needs_input', message: 'may be false only beside a status (every status but "waiting" has needs_input false); true lists the instances waiting for input' },
    ]);
  });

  it('an instance still starting cannot wait: starting a question there is INVALID_TRANSITION starting -> waiting, and nothing changes', async () => {
    const { manager, adapter } = testManager();
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Ask', steps: [{ title: 'Which train?', type: 'user_input' }] });
    const before = await snapshotStore(adapter);
    const error = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'INVALID_TRANSITION');
    expect(error.details).toEqual({
      kind: 'instance',
      id: instance.id,
      from: 'starting',
      to: 'waiting',
      allowed: ['running', 'error', 'stopped'],
      reason: `step "${plan.steps[0]!.id}" ("Which train?") asks a person, and the instance must wait for the answer`,
      step_id: plan.steps[0]!.id,
    });
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('an instance its runtime moved to waiting holds its steps too (AWAITING_INPUT without a question to name)', async () => {
    const { manager, instance, plan, booking } = await asking({ ordering: 'free' });
    await manager.transitionInstance(instance.id, { status: 'waiting' });
    const error = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: booking.id, step_status: 'in_progress' }), 'AWAITING_INPUT');
    expect(error.details).toMatchObject({ awaiting: null, question: null });
    expect(error.message).toBe(
      `Step "${booking.id}" ("Book it") cannot execute: instance "${instance.id}" is waiting for a person. Its runtime moved it to "waiting"; no step executes until the instance moves back to "running".`,
    );
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.executeStep({ plan_id: plan.id, step_id: booking.id, step_status: 'in_progress' });
  });

  it('a plan whose instance is not stored asks without moving anything else', async () => {
    const manager = new PlanManager({ adapter: memoryAdapter() });
    const plan = await manager.createPlan({ instance_id: 'not-stored', title: 'Ask', steps: [{ title: 'Which train?', type: 'user_input' }] });
    const started = await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(started.steps[0]!.status).toBe('in_progress');
  });

  it('recovery leaves a question open: it waits for a person, not for the worker that died', async () => {
    let now = Date.UTC(2026, 0, 1);
    const manager = new PlanManager({ adapter: memoryAdapter(), clock: () => new Date(now) });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({
      instance_id: instance.id,
      title: 'Both',
      ordering: 'free',
      steps: [
        { title: 'Crawl', type: 'tool_call' },
        { title: 'Which train?', type: 'user_input' },
      ],
    });
    const worker = manager.withLease(await manager.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    await worker.executeStep({ plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' });
    now += 1_000;
    const lease = await manager.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 60_000 });
    expect(lease.recovered?.steps).toEqual([{ plan_id: plan.id, step_id: plan.steps[0]!.id, title: 'Crawl', status: 'failed' }]);
    expect((await manager.getPlan(plan.id)).steps.map((step) => step.status)).toEqual(['failed', 'in_progress']);
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'waiting', status_reason: 'awaiting_input' });
    await manager.withLease(lease).answer(instance.id, 'The 9:40');
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running' });
  });
});

describe('a question stays the instance\'s until it is answered or withdrawn', () => {
  it('a pause (a budget\'s or the runtime\'s) takes a waiting instance out of waiting; it resumes to waiting, not to running, while the question is open', async () => {
    const { manager, adapter, instance, plan, question } = await asking({ ordering: 'free' });
    await manager.setBudget(instance.id, { max_turns: 1 });
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    expect(await manager.recordTurn(instance.id, { tokens: 5 })).toMatchObject({ status: 'paused', status_reason: 'budget_exhausted', needs_input: false });
    await manager.setBudget(instance.id, { max_turns: 5 });
    const before = await snapshotStore(adapter);
    const error = await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'AWAITING_INPUT');
    expect(error.details).toEqual({
      instance_id: instance.id,
      from: 'paused',
      to: 'running',
      allowed: ['waiting'],
      question: 'Which train should I book?',
      awaiting: { plan_id: plan.id, step_id: question.id, title: 'Which train should I book?' },
    });
    expect(error.message).toBe(
      `Cannot move instance "${instance.id}" from "paused" to "running": its question "Which train should I book?" (step "${question.id}" of plan "${plan.id}") is still open. Move it to "waiting" instead: the answer then brings it back to "running".`,
    );
    expect(await snapshotStore(adapter)).toEqual(before);
    expect(await manager.transitionInstance(instance.id, { status: 'waiting' })).toMatchObject({ status: 'waiting', needs_input: true });
    await manager.answer(instance.id, 'The 9:40');
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running', needs_input: false });
  });

  it('a plan cancelled or failed with its question open withdraws it: the waiting instance goes back to running in the same commit', async () => {
    for (const status of ['cancelled', 'failed'] as const) {
      const { manager, adapter, instance, plan, question } = await asking();
      await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
      const commits = adapter.counts.commits;
      await manager.updatePlan({ plan_id: plan.id, status, ...(status === 'failed' ? { summary: 'The trip was called off' } : {}) });
      expect(adapter.counts.commits).toBe(commits + 1);
      expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running', needs_input: false, status_reason: null });
      expect(await manager.listInstances({ needs_input: true })).toEqual({ instances: [], total: 0 });
    }
  });

  it('a withdrawn question is no longer open: answer() finds none, the instance resumes to running, a new question is the only one', async () => {
    const { manager, instance, plan, question } = await asking();
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    await manager.updatePlan({ plan_id: plan.id, status: 'cancelled' });
    await expectRejection(manager.answer(instance.id, 'late'), 'NOT_FOUND');
    await manager.transitionInstance(instance.id, { status: 'paused' });
    expect(await manager.transitionInstance(instance.id, { status: 'running' })).toMatchObject({ status: 'running' });
    const next = await manager.createPlan({ instance_id: instance.id, title: 'Again', steps: [{ title: 'Which day?', type: 'user_input' }] });
    await manager.executeStep({ plan_id: next.id, step_id: next.steps[0]!.id, step_status: 'in_progress' });
    expect((await manager.answer(instance.id, 'Monday')).id).toBe(next.id);
  });

  it('a question kept across a pause (resumed to waiting) is withdrawn like any other; one of two withdrawn leaves the instance waiting for the other', async () => {
    const { manager, instance, plan, question } = await asking();
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    await manager.transitionInstance(instance.id, { status: 'paused' });
    expect(await manager.transitionInstance(instance.id, { status: 'waiting' })).toMatchObject({ status: 'waiting', status_reason: null });
    await manager.updatePlan({ plan_id: plan.id, status: 'cancelled' });
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running', needs_input: false });

    // Two questions open (the runtime overrode a wait): withdrawing one keeps the instance waiting for the other.
    const first = await manager.createPlan({ instance_id: instance.id, title: 'A', steps: [{ title: 'First?', type: 'user_input' }] });
    const second = await manager.createPlan({ instance_id: instance.id, title: 'B', steps: [{ title: 'Second?', type: 'user_input' }] });
    await manager.executeStep({ plan_id: first.id, step_id: first.steps[0]!.id, step_status: 'in_progress' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.executeStep({ plan_id: second.id, step_id: second.steps[0]!.id, step_status: 'in_progress' });
    await manager.updatePlan({ plan_id: first.id, status: 'cancelled' });
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'waiting', current_step: 'Second?' });
    expect((await manager.answer(instance.id, 'yes')).id).toBe(second.id);
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'running' });
  });

  it('answer() refuses to guess between several open questions (a runtime moved a waiting instance to running, and another was asked)', async () => {
    const { manager, instance, plan, question } = await asking({ ordering: 'free' });
    const more = await manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'Window or aisle?', type: 'user_input' }] });
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.executeStep({ plan_id: plan.id, step_id: more.steps[2]!.id, step_status: 'in_progress' });
    const error = await expectRejection(manager.answer(instance.id, 'The 9:40'), 'VALIDATION_ERROR');
    expect(error.message).toMatch(/^Invalid answer: instance_id has 2 questions open/);
    expect(error.details.issues).toEqual([
      {
        path: 'instance_id',
        message: `has 2 questions open (step "${question.id}" of plan "${plan.id}" ("Which train should I book?"), step "${more.steps[2]!.id}" of plan "${plan.id}" ("Window or aisle?")): answer one by its step, with executeStep and step_status "completed"`,
      },
    ]);
    await manager.executeStep({ plan_id: plan.id, step_id: more.steps[2]!.id, step_status: 'completed', step_output: 'Window' });
    expect((await manager.answer(instance.id, 'The 9:40')).steps[0]).toMatchObject({ status: 'completed', output: 'The 9:40' });
  });
});

describe('the tool tells the agent to ask and wait', () => {
  it('next_step and message: start the question, then ask and wait; the answer is the step completed with the words as step_output', async () => {
    const { manager, instance, plan, question } = await asking();
    const tool = manager.forInstance(instance.id);
    const listed = await tool.handle({ action: 'update', plan_id: plan.id, title: 'Book the trip' });
    expect(listed).toMatchObject({
      success: true,
      next_step: { id: question.id, type: 'user_input', status: 'pending' },
      message: `Step "${question.id}" ("Which train should I book?") asks the person: start it with action "execute_step" and step_status "in_progress", ask, and wait for the answer.`,
    });
    const started = await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    expect(started).toMatchObject({
      success: true,
      next_step: { id: question.id, status: 'in_progress' },
      message: `Ask the person: "Which train should I book?", and wait for the answer (the instance is waiting for it). Then execute step "${question.id}" with step_status "completed" and the answer as step_output.`,
    });
    const refused = await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' });
    expect(refused).toMatchObject({ success: false, error: { code: 'STEP_ORDER' } });
    const answered = await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: question.id, step_status: 'completed', step_output: 'The 9:40' });
    expect(answered).toMatchObject({ success: true, next_step: { id: plan.steps[1]!.id }, message: `Execute step "${plan.steps[1]!.id}" ("Book it", tool_call) with action "execute_step".` });
  });
});

describe('the open question is looked for among the instance\'s plans, at a bounded cost', () => {
  async function manyPlans(count: number, questionAt: 'oldest' | 'newest') {
    const { adapter, state } = listingStore();
    const { manager } = testManager({ adapter });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const ask = async () => {
      const plan = await manager.createPlan({ instance_id: instance.id, title: 'Ask', steps: [{ title: 'Which train?', type: 'user_input' }] });
      await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
      return plan;
    };
    const question = questionAt === 'oldest' ? await ask() : undefined;
    const others = [];
    for (let made = questionAt === 'oldest' ? 1 : 0; made < count - (questionAt === 'newest' ? 1 : 0); made++) {
      others.push(await manager.createPlan({ instance_id: instance.id, title: `Other ${made}`, steps: [{ title: 'Read', type: 'process' }] }));
    }
    const plan = question ?? (await ask());
    return { manager, adapter, state, instance, plan, others };
  }

  it('a question in the oldest of 101 plans is found on the second page of plans; no page past the last is read', async () => {
    const { manager, state, instance, plan } = await manyPlans(101, 'oldest');
    state.planLists = 0;
    const answered = await manager.answer(instance.id, 'The 9:40');
    expect(answered.id).toBe(plan.id);
    expect(state.planLists).toBe(2);
  });

  it('100 plans are one page: answering reads the plans once', async () => {
    const { manager, state, instance, plan } = await manyPlans(100, 'oldest');
    state.planLists = 0;
    expect((await manager.answer(instance.id, 'The 9:40')).id).toBe(plan.id);
    expect(state.planLists).toBe(1);
  });

  it('resuming a paused instance stops at the first question found: one page read of 101 plans when it is in the newest', async () => {
    const { manager, state, instance, plan } = await manyPlans(101, 'newest');
    await manager.transitionInstance(instance.id, { status: 'paused' });
    state.planLists = 0;
    const error = await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'AWAITING_INPUT');
    expect(error.details).toMatchObject({ awaiting: { plan_id: plan.id, step_id: plan.steps[0]!.id, title: 'Which train?' } });
    expect(state.planLists).toBe(1);
  });

  it('at most 1,000 plans are searched (ten pages, newest first): a question in the 1,001st is not found', async () => {
    const { manager, state, instance } = await manyPlans(1_001, 'oldest');
    state.planLists = 0;
    await expectRejection(manager.answer(instance.id, 'The 9:40'), 'NOT_FOUND');
    expect(state.planLists).toBe(10);
  }, 30_000);

  it('a refusal whose question cannot be read (the store failed) is still AWAITING_INPUT, naming no question, and nothing changes', async () => {
    const { manager, adapter, state, plan: asking, others: [other] } = await manyPlans(2, 'oldest');
    const before = await snapshotStore(adapter);
    state.failing = true;
    const blind = await expectRejection(manager.executeStep({ plan_id: other!.id, step_id: other!.steps[0]!.id, step_status: 'in_progress' }), 'AWAITING_INPUT');
    // The question's title is still the instance's current_step; which step asks it is not known.
    expect(blind.details).toMatchObject({ awaiting: null, question: 'Which train?' });
    expect(blind.message).toBe(
      `Step "${other!.steps[0]!.id}" ("Read") cannot execute: instance "${asking.instance_id}" is waiting for a person's answer to "Which train?". ` +
        'Wait for the answer; then execute the question (the user_input step in progress among its plans) with step_status "completed" and the answer as step_output.',
    );
    state.failing = false;
    expect(await snapshotStore(adapter)).toEqual(before);
    const named = await expectRejection(manager.executeStep({ plan_id: other!.id, step_id: other!.steps[0]!.id, step_status: 'in_progress' }), 'AWAITING_INPUT');
    expect(named.details).toMatchObject({ awaiting: { plan_id: asking.id, step_id: asking.steps[0]!.id, title: 'Which train?' } });
  });

  it('a resume whose questions cannot be read is STORAGE_ERROR, and the instance stays paused (it must not skip an open question)', async () => {
    const { manager, adapter, state, instance } = await manyPlans(1, 'oldest');
    await manager.transitionInstance(instance.id, { status: 'paused' });
    const before = await snapshotStore(adapter);
    state.failing = true;
    await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'STORAGE_ERROR');
    state.failing = false;
    expect(await snapshotStore(adapter)).toEqual(before);
    await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'AWAITING_INPUT');
  });
});

describe('only the question\'s own answer executes while the instance waits', () => {
  it('another step in progress completing is refused (it is not a user_input step), and the question moves only to completed or failed', async () => {
    const { manager, adapter, instance, plan, question, booking } = await asking({ ordering: 'free' });
    await manager.executeStep({ plan_id: plan.id, step_id: booking.id, step_status: 'in_progress' });
    await manager.executeStep({ plan_id: plan.id, step_id: question.id, step_status: 'in_progress' });
    const before = await snapshotStore(adapter);
    const done = await expectRejection(manager.executeStep({ plan_id: plan.id, step_id: booking.id, step_status: 'completed', step_output: 'booked' }), 'AWAITING_INPUT');
    expect(done.details).toMatchObject({ step_id: booking.id, awaiting: { plan_id: plan.id, step_id: question.id } });
    // Back to pending is no move of the step machine (in_progress leads only to completed or failed).
    const back = await manager.forInstance(instance.id).handle({ action: 'execute_step', plan_id: plan.id, step_id: question.id, step_status: 'pending' });
    expect(back).toMatchObject({ success: false, error: { code: 'INVALID_TRANSITION', from: 'in_progress', to: 'pending', allowed: ['completed', 'failed'] } });
    expect(await snapshotStore(adapter)).toEqual(before);
    expect(await manager.getInstance(instance.id)).toMatchObject({ status: 'waiting', needs_input: true });
  });
});
