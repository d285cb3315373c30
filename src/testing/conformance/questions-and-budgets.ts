import type { CommittedChange } from '../../adapters/contract';
import { replay } from '../../manager/history';
import { PlanManager } from '../../manager/plan-manager';
import { checkEqual, checkRejects, eventually } from './assert';
import { T0 } from './fixtures';
import type { Harness } from './harness';

/**
 * Human in the loop and budgets through the manager on this adapter: a question and its
 * instance's move to `waiting` are one commit, the inbox is a list by an indexed filter, and a
 * budget is stored, so another handle (another process, after a restart) holds to it.
 */
export function questionsAndBudgets(h: Harness): void {
  h.describe('human in the loop and budgets', () => {
    h.it('a question moves its instance to waiting in the same commit; another handle lists it in the inbox and answers it', async ({ adapter, connect }) => {
      const clock = () => new Date(T0);
      const a = new PlanManager({ adapter, clock });
      const b = new PlanManager({ adapter: await connect(), clock });
      const asking = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
      const quiet = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'booker' });
      for (const instance of [asking, quiet]) await a.transitionInstance(instance.id, { status: 'running' });
      const plan = await a.createPlan({ instance_id: asking.id, title: 'Book', ordering: 'free', steps: [{ title: 'Which train?', type: 'user_input' }, { title: 'Book it', type: 'tool_call' }] });
      // Every commit is one change: the question's must hold the plan and the instance both.
      const changes: CommittedChange[] = [];
      const unsubscribe = a.subscribe((change) => changes.push(change));
      await a.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
      const ids = (change: CommittedChange) => change.records.map((record) => record.id).sort();
      await eventually(() => changes.some((change) => ids(change).includes(plan.id)), 5_000, 'the change of starting the question');
      unsubscribe();
      checkEqual(changes.filter((change) => ids(change).includes(plan.id)).map(ids), [[asking.id, plan.id].sort()], 'the commits of starting the question');

      const waiting = await b.getInstance(asking.id);
      checkEqual(
        [waiting.status, waiting.needs_input, waiting.status_reason, waiting.current_step],
        ['waiting', true, 'awaiting_input', 'Which train?'],
        'the instance as another handle reads it',
      );
      const inbox = await b.listInstances({ needs_input: true });
      checkEqual([inbox.instances.map((instance) => instance.id), inbox.total], [[asking.id], 1], 'the inbox');
      await checkRejects(b.executeStep({ plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' }), 'another step while the question waits', 'AWAITING_INPUT');

      const answered = await b.answer(asking.id, 'The 9:40');
      checkEqual([answered.steps[0]!.status, answered.steps[0]!.output], ['completed', 'The 9:40'], 'the answered question');
      const resumed = await a.getInstance(asking.id);
      checkEqual([resumed.status, resumed.needs_input, resumed.status_reason], ['running', false, null], 'the instance after the answer');
      checkEqual((await a.listInstances({ needs_input: true })).total, 0, 'the inbox after the answer');
      checkEqual(replay(await a.history(asking.id)), resumed, 'the instance replayed from its history');
    });

    h.it('a budget is stored: the turn that reaches it pauses the instance, and another handle refuses its steps until it is raised and resumed', async ({ adapter, connect }) => {
      const clock = () => new Date(T0);
      const a = new PlanManager({ adapter, clock });
      const instance = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'looper', max_turns: 2, max_tokens: 10_000 });
      await a.transitionInstance(instance.id, { status: 'running' });
      const plan = await a.createPlan({ instance_id: instance.id, title: 'Loop', ordering: 'free', steps: [{ title: 'Again', type: 'process' }] });
      await a.recordTurn(instance.id, { tokens: 400 });
      const spent = await a.recordTurn(instance.id, { tokens: 400 });
      checkEqual([spent.status, spent.status_reason, spent.turn_count, spent.max_turns], ['paused', 'budget_exhausted', 2, 2], 'the instance after its last turn');

      // Another handle, as a restarted process or another worker opens it.
      const b = new PlanManager({ adapter: await connect(), clock });
      await checkRejects(b.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'a step over budget', 'BUDGET_EXCEEDED');
      await checkRejects(b.transitionInstance(instance.id, { status: 'running' }), 'resuming before the budget is raised', 'BUDGET_EXCEEDED');
      const raised = await b.setBudget(instance.id, { max_turns: 5 });
      checkEqual([raised.status, raised.max_turns, raised.max_tokens], ['paused', 5, 10_000], 'the instance after the raise');
      await checkRejects(b.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' }), 'a step before the resume', 'BUDGET_EXCEEDED');
      await b.transitionInstance(instance.id, { status: 'running' });
      const worked = await a.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
      checkEqual(worked.steps[0]!.status, 'in_progress', 'a step after the raise and the resume');
      checkEqual(replay(await b.history(instance.id)), await b.getInstance(instance.id), 'the instance replayed from its history');
    });
  });
}
