import { setup } from 'xstate';
import type { PlanStatus, StepStatus } from '../schemas/enums';
import type { Plan, Step } from '../schemas/records';
import { applyEdge, type EffectsOf } from './effects';
import { compileDefinition } from './lookup';
import { stepEffects, stepLogic, type StepEvent } from './step';
import { assignEffects } from './xstate-effects';

/**
 * The status of a plan. Events named after a status ask for that status; `completed` and
 * `failed` carry the summary. Two more events say when work may touch the plan at all:
 * - `executeStep`: a step may be executed (a pending plan starts, an in_progress one continues);
 * - `appendSteps`: steps may be added (a completed or failed plan reopens).
 * `reopen` marks the edges that bring a finished plan back to work.
 */
export interface PlanContext {
  steps: readonly PlanContextStep[];
  summary?: string | null;
}

/** A step as the plan machine sees it: its status always; the rest when the context is a real plan. */
export type PlanContextStep = { status: StepStatus } & Partial<Step>;

export type PlanEvent =
  | { type: Exclude<PlanStatus, 'completed' | 'failed'> }
  | { type: 'completed' | 'failed'; summary?: string | null }
  | { type: 'executeStep'; step_index?: number; step?: StepEvent }
  | { type: 'appendSteps'; steps?: readonly Step[] };

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
        executeStep: { target: 'in_progress', actions: 'recordStep' },
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
        appendSteps: { target: 'in_progress', actions: ['reopen', 'addSteps'] },
      },
    },
    failed: {
      on: {
        in_progress: { target: 'in_progress', actions: 'reopen' },
        appendSteps: { target: 'in_progress', actions: ['reopen', 'addSteps'] },
      },
    },
    cancelled: { type: 'final' },
  },
} as const;

/**
 * What each action does to the plan: executing a step moves the step at `step_index` along the
 * step machine (with the step's own effects); appended steps join the end; reopening a finished
 * plan clears its summary (the old one stays in history).
 */
export const planEffects = {
  // Only the executeStep and appendSteps events take these actions.
  recordStep: (plan, event) => {
    const { step_index, step: move } = event as Extract<PlanEvent, { type: 'executeStep' }>;
    // By position: searching by id would touch (and, in an immer draft, copy) every step before it.
    const step = step_index === undefined ? undefined : plan.steps[step_index];
    const edge = step && move && stepLogic.resolve(step.status, move);
    if (edge) applyEdge(stepEffects, edge, step as Step, move!);
  },
  addSteps: (plan, event) => {
    plan.steps.push(...(((event as Extract<PlanEvent, { type: 'appendSteps' }>).steps ?? []) as Step[]));
  },
  reopen: (plan) => {
    plan.summary = null;
  },
} as const satisfies EffectsOf<typeof planDefinition, PlanContext, PlanEvent>;

/** The plan status compiled into plain lookups, for the manager's hot path. */
export const planLogic = /* @__PURE__ */ compileDefinition<PlanStatus>(planDefinition, planGuards);

/** The plan status as an XState machine; its context is the plan (input: a `Plan`, or `{ steps }`). */
export const planMachine = /* @__PURE__ */ createPlanMachine();

function createPlanMachine() {
  return setup({
    types: {} as { context: PlanContext; events: PlanEvent; input: PlanContext | undefined },
    guards: planGuards,
    actions: assignEffects<PlanContext, PlanEvent>(planEffects) as unknown as { [K in keyof typeof planEffects]: () => void },
  }).createMachine({
    ...planDefinition,
    context: ({ input }) => ({ summary: null, ...input, steps: input?.steps ?? [] }),
  });
}
