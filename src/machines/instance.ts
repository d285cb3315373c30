import { setup } from 'xstate';
import type { InstanceStatus, StatusReason } from '../schemas/enums';
import type { Instance } from '../schemas/records';
import { timeOf, type EffectsOf } from './effects';
import { compileDefinition } from './lookup';
import { assignEffects } from './xstate-effects';

/**
 * The lifecycle of an agent instance. Each event is named after the status it asks for, so `on`
 * reads as the table: from this state, these targets. `recordTurn` is a transition without a
 * target: the states that list it are the ones in which a turn may be recorded (running and
 * waiting). Likewise `setCurrentStep` and `setBudget`: every state but the terminal ones, which
 * never change. A status event may carry the `reason` the library moves the instance for (a
 * question to a person, an exhausted budget): entering any state records it, or null.
 *
 * The definition is plain data: `instanceMachine` is XState's machine made from it, and the
 * manager's hot path compiles the same object (`instanceLogic`), so an app that never touches
 * the XState machine does not bundle XState. The effects of its actions are `instanceEffects`.
 */
export type InstanceEvent =
  | { type: InstanceStatus; at?: string; reason?: StatusReason }
  | { type: 'recordTurn'; tokens: number; at?: string }
  | { type: 'setCurrentStep'; text: string | null; at?: string }
  | { type: 'setBudget'; max_turns?: number | null; max_tokens?: number | null; at?: string };

/** The fields of an instance that the lifecycle's effects change (an `Instance` is one). */
export type InstanceContext = Pick<
  Instance,
  'status_reason' | 'started_at' | 'ended_at' | 'needs_input' | 'turn_count' | 'tokens_total' | 'max_turns' | 'max_tokens' | 'current_step'
>;

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
        setBudget: { actions: 'budget' },
      },
    },
    running: {
      entry: ['noteReason', 'markStarted'],
      on: {
        waiting: 'waiting',
        paused: 'paused',
        completed: 'completed',
        error: 'error',
        stopped: 'stopped',
        recordTurn: { actions: 'countTurn' },
        setCurrentStep: { actions: 'describeStep' },
        setBudget: { actions: 'budget' },
      },
    },
    waiting: {
      entry: ['noteReason', 'askForInput'],
      exit: 'stopAsking',
      on: {
        running: 'running',
        paused: 'paused',
        error: 'error',
        stopped: 'stopped',
        recordTurn: { actions: 'countTurn' },
        setCurrentStep: { actions: 'describeStep' },
        setBudget: { actions: 'budget' },
      },
    },
    paused: {
      entry: 'noteReason',
      on: {
        running: 'running',
        waiting: 'waiting',
        error: 'error',
        stopped: 'stopped',
        setCurrentStep: { actions: 'describeStep' },
        setBudget: { actions: 'budget' },
      },
    },
    completed: { type: 'final', entry: ['noteReason', 'markEnded'] },
    error: { type: 'final', entry: ['noteReason', 'markEnded'] },
    stopped: { type: 'final', entry: ['noteReason', 'markEnded'] },
  },
} as const;

/**
 * What each action does to the instance: `started_at` is set once, on the first entry to
 * `running`; `ended_at` on entry to a terminal status; `needs_input` is true exactly while
 * `waiting`; a turn counts once with its tokens; `current_step` says what the instance does now;
 * `status_reason` is the reason the status event gave, else null; a budget changes only the
 * limits the event names.
 */
export const instanceEffects = {
  noteReason: (instance, event) => {
    instance.status_reason = (event as { reason?: StatusReason }).reason ?? null;
  },
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
  budget: (instance, event) => {
    const { max_turns, max_tokens } = event as Extract<InstanceEvent, { type: 'setBudget' }>;
    if (max_turns !== undefined) instance.max_turns = max_turns;
    if (max_tokens !== undefined) instance.max_tokens = max_tokens;
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
      status_reason: null,
      started_at: null,
      ended_at: null,
      needs_input: false,
      turn_count: 0,
      tokens_total: 0,
      max_turns: null,
      max_tokens: null,
      current_step: null,
      ...input,
    }),
  });
}
