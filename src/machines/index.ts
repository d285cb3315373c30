import type { InstanceStatus, PlanStatus, StepStatus } from '../schemas/enums';
import { instanceMachine } from './instance';
import { compileMachine } from './lookup';
import { planMachine } from './plan';
import { stepMachine } from './step';

export { instanceMachine, type InstanceEvent } from './instance';
export { planMachine, type PlanContext, type PlanEvent } from './plan';
export { stepMachine, type StepEvent } from './step';
export { compileMachine, type CompiledMachine, type Edge } from './lookup';
export { toMermaid } from './mermaid';

/** The machines compiled once, for the manager's hot path. */
export const instanceLogic = compileMachine<InstanceStatus>(instanceMachine);
export const planLogic = compileMachine<PlanStatus>(planMachine);
export const stepLogic = compileMachine<StepStatus>(stepMachine);
