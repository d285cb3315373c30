// instance-plan/testing: what users need to test their own code against the library.

export { adapterConformance, type ConformanceOptions } from './conformance/suite';
export { ConformanceError } from './conformance/assert';

// The property-testing kit (needs fast-check, an optional peer dependency of this subpath only).
export {
  checkInvariants,
  checkRecordInvariants,
  type InvariantViolation,
} from './invariants';
export {
  planManagerCommands,
  runPlanManagerModel,
  ModelMismatch,
  type ModelCommand,
  type PlanManagerModel,
  type PlanManagerSystem,
  type ModelInstance,
  type ModelPlan,
  type ModelStep,
  type Outcome,
} from './model';
export {
  instanceInputArbitrary,
  stepInputArbitrary,
  planInputArbitrary,
  toolCallArbitrary,
  machineWalkArbitrary,
  invalidToolCallArbitrary,
  type InvalidToolCall,
} from './arbitraries';

// Hand-built records with every field set, for adapter tests and benchmarks.
export { instanceRecord, planRecord, stepRecord } from './conformance/fixtures';
