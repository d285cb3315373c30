import { setup } from 'xstate';
import type { InstanceStatus } from '../schemas/enums';

/**
 * The lifecycle of an agent instance (DESIGN.md, "Instance lifecycle"). Each event is named
 * after the status it asks for, so `on` reads as the table: from this state, these targets.
 * `recordTurn` is a transition without a target: the states that list it are the ones in
 * which a turn may be recorded (running and waiting). Likewise `setCurrentStep`: every
 * state but the terminal ones, which never change again.
 *
 * The definition is plain data: `instanceMachine` is XState's machine made from it, and the
 * manager's hot path compiles the same object (see `compileDefinition`), so an app that never
 * touches the XState machine does not bundle XState.
 */
export type InstanceEvent = { type: InstanceStatus } | { type: 'recordTurn' } | { type: 'setCurrentStep' };

export const instanceDefinition = {
  id: 'instance',
  initial: 'starting',
  states: {
    starting: {
      on: {
        running: 'running',
        error: 'error',
        stopped: 'stopped',
        setCurrentStep: { actions: 'describeStep' },
      },
    },
    running: {
      on: {
        waiting: 'waiting',
        paused: 'paused',
        completed: 'completed',
        error: 'error',
        stopped: 'stopped',
        recordTurn: { actions: 'countTurn' },
        setCurrentStep: { actions: 'describeStep' },
      },
    },
    waiting: {
      on: {
        running: 'running',
        paused: 'paused',
        error: 'error',
        stopped: 'stopped',
        recordTurn: { actions: 'countTurn' },
        setCurrentStep: { actions: 'describeStep' },
      },
    },
    paused: {
      on: {
        running: 'running',
        waiting: 'waiting',
        error: 'error',
        stopped: 'stopped',
        setCurrentStep: { actions: 'describeStep' },
      },
    },
    completed: { type: 'final' },
    error: { type: 'final' },
    stopped: { type: 'final' },
  },
} as const;

/** The instance lifecycle as an XState machine (for `createActor`, `@xstate/graph`, inspection). */
export const instanceMachine = /* @__PURE__ */ createInstanceMachine();

function createInstanceMachine() {
  // The effects of these actions are applied to records by the manager; here they are names.
  return setup({
    types: {} as { events: InstanceEvent },
    actions: { countTurn: () => {}, describeStep: () => {} },
  }).createMachine(instanceDefinition);
}
