import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transition, type AnyStateMachine } from 'xstate';
import { compileMachine, instanceLogic, machineGraph, planLogic, stepLogic, type CompiledMachine, type MachineDefinition } from '../src/machines';
import { instanceMachine, planMachine, stepMachine } from '../src';
import { InstanceStatus, PlanStatus, StepStatus } from '../src/schemas/enums';
import { readSpecTables, type SpecTable } from './support/spec-tables';

/** test/spec/transitions.md: the tables every status move is checked against. */
const spec = readSpecTables();

interface Subject {
  name: 'instance' | 'plan' | 'step';
  machine: AnyStateMachine;
  logic: CompiledMachine<string>;
  table: SpecTable;
  statuses: readonly string[];
}

const subjects: Subject[] = [
  { name: 'instance', machine: instanceMachine, logic: instanceLogic, table: spec.instance, statuses: InstanceStatus.options },
  { name: 'plan', machine: planMachine, logic: planLogic, table: spec.plan, statuses: PlanStatus.options },
  { name: 'step', machine: stepMachine, logic: stepLogic, table: spec.step, statuses: StepStatus.options },
];

const rowsOf = (subject: Subject) => subject.table.states.map((state) => [state, subject.table.row(state)] as const);

describe('the spec tables (test/spec/transitions.md)', () => {
  it.each(subjects)('the $name table names exactly the statuses of the schema and of the machine', (subject) => {
    expect(new Set(subject.table.states)).toEqual(new Set(subject.statuses));
    expect(subject.table.states).toHaveLength(subject.statuses.length);
    expect(new Set(subject.logic.states)).toEqual(new Set(subject.statuses));
    expect(subject.logic.states).toHaveLength(subject.statuses.length);
  });

  it('reads the terminal rows and the targets with their remarks stripped', () => {
    // Spot checks that the parser read the prose cells ("none: terminal", "(reopen)", "(a retry; ...)")
    // rather than silently producing empty rows: every non-terminal row has targets, some rows are terminal.
    for (const subject of subjects) {
      const rows = rowsOf(subject);
      expect(rows.some(([, row]) => row.terminal), `${subject.name} has a terminal row`).toBe(true);
      for (const [state, row] of rows) {
        expect(row.terminal ? row.targets.length === 0 : row.targets.length > 0, `${subject.name} ${state}`).toBe(true);
        expect(row.targets).not.toContain(state);
      }
    }
  });

  it('the first row of each table is the machine\'s initial state; a new instance starts in the Transition Instance endpoint\'s default status', () => {
    expect(spec.instanceDefault).toBe('starting');
    expect(instanceLogic.initial).toBe(spec.instanceDefault);
    for (const subject of subjects) expect(subject.logic.initial).toBe(subject.table.states[0]);
  });
});

describe('the machines are the spec tables', () => {
  for (const subject of subjects) {
    describe(`${subject.name} machine`, () => {
      it.each(rowsOf(subject))('targets(%s) is exactly the spec row', (state, row) => {
        expect([...subject.logic.targets(state)]).toEqual([...row.targets]);
      });

      it.each(rowsOf(subject))('%s is final exactly when its spec row is terminal', (state, row) => {
        expect(subject.logic.isFinal(state)).toBe(row.terminal);
        expect(subject.machine.root.states[state]?.type === 'final').toBe(row.terminal);
      });

      it('its entry and exit actions belong to states, never to the root', () => {
        // Entries and exits run on every edge into or out of a state (agreement below checks the order).
        expect(subject.machine.root.entry).toEqual([]);
        expect(subject.machine.root.exit).toEqual([]);
        const named = subject.logic.states.flatMap((state) => {
          const node = subject.machine.root.states[state]!;
          return [...node.entry, ...node.exit];
        });
        expect(named.every((action) => typeof action === 'string')).toBe(true);
      });

      it('compiles to the same logic as the exported one', () => {
        const fresh = compileMachine<string>(subject.machine);
        expect(fresh.id).toBe(subject.logic.id);
        expect(fresh.initial).toBe(subject.logic.initial);
        expect([...fresh.states]).toEqual([...subject.logic.states]);
        for (const state of fresh.states) {
          expect(fresh.targets(state)).toEqual(subject.logic.targets(state));
          expect(fresh.isFinal(state)).toBe(subject.logic.isFinal(state));
        }
      });

      it('XState itself takes exactly the spec edges (guards satisfied)', () => {
        // Independent of compileMachine: ask XState for every (from, to) with a context and event
        // that satisfy any guard (all steps completed, a summary given).
        const context = { steps: [{ status: 'completed' }] };
        for (const from of subject.table.states) {
          const snapshot = subject.machine.resolveState({ value: from, context });
          for (const to of subject.table.states) {
            if (to === from) continue;
            const [next] = transition(subject.machine, snapshot, { type: to, summary: 'done' } as never);
            const moved = next.value === to;
            expect(moved, `${subject.name}: ${from} -> ${to}`).toBe(subject.table.allows(from, to));
          }
        }
      });

      it('machineGraph draws exactly the moves between states XState takes, each with its events', () => {
        // Asked of XState for every state and every event any state handles, guards satisfied.
        const definition = subject.machine.config as MachineDefinition;
        const events = [...new Set(Object.values(definition.states).flatMap((node) => Object.keys(node.on ?? {})))];
        const context = { steps: [{ status: 'completed' }] };
        const expected = new Map<string, string[]>();
        for (const from of Object.keys(definition.states)) {
          const snapshot = subject.machine.resolveState({ value: from, context });
          for (const type of events) {
            const [next] = transition(subject.machine, snapshot, { type, summary: 'done' } as never);
            if (next.value !== from) expected.set(`${from} -> ${String(next.value)}`, [...(expected.get(`${from} -> ${String(next.value)}`) ?? []), type]);
          }
        }
        const graph = machineGraph(definition);
        expect(new Map(graph.moves.map((move) => [`${move.from} -> ${move.to}`, [...move.events].sort()]))).toEqual(new Map([...expected].map(([key, types]) => [key, types.sort()])));
        expect([graph.initial, [...graph.states], [...graph.finals]]).toEqual([subject.machine.config.initial, subject.logic.states, subject.logic.states.filter((state) => subject.table.row(state).terminal)]);
      });
    });
  }

  it('the plan machine guards its completed edge with everyStepCompletedWithSummary, and nothing else', () => {
    expect(planLogic.edges('in_progress', 'completed')).toEqual([
      { event: 'completed', target: 'completed', guard: 'everyStepCompletedWithSummary', actions: [] },
    ]);
    for (const subject of subjects) {
      for (const from of subject.logic.states) {
        for (const to of subject.statuses) {
          for (const edge of subject.logic.edges(from, to)) {
            const expected = subject.name === 'plan' && to === 'completed' ? 'everyStepCompletedWithSummary' : undefined;
            expect(edge.guard, `${subject.name} ${from} --${to}-->`).toBe(expected);
          }
        }
      }
    }
  });

  it('the completion guard needs every step completed and a non-blank summary', () => {
    const guarded = (steps: StepStatus[], summary: unknown) =>
      planLogic.resolve('in_progress', { type: 'completed', summary } as { type: string }, { steps: steps.map((status) => ({ status })) });
    expect(guarded(['completed', 'completed'], 'done')?.target).toBe('completed');
    expect(guarded([], 'done')?.target).toBe('completed');
    expect(guarded(['completed', 'failed'], 'done')).toBeUndefined();
    expect(guarded(['in_progress'], 'done')).toBeUndefined();
    for (const blank of [undefined, null, '', '   ', '\n\t']) expect(guarded(['completed'], blank)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// resolve() agrees with XState's transition()

const STATUS_EVENTS = [...new Set([...InstanceStatus.options, ...PlanStatus.options, ...StepStatus.options])];
const ACTION_EVENTS = ['recordTurn', 'setCurrentStep', 'executeStep', 'appendSteps'];
const ODD_EVENTS = ['', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'xstate.init', 'done', 'Running', 'running '];

// '*' is XState's wildcard descriptor: XState refuses an event of that type outright.
const eventType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STATUS_EVENTS) },
  { weight: 1, arbitrary: fc.constant('completed') }, // the one guarded edge, more often
  { weight: 2, arbitrary: fc.constantFrom(...ACTION_EVENTS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_EVENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).filter((type) => type !== '*') },
);

const summary = fc.option(fc.constantFrom<string | null | undefined>(undefined, null, '', '  ', 'x', ' x '), { nil: undefined });

const event = fc.record(
  { type: eventType, summary },
  { requiredKeys: ['type'] },
);

const planContext = fc.record({
  steps: fc.oneof(
    fc.array(fc.record({ status: fc.constantFrom(...StepStatus.options) }), { maxLength: 5 }),
    // plans ready to complete (or with one step short), so the guard is exercised both ways
    fc.array(fc.constant({ status: 'completed' as StepStatus }), { maxLength: 4 }),
    fc.tuple(fc.array(fc.constant({ status: 'completed' as StepStatus }), { maxLength: 3 }), fc.constantFrom<StepStatus>('pending', 'in_progress', 'failed')).map(
      ([done, last]) => [...done, { status: last }],
    ),
  ),
});

type NamedAction = string | { type: string };
const nameOf = (action: unknown) => (typeof action === 'string' ? action : (action as { type: string }).type);

function agreement(subject: Subject, state: string, ev: { type: string; summary?: unknown }, context: unknown) {
  const snapshot = subject.machine.resolveState({ value: state, context });
  const [next] = transition(subject.machine, snapshot, ev as never);
  const edge = subject.logic.resolve(state, ev, context);
  const taken = subject.machine.getTransitionData(snapshot as never, ev as never) ?? [];

  expect(edge === undefined, '"no transition" iff XState selects none').toBe(taken.length === 0);
  expect(snapshot.can(ev as never), 'XState can take the event iff there is an edge').toBe(edge !== undefined);
  expect(next.value).toBe(edge === undefined ? state : (edge.target ?? state));
  if (edge) {
    // The actions XState runs for the selected transition, in its order: exits, its own, entries.
    const from = subject.machine.root.states[state]!;
    const to = taken[0]!.target?.[0];
    const crossing = to !== undefined && to !== from;
    const names = [
      ...(crossing ? (from.exit as NamedAction[]) : []),
      ...(taken[0]!.actions as NamedAction[]),
      ...(crossing ? (to.entry as NamedAction[]) : []),
    ].map(nameOf);
    expect(names).toEqual([...edge.actions]);
  }
  return edge;
}

describe('compileMachine(...).resolve agrees with XState transition()', () => {
  it.each(subjects.filter((subject) => subject.name !== 'plan'))('$name machine (random states and events)', (subject) => {
    let taken = 0;
    fc.assert(
      fc.property(fc.constantFrom(...subject.logic.states), event, (state, ev) => {
        if (agreement(subject, state, ev, {})) taken++;
      }),
      { numRuns: 1500 },
    );
    // The property is not vacuous: a share of the random events took an edge (about 8% expected).
    expect(taken).toBeGreaterThan(40);
  });

  it('plan machine (random states, contexts, events and summaries)', () => {
    const plan = subjects.find((subject) => subject.name === 'plan')!;
    let completedEdges = 0;
    let refusedCompletions = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...planLogic.states), fc.constant('in_progress' as const)), event, planContext, (state, ev, context) => {
        const edge = agreement(plan, state, ev, context);
        if (state === 'in_progress' && ev.type === 'completed') {
          if (edge) completedEdges++;
          else refusedCompletions++;
        }
      }),
      { numRuns: 3000 },
    );
    expect(completedEdges).toBeGreaterThan(0);
    expect(refusedCompletions).toBeGreaterThan(0);
  });

  it('plan machine: the guarded completion, exhaustively over small contexts', () => {
    const plan = subjects.find((subject) => subject.name === 'plan')!;
    const statuses = StepStatus.options;
    const contexts: { steps: { status: StepStatus }[] }[] = [{ steps: [] }];
    for (const a of statuses) {
      contexts.push({ steps: [{ status: a }] });
      for (const b of statuses) contexts.push({ steps: [{ status: a }, { status: b }] });
    }
    for (const state of planLogic.states) {
      for (const context of contexts) {
        for (const s of [undefined, null, '', '  ', 'x']) {
          for (const type of [...PlanStatus.options, ...ACTION_EVENTS]) {
            agreement(plan, state, s === undefined ? { type } : { type, summary: s }, context);
          }
        }
      }
    }
  });
});
