import { setup } from 'xstate';
import type { StepStatus } from '../schemas/enums';

/**
 * The status of one step (DESIGN.md, "Plan and step status"). `countAttempt` marks the edges
 * that begin an execution: starting it, or reporting a result without having reported
 * `in_progress` first. A retry after `failed` is therefore a new attempt.
 */
export type StepEvent = { type: StepStatus };

export const stepDefinition = {
  id: 'step',
  initial: 'pending',
  states: {
    pending: {
      on: {
        in_progress: { target: 'in_progress', actions: 'countAttempt' },
        completed: { target: 'completed', actions: 'countAttempt' },
        failed: { target: 'failed', actions: 'countAttempt' },
      },
    },
    in_progress: {
      on: { completed: 'completed', failed: 'failed' },
    },
    failed: {
      on: {
        in_progress: { target: 'in_progress', actions: 'countAttempt' },
        completed: { target: 'completed', actions: 'countAttempt' },
      },
    },
    completed: { type: 'final' },
  },
} as const;

/** The step status as an XState machine. */
export const stepMachine = /* @__PURE__ */ createStepMachine();

function createStepMachine() {
  return setup({
    types: {} as { events: StepEvent },
    actions: { countAttempt: () => {} },
  }).createMachine(stepDefinition);
}
