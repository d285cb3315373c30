import { setup } from 'xstate';
import type { InstanceStatus } from '../schemas/enums';

/**
 * The lifecycle of an agent instance (DESIGN.md, "Instance lifecycle"). Each event is named
 * after the status it asks for, so `on` reads as the table: from this state, these targets.
 * `recordTurn` is a transition without a target: the states that list it are the ones in
 * which a turn may be recorded (running and waiting).
 */
export type InstanceEvent = { type: InstanceStatus } | { type: 'recordTurn' } | { type: 'setCurrentStep' };

export const instanceMachine = setup({
  types: {} as { events: InstanceEvent },
  actions: {
    countTurn: () => {},
    describeStep: () => {},
  },
}).createMachine({
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
});
