import fc from 'fast-check';
import { produce } from 'immer';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createActor, transition, type AnyStateMachine } from 'xstate';
import { instanceMachine, planMachine, stepMachine } from 'instance-plan';
import {
  applyEdge,
  instanceEffects,
  instanceLogic,
  planEffects,
  planLogic,
  stepEffects,
  stepLogic,
  type CompiledMachine,
  type Effect,
  type EffectsOf,
} from 'instance-plan/machines';
import { InstanceStatus, PlanStatus, StepStatus } from '../src/schemas/enums';

// The effects of every edge live with the machines, and the manager's compiled form applies the
// same functions XState's machines run: for any state, record and event, taking the compiled edge
// with `applyEdge` gives exactly the state and context XState's own transition() gives.

const at = fc.constant('2026-12-01T10:00:00.000Z');
const stamp = fc.option(fc.constantFrom('2026-11-30T09:00:00.000Z', '2026-12-01T08:00:00.000Z'), { nil: null });
const text = fc.option(fc.string({ maxLength: 6 }), { nil: null });
const count = fc.nat({ max: 1000 });

const limit = fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null });
const instanceContext = fc.record({
  status_reason: fc.constantFrom(null, 'awaiting_input', 'budget_exhausted'),
  started_at: stamp,
  ended_at: stamp,
  needs_input: fc.boolean(),
  turn_count: count,
  tokens_total: count,
  max_turns: limit,
  max_tokens: limit,
  current_step: text,
});

const instanceEvent = fc.oneof(
  fc.record({ type: fc.constantFrom<string>(...InstanceStatus.options), reason: fc.constantFrom('awaiting_input', 'budget_exhausted'), at }, { requiredKeys: ['type', 'at'] }),
  fc.record({ type: fc.constant('recordTurn'), tokens: count, at }),
  fc.record({ type: fc.constant('setBudget'), max_turns: fc.option(limit, { nil: undefined }), max_tokens: fc.option(limit, { nil: undefined }), at }, { requiredKeys: ['type', 'at'] }),
  fc.record({ type: fc.constant('setCurrentStep'), text, at }),
  fc.record({ type: fc.constantFrom('executeStep', 'appendSteps', 'nonsense'), at }),
);

const stepContext = fc.record({ output: text, attempts: count, started_at: stamp, completed_at: stamp });
const stepMove = fc.record({ type: fc.constantFrom<string>(...StepStatus.options), output: fc.option(text, { nil: undefined }), at }, { requiredKeys: ['type', 'at'] });

const planStep = fc.record({
  id: fc.constantFrom('s1', 's2', 's3'),
  title: fc.constant('a step'),
  type: fc.constant('process'),
  description: fc.constant(null),
  status: fc.constantFrom(...StepStatus.options),
  output: text,
  attempts: count,
  started_at: stamp,
  completed_at: stamp,
  details: fc.constant({}),
});
const planContext = fc.record({ steps: fc.array(planStep, { maxLength: 3 }), summary: text });

const planEvent = fc.oneof(
  fc.record({ type: fc.constantFrom<string>(...PlanStatus.options), summary: fc.option(fc.constantFrom('done', '  ', ''), { nil: undefined }) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('executeStep'), step_index: fc.integer({ min: -1, max: 3 }), step: stepMove }),
  fc.record({ type: fc.constant('appendSteps'), steps: fc.array(planStep.map((step) => ({ ...step, id: 'new', status: 'pending' as const })), { maxLength: 2 }) }),
);

interface Subject {
  name: string;
  machine: AnyStateMachine;
  logic: CompiledMachine<string>;
  effects: Readonly<Record<string, Effect<{ status: string }, unknown>>>;
  context: fc.Arbitrary<object>;
  event: fc.Arbitrary<{ type: string }>;
}

const subjects: Subject[] = [
  { name: 'instance', machine: instanceMachine, logic: instanceLogic, effects: instanceEffects as never, context: instanceContext, event: instanceEvent },
  { name: 'step', machine: stepMachine, logic: stepLogic, effects: stepEffects as never, context: stepContext, event: stepMove },
  { name: 'plan', machine: planMachine, logic: planLogic, effects: planEffects as never, context: planContext, event: planEvent },
];

/** What XState makes of the event: its state and context (the status field written from its state). */
function byXState(subject: Subject, state: string, context: object, event: { type: string }) {
  const [next] = transition(subject.machine, subject.machine.resolveState({ value: state, context }), event as never);
  return { ...(next.context as object), status: next.value as string };
}

/** What the manager's compiled form makes of it: the edge resolve() picks, taken with applyEdge. */
function byCompiled(subject: Subject, state: string, context: object, event: { type: string }) {
  const record = { ...context, status: state };
  const edge = subject.logic.resolve(state, event, record);
  if (!edge) return record;
  return produce(record, (draft) => applyEdge(subject.effects, edge, draft, event));
}

describe('the effects of every edge are the same through XState and through the compiled machines', () => {
  it.each(subjects)('$name machine: random states, records and events', (subject) => {
    let changed = 0;
    fc.assert(
      fc.property(fc.constantFrom(...subject.logic.states), subject.context, subject.event, (state, context, event) => {
        const compiled = byCompiled(subject, state, context, event);
        expect(compiled).toEqual(byXState(subject, state, context, event));
        if (JSON.stringify(compiled) !== JSON.stringify({ ...context, status: state })) changed++;
      }),
      { numRuns: 1500 },
    );
    // Not vacuous: a good share of the random events changed the record.
    expect(changed).toBeGreaterThan(100);
  });
});

describe('what the effects do to a record', () => {
  const instance = { started_at: null, ended_at: null, needs_input: false, turn_count: 0, tokens_total: 0, current_step: null, status: 'starting' };
  const take = (record: typeof instance, type: string, extra: object = {}) => byCompiled(subjects[0]!, record.status, record, { type, at: `t-${type}`, ...extra } as { type: string }) as typeof instance;

  it('an instance: started once, waiting exactly while it waits, ended on a terminal status, turns counted', () => {
    const running = take(instance, 'running');
    expect(running).toMatchObject({ status: 'running', started_at: 't-running', needs_input: false, ended_at: null });
    const waiting = take(running, 'waiting');
    expect(waiting).toMatchObject({ status: 'waiting', needs_input: true, started_at: 't-running' });
    const back = take(waiting, 'running');
    expect(back).toMatchObject({ status: 'running', needs_input: false, started_at: 't-running' });
    const turned = take(back, 'recordTurn', { tokens: 7 });
    expect(turned).toMatchObject({ status: 'running', turn_count: 1, tokens_total: 7 });
    const described = take(turned, 'setCurrentStep', { text: 'reading' });
    expect(described.current_step).toBe('reading');
    // completed only from running; error and stopped from waiting too, which stops the asking.
    expect(take(back, 'completed')).toMatchObject({ status: 'completed', ended_at: 't-completed', needs_input: false });
    for (const end of ['error', 'stopped'] as const) {
      expect(take(waiting, end)).toMatchObject({ status: end, ended_at: `t-${end}`, needs_input: false });
    }
  });

  it('a step: attempts count each execution, the output is kept, completion is stamped', () => {
    const step = { output: null, attempts: 0, started_at: null, completed_at: null, status: 'pending' };
    const move = (record: typeof step, type: string, output?: string | null) =>
      byCompiled(subjects[1]!, record.status, record, { type, at: `t-${type}`, ...(output === undefined ? {} : { output }) } as { type: string }) as typeof step;
    const started = move(step, 'in_progress');
    expect(started).toMatchObject({ status: 'in_progress', attempts: 1, started_at: 't-in_progress', output: null });
    const failed = move(started, 'failed', 'timed out');
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, output: 'timed out', completed_at: null });
    const retried = move(failed, 'completed', 'done');
    expect(retried).toMatchObject({ status: 'completed', attempts: 2, started_at: 't-completed', output: 'done', completed_at: 't-completed' });
    expect(move(started, 'completed')).toMatchObject({ output: null, attempts: 1, completed_at: 't-completed' });
  });

  it('a plan: appending to a finished plan reopens it and clears the summary; executing moves the step', () => {
    const fresh = { output: null, attempts: 0, started_at: null, completed_at: null };
    const done = { status: 'completed', summary: 'all done', steps: [{ id: 's1', ...fresh, status: 'completed' }] };
    const appended = byCompiled(subjects[2]!, 'completed', done, { type: 'appendSteps', steps: [{ id: 's2', ...fresh, status: 'pending' }] } as { type: string }) as typeof done;
    expect(appended).toEqual({ status: 'in_progress', summary: null, steps: [done.steps[0], { id: 's2', ...fresh, status: 'pending' }] });
    const executed = byCompiled(subjects[2]!, 'in_progress', appended, {
      type: 'executeStep',
      step_index: 1,
      step: { type: 'completed', output: 'ok', at: 't' },
    } as { type: string }) as unknown as { steps: object[] };
    expect(executed.steps[1]).toEqual({ id: 's2', status: 'completed', output: 'ok', attempts: 1, started_at: 't', completed_at: 't' });
  });
});

describe('an edge is taken only by its own event', () => {
  it('applyEdge with an event of another type throws before the record changes (its effects would read the wrong fields)', () => {
    const edge = instanceLogic.resolve('running', { type: 'recordTurn' })!;
    expect(edge.event).toBe('recordTurn');
    const record = { status: 'running', turn_count: 0, tokens_total: 0 };
    const after = produce(record, (draft) => {
      expect(() => applyEdge(instanceEffects, edge, draft as never, { type: 'setCurrentStep', text: 'x' })).toThrow(
        new TypeError('the edge taken by "recordTurn" was given an event "setCurrentStep"'),
      );
    });
    expect(after).toBe(record);
    // Every edge of every machine names the event it is listed under.
    for (const logic of [instanceLogic, planLogic, stepLogic] as CompiledMachine<string>[]) {
      for (const state of logic.states) {
        for (const type of ['running', 'waiting', 'paused', 'completed', 'failed', 'in_progress', 'executeStep', 'appendSteps', 'recordTurn', 'setBudget', 'setCurrentStep']) {
          for (const found of logic.edges(state, type)) expect(found.event).toBe(type);
        }
      }
    }
  });
});

describe('an XState actor of a machine keeps the record as the manager does', () => {
  it('createActor(instanceMachine, { input: instance }) moves the instance\'s fields with its status', () => {
    const instance = {
      id: 'i-1',
      status_reason: null,
      started_at: null,
      ended_at: null,
      needs_input: false,
      turn_count: 2,
      tokens_total: 10,
      max_turns: null,
      max_tokens: null,
      current_step: null,
    };
    const actor = createActor(instanceMachine, { input: instance }).start();
    actor.send({ type: 'running', at: 't1' });
    actor.send({ type: 'recordTurn', tokens: 5, at: 't2' });
    actor.send({ type: 'setBudget', max_turns: 10, at: 't2' });
    actor.send({ type: 'waiting', reason: 'awaiting_input', at: 't3' });
    expect(actor.getSnapshot().value).toBe('waiting');
    expect(actor.getSnapshot().context).toEqual({
      ...instance,
      started_at: 't1',
      turn_count: 3,
      tokens_total: 15,
      max_turns: 10,
      needs_input: true,
      status_reason: 'awaiting_input',
    });
    actor.send({ type: 'stopped', at: 't4' });
    expect(actor.getSnapshot().context).toMatchObject({ needs_input: false, ended_at: 't4', started_at: 't1', status_reason: null });
    expect(actor.getSnapshot().status).toBe('done');
  });
});

describe('the effects are typed by the machines\' own action names', () => {
  it('a misspelt or missing action name does not compile', () => {
    const definition = { id: 'door', initial: 'shut', states: { shut: { on: { push: { target: 'open', actions: 'creak' } } }, open: { entry: 'swing' } } } as const;
    type Door = { status: string; creaks: number; swung: boolean };
    const good = { creak: (door, _event) => void (door.creaks += 1), swing: (door) => void (door.swung = true) } satisfies EffectsOf<typeof definition, Door, { type: string }>;
    expect(Object.keys(good)).toEqual(['creak', 'swing']);
    // @ts-expect-error: "creek" is not an action of the definition, and "creak" has no effect
    const misspelt = { creek: () => {}, swing: () => {} } satisfies EffectsOf<typeof definition, Door, { type: string }>;
    // @ts-expect-error: "swing" has no effect
    const missing = { creak: () => {} } satisfies EffectsOf<typeof definition, Door, { type: string }>;
    expect([misspelt, missing]).toHaveLength(2);
    expectTypeOf(instanceEffects).toHaveProperty('markStarted');
    expectTypeOf(planEffects).toHaveProperty('reopen');
    expectTypeOf(stepEffects).toHaveProperty('countAttempt');
  });
});
