// The machine compiler, compileDefinition (src/machines, internal to the package): compileMachine,
// its public wrapper, compiles an XState machine through it, and the shipped machines are compiled
// once when the module loads. These tests compile definitions of their own at run time, so every
// path of the compiler is exercised, also those no shipped machine takes: named actions kept in
// order, guards evaluated in order, unknown states, and refusals that say where the defect is.
import { describe, expect, it } from 'vitest';
import { compileDefinition, compileMachine, planDefinition, stepDefinition, type MachineDefinition } from '../src/machines';
import { stepMachine } from '../src';

describe('compileDefinition reads everything off the definition', () => {
  it('keeps the named actions of each edge, with the exits and entries of the states it crosses', () => {
    const step = compileDefinition<string>(stepDefinition);
    // countAttempt on pending -> in_progress|completed|failed and failed -> in_progress|completed;
    // entering in_progress, failed or completed records the output; entering completed stamps it.
    expect(step.edges('pending', 'in_progress')).toEqual([{ event: 'in_progress', target: 'in_progress', guard: undefined, actions: ['countAttempt', 'recordOutput'] }]);
    expect(step.edges('failed', 'completed')).toEqual([{ event: 'completed', target: 'completed', guard: undefined, actions: ['countAttempt', 'recordOutput', 'markCompleted'] }]);
    expect(step.edges('in_progress', 'completed')).toEqual([{ event: 'completed', target: 'completed', guard: undefined, actions: ['recordOutput', 'markCompleted'] }]);
    const plan = compileDefinition<string>(planDefinition);
    expect(plan.edges('in_progress', 'executeStep')).toEqual([{ event: 'executeStep', target: undefined, guard: undefined, actions: ['recordStep'] }]);
    expect(plan.edges('in_progress', 'paused')).toEqual([{ event: 'paused', target: 'paused', guard: undefined, actions: [] }]);
  });

  it('takes a list of actions as given, in order: exits, the edge\'s own, entries', () => {
    const logic = compileDefinition<string>({
      id: 'm',
      initial: 'a',
      states: {
        a: { exit: ['leaveA'], on: { go: { target: 'b', actions: ['first', 'second'] }, stay: { actions: 'here' }, self: { target: 'a', actions: 'again' } } },
        b: { entry: 'enterB', exit: 'leaveB', on: { back: 'a' } },
      },
    });
    expect(logic.edges('a', 'go')[0]!.actions).toEqual(['leaveA', 'first', 'second', 'enterB']);
    // Staying (no target, or the state itself) neither leaves nor enters it.
    expect(logic.edges('a', 'stay')[0]!.actions).toEqual(['here']);
    expect(logic.edges('a', 'self')[0]!.actions).toEqual(['again']);
    expect(logic.edges('b', 'back')[0]!.actions).toEqual(['leaveB']);
    expect(compileMachine<string>(stepMachine).edges('pending', 'failed')[0]!.actions).toEqual(['countAttempt', 'recordOutput']);
  });

  it('refuses a target that is not a state, naming the machine, the state, the event and the target', () => {
    const definition = { id: 'door', initial: 'shut', states: { shut: { on: { push: 'ajar' } }, open: {} } };
    expect(() => compileDefinition(definition)).toThrow(new TypeError('machine "door": state shut, event push targets "ajar", which is not a state'));
  });

  it('counts a status event as a status target when any of its edges leads there (guards not evaluated)', () => {
    const definition: MachineDefinition = {
      id: 'm',
      initial: 'a',
      states: {
        a: { on: { b: [{ target: 'b', guard: 'ready' }, { target: 'c' }], c: 'c' } },
        b: {},
        c: { type: 'final' },
      },
    };
    let ready = false;
    const logic = compileDefinition<string>(definition, { ready: () => ready });
    expect(logic.targets('a')).toEqual(['b', 'c']);
    // resolve takes the first edge whose guard passes, as XState does
    expect(logic.resolve('a', { type: 'b' })?.target).toBe('c');
    ready = true;
    expect(logic.resolve('a', { type: 'b' })?.target).toBe('b');
    expect(logic.isFinal('c')).toBe(true);
    expect(logic.isFinal('a')).toBe(false);
  });

  it('a state it does not know has no targets, no edges and no transition', () => {
    const logic = compileDefinition<string>(stepDefinition);
    expect(logic.targets('unknown')).toEqual([]);
    expect(logic.edges('unknown', 'completed')).toEqual([]);
    expect(logic.resolve('unknown', { type: 'completed' })).toBeUndefined();
    // and a known state without the event
    expect(logic.edges('completed', 'in_progress')).toEqual([]);
  });
});

describe('compileDefinition refuses what it cannot compile, saying where', () => {
  /** The TypeError `run` throws; its message must name each of `names` (in any order, any wording around them). */
  function expectTypeErrorNaming(run: () => unknown, names: string[]) {
    let thrown: unknown;
    try {
      run();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    for (const name of names) expect((thrown as Error).message).toContain(name);
  }

  it('an inline guard (guards must be named, so both XState and the lookup can share them), naming the machine, state and event', () => {
    const definition = { id: 'door', initial: 'shut', states: { shut: { on: { push: { target: 'ajar', guard: () => true } } }, ajar: {} } };
    expectTypeErrorNaming(() => compileDefinition(definition as never), ['door', 'shut', 'push', 'guard']);
  });

  it('an inline action, naming the machine, state and event', () => {
    const definition = { id: 'door', initial: 'shut', states: { shut: { on: { push: { target: 'ajar', actions: ['creak', () => {}] } } }, ajar: {} } };
    expectTypeErrorNaming(() => compileDefinition(definition as never), ['door', 'shut', 'push', 'action']);
  });

  it('a named guard without an implementation, when it is needed, naming the machine and the guard', () => {
    const logic = compileDefinition<string>({ id: 'door', initial: 'shut', states: { shut: { on: { push: { target: 'ajar', guard: 'unlocked' } } }, ajar: {} } });
    expectTypeErrorNaming(() => logic.resolve('shut', { type: 'push' }), ['door', 'unlocked']);
  });
});
