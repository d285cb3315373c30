import { produce, type Draft } from 'immer';
import { assign, type AnyEventObject, type EventObject } from 'xstate';
import type { Effect } from './effects';

/**
 * The effects of a machine as XState actions: each one an `assign` that runs the same effect on
 * a draft of the actor's context, so an actor of the machine keeps the record as the manager does.
 */
export function assignEffects<R extends object, E>(effects: Readonly<Record<string, Effect<R, E>>>) {
  const actions: Record<string, ReturnType<typeof assign>> = {};
  for (const [name, effect] of Object.entries(effects)) {
    actions[name] = assign<R, AnyEventObject, undefined, EventObject, never>(({ context, event }) =>
      produce(context, (draft) => {
        effect(draft as Draft<R>, event as E);
      }),
    ) as ReturnType<typeof assign>;
  }
  return actions;
}
