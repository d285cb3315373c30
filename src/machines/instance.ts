import { setup } from 'xstate';
import type { InstanceStatus } from '../schemas/enums';
import type { Instance } from '../schemas/records';
import { timeOf, type EffectsOf } from './effects';
import { compileDefinition } from './lookup';
import { assignEffects } from './xstate-effects';

/**
 * The lifecycle of an agent instance. Each event is named after the status it asks for, so `on`
 * reads as the table: from this state, these targets. `recordTurn` is a transition without a
 * target: the states that list it are the ones in which a turn may be recorded (running and
 * waiting). Likewise `setCurrentStep`: every state but the terminal ones, which never change.
 *
 * The definition is plain data: `instanceMachine` is XState's machine made from it, and the
 * manager's hot path compiles the same object (`instanceLogic`), so an app that never touches
 * the XState machine does not bundle XState. The effects of its actions are `instanceEffects`.
 */
export type InstanceEvent =
  | { type: InstanceStatus; at?: string }
  | { type: 'recordTurn'; tokens: number; at?: string }
  | { type: 'setCurrentStep'; text: string | null; at?: string };

/** The fields of an instance that the lifecycle's effects change (an `Instance` is one). */
export type InstanceContext = Pick<Instance, 'started_at' | 'ended_at' | 'needs_input' | 'turn_count' | 'tokens_total' | 'current_step'>;

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
      entry: 'markStarted',
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
      entry: 'askForInput',
      exit: 'stopAsking',
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
    completed: { type: 'final', entry: 'markEnded' },
    error: { type: 'final', entry: 'markEnded' },
    stopped: { type: 'final', entry: 'markEnded' },
  },
} as const;

/**
 * What each action does to the instance: `started_at` is set once, on the first entry to
 * `running`; `ended_at` on entry to a terminal status; `needs_input` is true exactly while
 * `waiting`; a turn counts once with its tokens; `current_step` says what the instance does now.
 */
export const instanceEffects = {
  markStarted: (instance, event) => {
    if (instance.started_at === null) instance.started_at = timeOf(event);
  },
  markEnded: (instance, event) => {
    instance.ended_at = timeOf(event);
  },
  askForInput: (instance) => {
    instance.needs_input = true;
  },
  stopAsking: (instance) => {
    instance.needs_input = false;
  },
  // Only the recordTurn and setCurrentStep events take these actions.
  countTurn: (instance, event) => {
    instance.turn_count += 1;
    instance.tokens_total += (event as Extract<InstanceEvent, { type: 'recordTurn' }>).tokens;
  },
  describeStep: (instance, event) => {
    instance.current_step = (event as Extract<InstanceEvent, { type: 'setCurrentStep' }>).text;
  },
} as const satisfies EffectsOf<typeof instanceDefinition, InstanceContext, InstanceEvent>;

/** The lifecycle compiled into plain lookups, for the manager's hot path (no XState at run time). */
export const instanceLogic = /* @__PURE__ */ compileDefinition<InstanceStatus>(instanceDefinition);

/**
 * The instance lifecycle as an XState machine (for `createActor`, `@xstate/graph`, inspection).
 * Its context is the instance (input: an `Instance`, or nothing for a new one), kept by the same
 * effects the manager applies.
 */
export const instanceMachine = /* @__PURE__ */ createInstanceMachine();

function createInstanceMachine() {
  return setup({
    types: {} as { context: InstanceContext; events: InstanceEvent; input: Partial<InstanceContext> | undefined },
    actions: assignEffects<InstanceContext, InstanceEvent>(instanceEffects) as unknown as { [K in keyof typeof instanceEffects]: () => void },
  }).createMachine({
    ...instanceDefinition,
    context: ({ input }) => ({
      started_at: null,
      ended_at: null,
      needs_input: false,
      turn_count: 0,
      tokens_total: 0,
      current_step: null,
      ...input,
    }),
  });
}
