import { setup } from 'xstate';
import type { PlanStatus, StepStatus } from '../schemas/enums';

/**
 * The status of a plan (DESIGN.md, "Plan and step status").
 *
 * Context is what the guards need to know about the plan: its steps' statuses.
 * Events named after a status ask for that status; `completed` and `failed` carry the summary.
 * Two more events say when work may touch the plan at all:
 * - `executeStep`: a step may be executed (pending plans start, in_progress plans continue);
 * - `appendSteps`: steps may be added (a completed or failed plan reopens).
 * `reopen` marks the edges that bring a finished plan back to work: its summary is cleared
 * (the old one stays in history).
 */
export interface PlanContext {
  steps: readonly { status: StepStatus }[];
}

export type PlanEvent =
  | { type: Exclude<PlanStatus, 'completed' | 'failed'> }
  | { type: 'completed' | 'failed'; summary?: string | null }
  | { type: 'executeStep' }
  | { type: 'appendSteps' };

/** The guards, as plain functions: XState's machine and the manager's compiled lookup share them. */
export const planGuards = {
  /** Finish with a summary: every step completed, and a non-empty summary given. */
  everyStepCompletedWithSummary: ({ context, event }: { context: PlanContext; event: PlanEvent }) =>
    context.steps.every((step) => step.status === 'completed') &&
    'summary' in event &&
    typeof event.summary === 'string' &&
    event.summary.trim() !== '',
};

export const planDefinition = {
  id: 'plan',
  initial: 'pending',
  states: {
    pending: {
      on: {
        in_progress: 'in_progress',
        paused: 'paused',
        cancelled: 'cancelled',
        executeStep: { target: 'in_progress', actions: 'startWork' },
        appendSteps: { actions: 'addSteps' },
      },
    },
    in_progress: {
      on: {
        paused: 'paused',
        completed: { target: 'completed', guard: 'everyStepCompletedWithSummary' },
        failed: 'failed',
        cancelled: 'cancelled',
        executeStep: { actions: 'recordStep' },
        appendSteps: { actions: 'addSteps' },
      },
    },
    paused: {
      on: {
        in_progress: 'in_progress',
        cancelled: 'cancelled',
        appendSteps: { actions: 'addSteps' },
      },
    },
    completed: {
      on: {
        in_progress: { target: 'in_progress', actions: 'reopen' },
        appendSteps: { target: 'in_progress', actions: 'reopen' },
      },
    },
    failed: {
      on: {
        in_progress: { target: 'in_progress', actions: 'reopen' },
        appendSteps: { target: 'in_progress', actions: 'reopen' },
      },
    },
    cancelled: { type: 'final' },
  },
} as const;

/** The plan status as an XState machine; its input is the plan's steps (`{ steps }`). */
export const planMachine = /* @__PURE__ */ createPlanMachine();

function createPlanMachine() {
  return setup({
    types: {} as { context: PlanContext; events: PlanEvent; input: PlanContext | undefined },
    guards: planGuards,
    actions: { startWork: () => {}, recordStep: () => {}, addSteps: () => {}, reopen: () => {} },
  }).createMachine({
    ...planDefinition,
    context: ({ input }) => ({ steps: input?.steps ?? [] }),
  });
}
