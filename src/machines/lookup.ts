import type { AnyStateMachine } from 'xstate';

/** One way out of a state for one event, read off the machine definition. */
export interface Edge {
  /** The type of the event that takes it. */
  readonly event: string;
  /** The state it leads to; undefined for a transition that stays (an allowed action). */
  readonly target: string | undefined;
  readonly guard: string | undefined;
  /**
   * The actions taking the edge runs, in XState's order: the source state's exit actions, the
   * transition's own, the target state's entry actions (a targetless edge: its own only).
   */
  readonly actions: readonly string[];
}

type GuardFn = (args: { context: any; event: any }, params: unknown) => boolean;

/**
 * A machine compiled into plain lookups for the hot path: which events each state handles,
 * where they lead, which guard and actions they carry. Everything is read from the machine's
 * definition, never written by hand, and a property test proves `resolve` agrees with XState's
 * own `transition()`.
 */
export interface CompiledMachine<S extends string> {
  readonly id: string;
  readonly initial: S;
  readonly states: readonly S[];
  isFinal(state: S): boolean;
  /** The statuses a plain status change may move to from `state` (guards not evaluated). */
  targets(state: S): readonly S[];
  /** Every edge `state` has for `eventType`, in definition order. */
  edges(state: S, eventType: string): readonly Edge[];
  /** The edge XState would take for this event in this state and context, or undefined if none. */
  resolve(state: S, event: { type: string }, context?: unknown): Edge | undefined;
}

/** A machine definition as plain data: the object handed to XState's `createMachine`. */
export interface MachineDefinition {
  readonly id: string;
  readonly initial: string;
  readonly states: { readonly [state: string]: StateDefinition };
}

interface StateDefinition {
  readonly type?: 'final';
  readonly entry?: ActionList;
  readonly exit?: ActionList;
  readonly on?: { readonly [event: string]: TransitionDefinition };
}

type ActionList = string | readonly string[];

type TransitionTarget = string | { readonly target?: string; readonly guard?: unknown; readonly actions?: unknown };

type TransitionDefinition = TransitionTarget | readonly TransitionTarget[];

const listOf = (actions: unknown): readonly unknown[] => (actions === undefined ? [] : Array.isArray(actions) ? actions : [actions]);

/** Compiles an XState machine: its own config and guard implementations. */
export function compileMachine<S extends string>(machine: AnyStateMachine): CompiledMachine<S> {
  return compileDefinition<S>(machine.config as MachineDefinition, (machine.implementations.guards ?? {}) as Record<string, GuardFn>);
}

/**
 * Compiles a machine definition (the data XState's `createMachine` takes) with its named
 * guards. The manager's hot path uses this on the same objects its XState machines are made
 * of, so no table exists twice and the core needs no XState at run time.
 */
export function compileDefinition<S extends string>(definition: MachineDefinition, guards: Record<string, GuardFn> = {}): CompiledMachine<S> {
  const id = definition.id;
  const table = new Map<string, Map<string, Edge[]>>();
  const finals = new Set<string>();
  const targetsOf = new Map<string, S[]>();

  for (const [key, node] of Object.entries(definition.states)) {
    if (node.type === 'final') finals.add(key);
    const byEvent = new Map<string, Edge[]>();
    const statusTargets: S[] = [];
    for (const [eventType, transition] of Object.entries(node.on ?? {})) {
      const list: readonly TransitionTarget[] = Array.isArray(transition) ? transition : [transition as TransitionTarget];
      const edges = list.map((entry): Edge => {
        const config = typeof entry === 'string' ? { target: entry } : entry;
        if (config.guard !== undefined && typeof config.guard !== 'string') {
          throw new TypeError(`machine "${id}": guards must be named (state ${key}, event ${eventType})`);
        }
        // Leaving for another state exits this one and enters that one; staying runs only the edge's own.
        const target = config.target === undefined ? undefined : definition.states[config.target];
        if (config.target !== undefined && target === undefined) {
          throw new TypeError(`machine "${id}": state ${key}, event ${eventType} targets "${config.target}", which is not a state`);
        }
        const crossing = target !== undefined && config.target !== key;
        const actions = [
          ...(crossing ? listOf(node.exit) : []),
          ...listOf(config.actions),
          ...(crossing ? listOf(target.entry) : []),
        ];
        return Object.freeze({
          event: eventType,
          target: config.target,
          guard: config.guard,
          actions: Object.freeze(
            actions.map((action: unknown) => {
              if (typeof action !== 'string') throw new TypeError(`machine "${id}": actions must be named (state ${key}, event ${eventType})`);
              return action;
            }),
          ),
        });
      });
      byEvent.set(eventType, edges);
      if (edges.some((edge) => edge.target === eventType)) statusTargets.push(eventType as S);
    }
    table.set(key, byEvent);
    targetsOf.set(key, statusTargets);
  }

  const none: readonly Edge[] = Object.freeze([]);
  return {
    id,
    initial: definition.initial as S,
    states: Object.freeze([...table.keys()]) as readonly S[],
    isFinal: (state) => finals.has(state),
    targets: (state) => targetsOf.get(state) ?? [],
    edges: (state, eventType) => table.get(state)?.get(eventType) ?? none,
    resolve(state, event, context) {
      for (const edge of table.get(state)?.get(event.type) ?? none) {
        if (edge.guard === undefined) return edge;
        const guard = guards[edge.guard];
        if (!guard) throw new TypeError(`machine "${id}": guard "${edge.guard}" has no implementation`);
        if (guard({ context, event }, undefined)) return edge;
      }
      return undefined;
    },
  };
}
