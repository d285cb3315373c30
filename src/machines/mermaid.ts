import type { AnyStateMachine } from 'xstate';
import { compileMachine, type MachineDefinition } from './lookup';

/**
 * A Mermaid `stateDiagram-v2` of a machine, generated from its definition: the docs'
 * diagrams come from here, and a test fails when the committed ones drift.
 *
 * @example
 * toMermaid(instanceMachine) // 'stateDiagram-v2\n  [*] --> starting\n  starting --> running: running\n ...'
 */
export function toMermaid(machine: AnyStateMachine): string {
  const logic = compileMachine<string>(machine);
  const lines = ['stateDiagram-v2', `  [*] --> ${logic.initial}`];
  for (const state of logic.states) {
    for (const eventType of Object.keys((machine.config as MachineDefinition).states[state]?.on ?? {})) {
      for (const edge of logic.edges(state, eventType)) {
        const notes = [edge.guard && `[${edge.guard}]`, edge.actions.length > 0 && `/ ${edge.actions.join(', ')}`]
          .filter(Boolean)
          .join(' ');
        const label = notes ? `${eventType} ${notes}` : eventType;
        lines.push(`  ${state} --> ${edge.target ?? state}: ${label}`);
      }
    }
    if (logic.isFinal(state)) lines.push(`  ${state} --> [*]`);
  }
  return lines.join('\n') + '\n';
}
