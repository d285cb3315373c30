import * as z from 'zod/mini';
import { InstanceStatus, Ordering, PlanStatus, PlanType, StepStatus, StepType } from './enums';
import { LIST_MAX_LIMIT, type Limits, DEFAULT_LIMITS } from './limits';
import { JsonObject } from './records';

/**
 * The zod schemas of every input, built for one set of limits. A manager builds them once;
 * the types below are inferred from the default build, so schema and type never drift.
 */
export function createInputSchemas(limits: Limits) {
  const text = (max: number, what: string) =>
    z.string().check(
      z.maxLength(max, `must be at most ${max} characters (the ${what} limit)`),
    );
  const nonBlank = (max: number, what: string) =>
    z.string().check(
      z.regex(/\S/, 'must not be empty'),
      z.maxLength(max, `must be at most ${max} characters (the ${what} limit)`),
    );
  const id = nonBlank(limits.maxIdLength, 'maxIdLength');
  const title = nonBlank(limits.maxTitleLength, 'maxTitleLength');
  const description = z.optional(z.nullable(text(limits.maxDescriptionLength, 'maxDescriptionLength')));
  // The "__proto__" check reads the raw input: parsing a record drops that key silently.
  const details = z.pipe(
    z.unknown().check(z.refine((value) => !hasProtoKey(value), 'must not contain the key "__proto__"')),
    JsonObject.check(
      z.refine(
      (value) => JSON.stringify(value).length <= limits.maxDetailsLength,
        `must be at most ${limits.maxDetailsLength} characters as JSON (the maxDetailsLength limit)`,
      ),
    ),
  );
  const stepInput = z.strictObject({
    title,
    type: StepType,
    description,
    details: z.optional(details),
  });
  const steps = z
    .array(stepInput)
    .check(z.maxLength(limits.maxSteps, `must hold at most ${limits.maxSteps} steps (the maxSteps limit)`));
  const limit = z.optional(
    z.int().check(
      z.minimum(1, 'must be at least 1'),
      z.maximum(LIST_MAX_LIMIT, `must be at most ${LIST_MAX_LIMIT}`),
    ),
  );
  const offset = z.optional(z.int().check(z.minimum(0, 'must be 0 or more')));

  const createPlanShape = {
    instance_id: id,
    title,
    description,
    plan_type: z.optional(PlanType),
    status: z.optional(z.enum(['pending'])),
    ordering: z.optional(Ordering),
    steps,
    site_id: z.optional(z.nullable(id)),
    user_id: z.optional(z.nullable(id)),
    agent_id: z.optional(z.nullable(id)),
  };
  const listPlansShape = {
    instance_id: z.optional(id),
    status: z.optional(PlanStatus),
    plan_type: z.optional(PlanType),
    site_id: z.optional(id),
    user_id: z.optional(id),
    agent_id: z.optional(id),
    limit,
    offset,
  };
  const updatePlanShape = {
    plan_id: id,
    title: z.optional(title),
    description,
    status: z.optional(PlanStatus),
    steps: z.optional(steps),
    summary: z.optional(z.nullable(text(limits.maxDescriptionLength, 'maxDescriptionLength'))),
  };
  const executeStepShape = {
    plan_id: id,
    step_id: id,
    step_status: StepStatus,
    step_output: z.optional(z.nullable(text(limits.maxOutputLength, 'maxOutputLength'))),
  };

  return {
    createInstance: z.strictObject({
      organization_id: z.optional(id),
      agent_type_id: id,
      task_id: z.optional(z.nullable(id)),
      session_id: z.optional(z.nullable(id)),
    }),
    listInstances: z.strictObject({
      status: z.optional(InstanceStatus),
      agent_type_id: z.optional(id),
      task_id: z.optional(id),
      limit,
      offset,
    }),
    transitionInstance: z.strictObject({ status: InstanceStatus }),
    recordTurn: z.strictObject({
      tokens: z.int().check(z.minimum(0, 'must be a non-negative integer')),
    }),
    currentStep: z.nullable(title),
    id,
    stepInput,
    createPlan: z.strictObject(createPlanShape),
    listPlans: z.strictObject(listPlansShape),
    updatePlan: z.strictObject(updatePlanShape),
    executeStep: z.strictObject(executeStepShape),
    /** The Instance Plan tool (seed 000): one object, discriminated on `action`. */
    tool: z.discriminatedUnion('action', [
      z.strictObject({
        action: z.literal('create'),
        ...createPlanShape,
        // In an instance's context the manager fills instance_id itself.
        instance_id: z.optional(id),
      }),
      z.strictObject({ action: z.literal('list'), ...listPlansShape }),
      z.strictObject({ action: z.literal('update'), ...updatePlanShape }),
      z.strictObject({ action: z.literal('execute_step'), ...executeStepShape }),
    ]),
  };
}

export type InputSchemas = ReturnType<typeof createInputSchemas>;

function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some((key) => key === '__proto__' || hasProtoKey((value as Record<string, unknown>)[key]));
}

const defaults = createInputSchemas(DEFAULT_LIMITS);

export type CreateInstanceInput = z.output<typeof defaults.createInstance>;
export type ListInstancesInput = z.output<typeof defaults.listInstances>;
export type TransitionInstanceInput = z.output<typeof defaults.transitionInstance>;
export type RecordTurnInput = z.output<typeof defaults.recordTurn>;
export type StepInput = z.output<typeof defaults.stepInput>;
export type CreatePlanInput = z.output<typeof defaults.createPlan>;
export type ListPlansInput = z.output<typeof defaults.listPlans>;
export type UpdatePlanInput = z.output<typeof defaults.updatePlan>;
export type ExecuteStepInput = z.output<typeof defaults.executeStep>;
export type ToolInput = z.output<typeof defaults.tool>;
