import type { Draft } from 'immer';
import type { Edge, MachineDefinition } from './lookup';

/**
 * What one action of a machine does to the record the machine describes: it changes a draft of
 * the record (an immer draft in the manager, the actor's context in XState) from the event.
 */
export type Effect<R, E> = (record: Draft<R>, event: E) => void;

/** The action names a definition uses: on its transitions and on entering or leaving its states. */
export type ActionNames<D extends MachineDefinition> = {
  [S in keyof D['states']]:
    | NamesIn<D['states'][S], 'entry'>
    | NamesIn<D['states'][S], 'exit'>
    | (D['states'][S] extends { on: infer On } ? { [E in keyof On]: TransitionActions<On[E]> }[keyof On] : never);
}[keyof D['states']];

type Names<A> = A extends string ? A : A extends readonly (infer N)[] ? Names<N> : never;
type NamesIn<T, K extends string> = T extends { readonly [P in K]: infer A } ? Names<A> : never;
type TransitionActions<T> = T extends readonly (infer One)[] ? TransitionActions<One> : NamesIn<T, 'actions'>;

/**
 * The effects of a machine, one per action name of its definition: a name the definition does
 * not use, or one it uses without an effect here, does not compile.
 */
export type EffectsOf<D extends MachineDefinition, R, E> = { readonly [A in ActionNames<D>]: Effect<R, E> };

/**
 * Takes one edge on a record with the event that takes it: its status becomes the edge's target
 * (a targetless edge keeps it), and the edge's actions (exits, the transition's own, entries, in
 * XState's order) run their effects, in order. An event of another type is a fault of the caller
 * (its fields are not the ones the effects read): it throws before anything changes.
 */
export function applyEdge<R extends { status: string }, E extends { type: string }>(
  effects: Readonly<Record<string, Effect<R, E>>>,
  edge: Edge,
  record: Draft<R>,
  event: E,
): void {
  if (event.type !== edge.event) throw new TypeError(`the edge taken by "${edge.event}" was given an event "${event.type}"`);
  if (edge.target !== undefined) (record as { status: string }).status = edge.target;
  for (const action of edge.actions) effects[action]!(record, event);
}

/** The time an effect stamps: the event's `at`, else now (events from the manager always carry it). */
export function timeOf(event: { at?: string }): string {
  return event.at ?? new Date().toISOString();
}
