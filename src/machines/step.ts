import { setup } from 'xstate';
import type { StepStatus } from '../schemas/enums';
import type { Step } from '../schemas/records';
import { timeOf, type EffectsOf } from './effects';
import { compileDefinition } from './lookup';
import { assignEffects } from './xstate-effects';

/**
 * The status of one step. An event names the status reported, with the step's output if one
 * was given. `countAttempt` marks the edges that begin an execution: starting it, or reporting a
 * result without having reported `in_progress` first. A retry after `failed` is a new attempt.
 */
export type StepEvent = { type: StepStatus; output?: string | null; at?: string };

/** The fields of a step that its effects change (a `Step` is one). */
export type StepContext = Pick<Step, 'output' | 'attempts' | 'started_at' | 'completed_at'>;

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
      entry: 'recordOutput',
      on: { completed: 'completed', failed: 'failed' },
    },
    failed: {
      entry: 'recordOutput',
      on: {
        in_progress: { target: 'in_progress', actions: 'countAttempt' },
        completed: { target: 'completed', actions: 'countAttempt' },
      },
    },
    completed: { type: 'final', entry: ['recordOutput', 'markCompleted'] },
  },
} as const;

/**
 * What each action does to the step: an attempt counts and stamps `started_at`; the output
 * reported with a move is kept (a move without one keeps the last); completing stamps `completed_at`.
 */
export const stepEffects = {
  countAttempt: (step, event) => {
    step.attempts += 1;
    step.started_at = timeOf(event);
  },
  recordOutput: (step, event) => {
    if (event.output !== undefined) step.output = event.output;
  },
  markCompleted: (step, event) => {
    step.completed_at = timeOf(event);
  },
} as const satisfies EffectsOf<typeof stepDefinition, StepContext, StepEvent>;

/** The step status compiled into plain lookups, for the manager's hot path. */
export const stepLogic = /* @__PURE__ */ compileDefinition<StepStatus>(stepDefinition);

/** The step status as an XState machine; its context is the step (input: a `Step`, or nothing). */
export const stepMachine = /* @__PURE__ */ createStepMachine();

function createStepMachine() {
  return setup({
    types: {} as { context: StepContext; events: StepEvent; input: Partial<StepContext> | undefined },
    actions: assignEffects<StepContext, StepEvent>(stepEffects) as unknown as { [K in keyof typeof stepEffects]: () => void },
  }).createMachine({
    ...stepDefinition,
    context: ({ input }) => ({ output: null, attempts: 0, started_at: null, completed_at: null, ...input }),
  });
}
