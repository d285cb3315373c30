import { compileDefinition, type MachineDefinition } from './lookup';

/**
 * A machine's states and the moves between them, for drawing it (the inspector's diagrams): read
 * off the definition through the same compiler the manager's hot path uses, so a diagram cannot
 * show a move the machine does not have. Moves that stay in their state (recording a turn, a
 * step's work inside a running plan) are not moves between states, and are left out.
 */
export interface MachineGraph {
  readonly id: string;
  readonly initial: string;
  readonly states: readonly string[];
  /** The states nothing leaves. */
  readonly finals: readonly string[];
  /** Each pair of states one or more events move between, once, with those events in definition order. */
  readonly moves: readonly { readonly from: string; readonly to: string; readonly events: readonly string[] }[];
}

/**
 * The graph of a machine definition.
 *
 * @example
 * machineGraph(planDefinition).moves.find((move) => move.from === 'completed')
 * // { from: 'completed', to: 'in_progress', events: ['in_progress', 'appendSteps'] }
 */
export function machineGraph(definition: MachineDefinition): MachineGraph {
  const logic = compileDefinition<string>(definition);
  const moves: { from: string; to: string; events: string[] }[] = [];
  for (const from of logic.states) {
    for (const event of Object.keys(definition.states[from]?.on ?? {})) {
      for (const { target: to } of logic.edges(from, event)) {
        if (to === undefined || to === from) continue;
        const move = moves.find((known) => known.from === from && known.to === to);
        if (move === undefined) moves.push({ from, to, events: [event] });
        else if (!move.events.includes(event)) move.events.push(event);
      }
    }
  }
  return { id: logic.id, initial: logic.initial, states: logic.states, finals: logic.states.filter((state) => logic.isFinal(state)), moves };
}
