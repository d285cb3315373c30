import type { AnyStateMachine } from 'xstate';

/** One way out of a state for one event, read off the machine definition. */
export interface Edge {
  /** The state it leads to; undefined for a transition that stays (an allowed action). */
  readonly target: string | undefined;
  readonly guard: string | undefined;
  readonly actions: readonly string[];
}

type GuardFn = (args: { context: unknown; event: unknown }, params: unknown) => boolean;

/**
 * A machine compiled into plain lookups for the hot path: which events each state handles,
 * where they lead, which guard and actions they carry. Everything is read from the XState
 * definition itself (`machine.root.states[*].transitions`), never written by hand, and a
 * property test proves `resolve` agrees with XState's own `transition()`.
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

export function compileMachine<S extends string>(machine: AnyStateMachine): CompiledMachine<S> {
  const guards = (machine.implementations.guards ?? {}) as Record<string, GuardFn>;
  const table = new Map<string, Map<string, Edge[]>>();
  const finals = new Set<string>();
  const targetsOf = new Map<string, S[]>();

  for (const [key, node] of Object.entries(machine.root.states)) {
    if (node.type === 'final') finals.add(key);
    const byEvent = new Map<string, Edge[]>();
    const statusTargets: S[] = [];
    for (const [eventType, definitions] of node.transitions) {
      const edges = definitions.map((definition): Edge => {
        const guard = definition.guard;
        if (guard !== undefined && typeof guard !== 'string') {
          throw new TypeError(`machine "${machine.id}": guards must be named (state ${key}, event ${eventType})`);
        }
        return Object.freeze({
          target: definition.target?.[0]?.key,
          guard,
          actions: Object.freeze(
            definition.actions.map((action: unknown) => {
              if (typeof action !== 'string') {
                throw new TypeError(`machine "${machine.id}": actions must be named (state ${key}, event ${eventType})`);
              }
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
    id: machine.id,
    initial: machine.root.initial.target[0]!.key as S,
    states: Object.freeze([...table.keys()]) as readonly S[],
    isFinal: (state) => finals.has(state),
    targets: (state) => targetsOf.get(state) ?? [],
    edges: (state, eventType) => table.get(state)?.get(eventType) ?? none,
    resolve(state, event, context) {
      for (const edge of table.get(state)?.get(event.type) ?? none) {
        if (edge.guard === undefined) return edge;
        const guard = guards[edge.guard];
        if (!guard) throw new TypeError(`machine "${machine.id}": guard "${edge.guard}" has no implementation`);
        if (guard({ context, event }, undefined)) return edge;
      }
      return undefined;
    },
  };
}
