import { describe, expect, test } from 'vitest';
import { runDemo } from '../examples/agent-loop.mjs';
import { replay, type Instance, type Plan } from '../src';

describe('examples/agent-loop.mjs', async () => {
  const lines: string[] = [];
  const { manager, instance, plan, refusal } = await runDemo({ log: (line) => lines.push(line) });
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
    expect(events.filter((line) => line.startsWith('runtime  instance →'))).toHaveLength(4);
    expect(events).toContain('runtime  instance → waiting (needs_input: true)');
    const turnLines = events.filter((line) => /^agent +turn \d/.test(line));
    expect(turnLines).toHaveLength(instance.turn_count);
    expect(turnLines.at(-1)).toContain(`(${instance.tokens_total} in all)`);
    // ... and the final state closes the output.
    expect(lines.some((line) => line.startsWith(`instance ${instance.id}: completed`))).toBe(true);
    expect(lines.at(-1)).toMatch(/^ {2}5\. completed discussion/);
  });
});
