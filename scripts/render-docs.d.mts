import type { AnyStateMachine } from 'xstate';
import type { CompiledMachine } from '../src/index';

/** Renders docs/lifecycle.md and docs/transitions.md; returns file path (from the repository root) → content. */
export function renderDocs(input: {
  machines: Record<string, AnyStateMachine>;
  toMermaid: (machine: AnyStateMachine) => string;
  compileMachine: (machine: AnyStateMachine) => CompiledMachine<string>;
}): Record<string, string>;
