// instance-plan: correct, durable state for AI agent instances and their plans.

export { PlanManager, type PlanManagerOptions, type ChangeListener } from './manager/plan-manager';
export type { Scope } from './manager/context';
export type { ToolResult, ToolContext } from './manager/tool';
export { nextStep, guidance } from './manager/next-step';
export { replay } from './manager/history';
export { MAX_LEASE_TTL_MS, type AcquireLeaseOptions, type RenewLeaseOptions } from './manager/leases';
export { Lease } from './schemas/records';

export { memoryAdapter } from './adapters/memory';
export { checkBatch } from './adapters/batch';
export {
  INDEXED_FIELDS,
  checkListQuery,
  compareNewestFirst,
  conflictError,
  storageError,
  type StorageAdapter,
  type ListQuery,
  type ListFilter,
  type ListResult,
  type RecordWrite,
  type RecordCheck,
  type StoredKind,
  type StoredOfKind,
  type CommitBatch,
  type CommittedChange,
  type HistoryEvent,
  type HistoryEventType,
  type Patch,
  type IndexedField,
} from './adapters/contract';

export { InstancePlanError, ERROR_CODES, type ErrorCode, type ErrorDetails } from './errors';

export { InstanceStatus, PlanStatus, StepStatus, StepType, PlanType, Ordering } from './schemas/enums';
export { Instance, Plan, Step, JsonObject, type RecordKind, type StoredRecord, type RecordOfKind } from './schemas/records';
export {
  createInputSchemas,
  type InputSchemas,
  type CreateInstanceInput,
  type ListInstancesInput,
  type TransitionInstanceInput,
  type RecordTurnInput,
  type StepInput,
  type CreatePlanInput,
  type ListPlansInput,
  type UpdatePlanInput,
  type ExecuteStepInput,
  type ToolInput,
} from './schemas/inputs';
export { DEFAULT_LIMITS, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, type Limits } from './schemas/limits';
export { describeIssues, type InputIssue } from './schemas/issues';

export {
  instanceMachine,
  planMachine,
  stepMachine,
  instanceLogic,
  planLogic,
  stepLogic,
  compileMachine,
  toMermaid,
  type CompiledMachine,
  type Edge,
  type InstanceEvent,
  type PlanEvent,
  type PlanContext,
  type StepEvent,
} from './machines';
