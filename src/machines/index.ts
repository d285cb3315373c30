import type { InstanceStatus, PlanStatus, StepStatus } from '../schemas/enums';
import { instanceDefinition } from './instance';
import { compileDefinition } from './lookup';
import { planDefinition, planGuards } from './plan';
import { stepDefinition } from './step';

export { instanceMachine, instanceDefinition, type InstanceEvent } from './instance';
export { planMachine, planDefinition, planGuards, type PlanContext, type PlanEvent } from './plan';
export { stepMachine, stepDefinition, type StepEvent } from './step';
export { compileMachine, compileDefinition, type CompiledMachine, type Edge, type MachineDefinition } from './lookup';
export { toMermaid } from './mermaid';

/** The machine definitions compiled once, for the manager's hot path (no XState at run time). */
export const instanceLogic = /* @__PURE__ */ compileDefinition<InstanceStatus>(instanceDefinition);
export const planLogic = /* @__PURE__ */ compileDefinition<PlanStatus>(planDefinition, planGuards);
export const stepLogic = /* @__PURE__ */ compileDefinition<StepStatus>(stepDefinition);
