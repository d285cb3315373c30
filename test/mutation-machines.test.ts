// compileDefinition / compileMachine as a public API (docs/testing.md, "Mutation testing"): the
// shipped machines are compiled when the module loads, so Stryker cannot judge those paths
// through the manager (static mutants are ignored); these tests compile definitions at run time.
import { describe, expect, it } from 'vitest';
import { compileDefinition, compileMachine, planDefinition, stepDefinition, stepMachine, type MachineDefinition } from '../src/machines';

describe('compileDefinition reads everything off the definition', () => {
  it('keeps the named actions of each edge, none where the definition has none', () => {
    const step = compileDefinition<string>(stepDefinition);
    // docs/decisions.md: countAttempt on pending -> in_progress|completed|failed and failed -> in_progress|completed only
    expect(step.edges('pending', 'in_progress')).toEqual([{ target: 'in_progress', guard: undefined, actions: ['countAttempt'] }]);
    expect(step.edges('failed', 'completed')).toEqual([{ target: 'completed', guard: undefined, actions: ['countAttempt'] }]);
    expect(step.edges('in_progress', 'completed')).toEqual([{ target: 'completed', guard: undefined, actions: [] }]);
    const plan = compileDefinition<string>(planDefinition);
    expect(plan.edges('in_progress', 'executeStep')).toEqual([{ target: undefined, guard: undefined, actions: ['recordStep'] }]);
    expect(plan.edges('in_progress', 'completed')).toEqual([{ target: 'completed', guard: 'everyStepCompletedWithSummary', actions: [] }]);
  });

  it('takes a list of actions as given, in order', () => {
    const logic = compileDefinition<string>({
      id: 'm',
      initial: 'a',
      states: { a: { on: { go: { target: 'b', actions: ['first', 'second'] } } }, b: {} },
    });
    expect(logic.edges('a', 'go')[0]!.actions).toEqual(['first', 'second']);
    expect(compileMachine<string>(stepMachine).edges('pending', 'failed')[0]!.actions).toEqual(['countAttempt']);
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
  it('an inline guard (guards must be named, so both XState and the lookup can share them)', () => {
    const definition = { id: 'm', initial: 'a', states: { a: { on: { go: { target: 'b', guard: () => true } } }, b: {} } };
    expect(() => compileDefinition(definition as never)).toThrow(TypeError);
    expect(() => compileDefinition(definition as never)).toThrow('machine "m": guards must be named (state a, event go)');
  });

  it('an inline action', () => {
    const definition = { id: 'm', initial: 'a', states: { a: { on: { go: { target: 'b', actions: ['named', () => {}] } } }, b: {} } };
    expect(() => compileDefinition(definition as never)).toThrow(TypeError);
    expect(() => compileDefinition(definition as never)).toThrow('machine "m": actions must be named (state a, event go)');
  });

  it('a named guard without an implementation, when it is needed', () => {
    const logic = compileDefinition<string>({ id: 'm', initial: 'a', states: { a: { on: { go: { target: 'b', guard: 'missing' } } }, b: {} } });
    expect(() => logic.resolve('a', { type: 'go' })).toThrow(TypeError);
    expect(() => logic.resolve('a', { type: 'go' })).toThrow('machine "m": guard "missing" has no implementation');
  });
});
