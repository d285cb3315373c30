// instance-plan: correct, durable state for AI agent instances and their plans.
// What an application needs; adapter authors import 'instance-plan/adapter', tools that look
// inside the machines 'instance-plan/machines', model runtimes 'instance-plan/tool'.

export { PlanManager, type PlanManagerOptions, type ChangeListener, type InstanceTool } from './manager/plan-manager';
export type { Scope } from './manager/scope';
export type { ToolAction, ToolContext, ToolFailure, ToolResult, ToolResultOf, PlanToolResult, ListToolResult } from './manager/tool';
export { replay } from './manager/history';
export { MAX_LEASE_TTL_MS, type AcquireLeaseOptions, type RenewLeaseOptions } from './manager/leases';
export type { AcquiredLease, Recovery, RecoveryPolicy, InterruptedStep, StaleInstance } from './manager/recovery';

export { memoryAdapter } from './adapters/memory';
export { copyStore, type CopyOptions, type CopyProgress, type CopyReport, type CopyCounts } from './stores/copy';
export { dumpStore, loadDump } from './stores/dump';
export type { StorageAdapter, CommittedChange, HistoryEvent, HistoryEventType, HistoryPage, Patch } from './adapters/contract';
export type { Retention } from './manager/retention';

export { InstancePlanError, ERROR_CODES, type ErrorCode, type ErrorDetails } from './errors';

export { InstanceStatus, PlanStatus, StepStatus, StepType, PlanType, Ordering, StatusReason } from './schemas/enums';
export { Instance, Plan, Step, Lease, JsonObject, type RecordKind, type StoredRecord } from './schemas/records';
export type {
  CreateInstanceInput,
  ListInstancesInput,
  TransitionInstanceInput,
  RecordTurnInput,
  SetBudgetInput,
  StepInput,
  CreatePlanInput,
  ListPlansInput,
  UpdatePlanInput,
  ExecuteStepInput,
  ToolInput,
} from './schemas/inputs';
export { DEFAULT_LIMITS, type Limits } from './schemas/limits';

export { instanceMachine, type InstanceEvent } from './machines/instance';
export { planMachine, type PlanContext, type PlanEvent } from './machines/plan';
export { stepMachine, type StepEvent } from './machines/step';
