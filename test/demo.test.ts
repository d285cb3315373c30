import { describe, expect, test } from 'vitest';
import { runDemo } from '../examples/agent-loop.mjs';
import { replay, type Instance, type Plan } from '../src';

describe('examples/agent-loop.mjs', async () => {
  const lines: string[] = [];
  const { manager, instance, plan, refusal, runaway } = await runDemo({ log: (line) => lines.push(line) });
  const stored = { instance: await manager.getInstance(instance.id), plan: await manager.getPlan(plan.id) };
  const history = { instance: await manager.history(instance.id), plan: await manager.history(plan.id) };

  test('the instance lived its whole life and is stored completed', () => {
    expect(stored.instance).toEqual(instance);
    expect(instance.status).toBe('completed');
    expect(instance.started_at).not.toBeNull();
    expect(instance.ended_at).not.toBeNull();
    expect(instance.needs_input).toBe(false);
    const statuses = history.instance.filter((event) => event.type === 'instance.transitioned').map((event) => event.to);
    expect(statuses).toEqual(['running', 'waiting', 'running', 'completed']);
    // Turns and tokens are exactly the sum of the recorded turns.
    const turns = history.instance.filter((event) => event.type === 'instance.turn_recorded');
    expect(instance.turn_count).toBe(turns.length);
    expect(instance.turn_count).toBeGreaterThan(0);
    // The manager set current_step from the last step that went in_progress.
    expect(instance.current_step).toBe(plan.steps.at(-1)!.title);
  });

  test('the question moved the instance to waiting and the answer back, with no transition by hand', () => {
    const moves = history.instance.filter((event) => event.type === 'instance.transitioned');
    const question = plan.steps.find((step) => step.type === 'user_input')!;
    const asked = history.plan.find((event) => event.step?.id === question.id && event.step.to === 'in_progress')!;
    const answered = history.plan.find((event) => event.step?.id === question.id && event.step.to === 'completed')!;
    // Each move happened in the commit of the step: the same instant as the step's event.
    expect(moves.find((event) => event.to === 'waiting')!.at).toBe(asked.at);
    expect(moves.find((event) => event.from === 'waiting')!.at).toBe(answered.at);
    expect(replay<Instance>(history.instance.filter((event) => event.at <= asked.at))!.status_reason).toBe('awaiting_input');
    expect(question.output).toBe('Budget is 40k EUR, decision in Q3.');
  });

  test('the runaway loop was stopped by its budget: three turns, then BUDGET_EXCEEDED, then stopped', async () => {
    expect(runaway.refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', counter: 'turns', used: 3, limit: 3 });
    expect(runaway.instance).toMatchObject({ status: 'stopped', turn_count: 3, max_turns: 3 });
    const moves = (await manager.history(runaway.instance.id)).map((event) => event.to);
    expect(moves).toEqual(['starting', 'running', 'running', 'running', 'running', 'paused', 'stopped']);
    const [runawayPlan] = (await manager.listPlans({ instance_id: runaway.instance.id })).plans;
    expect(runawayPlan!.steps[0]).toMatchObject({ status: 'failed', attempts: 3 });
  });

  test('needs_input was true exactly while the instance waited for the answer', () => {
    const waitingAt = history.instance.findIndex((event) => event.to === 'waiting');
    const resumedAt = history.instance.findIndex((event, index) => index > waitingAt && event.to === 'running');
    expect(waitingAt).toBeGreaterThan(0);
    expect(resumedAt).toBeGreaterThan(waitingAt);
    expect(replay<Instance>(history.instance.slice(0, waitingAt + 1))!.needs_input).toBe(true);
    expect(replay<Instance>(history.instance.slice(0, resumedAt + 1))!.needs_input).toBe(false);
    // The user_input step was the one in progress meanwhile.
    const planAtWait = replay<Plan>(history.plan.filter((event) => event.at <= history.instance[waitingAt]!.at))!;
    expect(planAtWait.steps.find((step) => step.status === 'in_progress')?.type).toBe('user_input');
  });

  test('the plan ran every kind of step in order and finished with a summary', () => {
    expect(stored.plan).toEqual(plan);
    expect(plan.status).toBe('completed');
    expect(plan.summary?.trim()).toBeTruthy();
    expect(new Set(plan.steps.map((step) => step.type))).toEqual(new Set(['tool_call', 'process', 'review', 'user_input', 'discussion']));
    expect(plan.steps.every((step) => step.status === 'completed' && step.output)).toBe(true);
    const completions = history.plan.filter((event) => event.step?.to === 'completed').map((event) => event.step!.id);
    expect(completions).toEqual(plan.steps.map((step) => step.id));
  });

  test('the failed step was retried: two attempts, the failure kept in history', () => {
    const [retried, ...rest] = plan.steps;
    expect(retried!.attempts).toBe(2);
    expect(rest.map((step) => step.attempts)).toEqual(rest.map(() => 1));
    const moves = history.plan.filter((event) => event.step?.id === retried!.id).map((event) => `${event.step!.from}→${event.step!.to}`);
    expect(moves).toEqual(['pending→in_progress', 'in_progress→failed', 'failed→in_progress', 'in_progress→completed']);
  });

  test('skipping ahead was refused with STEP_ORDER and changed nothing', () => {
    expect(refusal.code).toBe('STEP_ORDER');
    expect(refusal.blocking_step).toMatchObject({ id: plan.steps[1]!.id });
    // Step 4 first moved only after step 3 had completed.
    const firstMoveOfStep4 = history.plan.findIndex((event) => event.step?.id === plan.steps[3]!.id);
    const step3Completed = history.plan.findIndex((event) => event.step?.id === plan.steps[2]!.id && event.step.to === 'completed');
    expect(firstMoveOfStep4).toBeGreaterThan(step3Completed);
  });

  test('every change is in history: one event per version, and replay rebuilds the records', () => {
    expect(history.instance).toHaveLength(instance.version);
    expect(history.plan).toHaveLength(plan.version);
    expect(replay(history.instance)).toEqual(instance);
    expect(replay(history.plan)).toEqual(plan);
  });

  test('it prints one line per event, then the final state', () => {
    const events = lines.filter((line) => /^(runtime|agent|tool|user) /.test(line));
    // Every committed change was narrated (the plan's creation and steps, the instance's moves and turns)...
    const stepLines = events.filter((line) => /^agent +step \d/.test(line));
    expect(stepLines).toHaveLength(history.plan.filter((event) => event.type === 'plan.step_executed').length);
    expect(events.filter((line) => line.startsWith('runtime  instance →'))).toHaveLength(5);
    expect(events).toContain('runtime  instance → waiting (needs_input: true, status_reason: awaiting_input)');
    const turnLines = events.filter((line) => /^agent +turn \d/.test(line));
    expect(turnLines).toHaveLength(instance.turn_count);
    expect(turnLines.at(-1)).toContain(`(${instance.tokens_total} in all)`);
    // ... then the final state of the first life...
    expect(lines.some((line) => line.startsWith(`instance ${instance.id}: completed`))).toBe(true);
    expect(lines.find((line) => /^ {2}5\. /.test(line))).toMatch(/^ {2}5\. completed discussion/);
    // ... and the runaway loop closes the output, one line per try.
    expect(lines.filter((line) => /^agent +try \d/.test(line))).toHaveLength(3);
    expect(lines.at(-1)).toBe(`runtime  instance → stopped after 3 turns`);
  });
});
