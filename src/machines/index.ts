// instance-plan/machines: the machines' definitions, effects and compiled lookups, for tools and
// tests that look inside (diagrams, model-based tests). Apps need only the machines on the root.

export { instanceDefinition, instanceEffects, instanceLogic, type InstanceContext, type InstanceEvent } from './instance';
export { planDefinition, planEffects, planGuards, planLogic, type PlanContext, type PlanContextStep, type PlanEvent } from './plan';
export { stepDefinition, stepEffects, stepLogic, type StepContext, type StepEvent } from './step';
export { compileMachine, compileDefinition, type CompiledMachine, type Edge, type MachineDefinition } from './lookup';
export { applyEdge, type ActionNames, type Effect, type EffectsOf } from './effects';
export { toMermaid } from './mermaid';
export { machineGraph, type MachineGraph } from './graph';
