import * as z from 'zod/mini';
import { InstanceStatus, Ordering, PlanStatus, PlanType, StepStatus, StepType } from './enums';
import { LIST_MAX_LIMIT, type Limits, DEFAULT_LIMITS } from './limits';
import { JsonObject } from './records';
import { jsonLength } from './json-length';
import { representable } from '../adapters/text-keys';

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
  // Ids and the values lists filter by are keys in every store: none can keep U+0000 or an
  // unpaired surrogate exactly (a driver turns the latter into U+FFFD), so every adapter alike
  // refuses them here, before anything is read or written.
  const id = nonBlank(limits.maxIdLength, 'maxIdLength').check(
    z.refine((value) => representable(value), 'must not contain U+0000 or an unpaired surrogate: no store can keep them in a key'),
  );
  const title = nonBlank(limits.maxTitleLength, 'maxTitleLength');
  const description = z.optional(z.nullable(text(limits.maxDescriptionLength, 'maxDescriptionLength')));
  // Checked on the raw input, without recursion, before zod's own (recursive) JSON parsing: a
  // deeply nested value must be refused as bad input, not overflow the stack. "__proto__" is
  // looked for here too, because parsing a record drops that key silently.
  const tooLong = `must be at most ${limits.maxDetailsLength} characters as JSON (the maxDetailsLength limit)`;
  const refusals = {
    'too long': tooLong,
    'too deep': `must nest at most ${MAX_DETAILS_DEPTH} levels deep`,
    'proto key': 'must not contain the key "__proto__"',
  };
  const details = z.pipe(
    z.unknown().check(
      // Walked once more only when refused, to say why.
      z.refine((value) => !inspectJson(value, limits.maxDetailsLength), {
        error: (issue) => refusals[inspectJson(issue.input, limits.maxDetailsLength)!],
      }),
    ),
    JsonObject.check(z.refine((value) => jsonLength(value) <= limits.maxDetailsLength, tooLong)),
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
  // Sizes and bounds without a message of their own are worded by describeIssues ("must be at least 1").
  const limit = z.optional(z.int().check(z.minimum(1), z.maximum(LIST_MAX_LIMIT)));
  const offset = z.optional(z.int().check(z.minimum(0)));

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

  // A budget: a whole number of turns or tokens, at least 1; null (or absent) is no limit.
  const budget = z.optional(z.nullable(z.int().check(z.minimum(1))));
  const budgetShape = { max_turns: budget, max_tokens: budget };

  return {
    createInstance: z.strictObject({
      organization_id: z.optional(id),
      agent_type_id: id,
      task_id: z.optional(z.nullable(id)),
      session_id: z.optional(z.nullable(id)),
      ...budgetShape,
    }),
    setBudget: z.strictObject(budgetShape),
    answer: nonBlank(limits.maxOutputLength, 'maxOutputLength'),
    listInstances: z.strictObject({
      status: z.optional(InstanceStatus),
      // needs_input is true exactly while the instance is waiting: the inbox of questions.
      needs_input: z.optional(z.boolean()),
      agent_type_id: z.optional(id),
      task_id: z.optional(id),
      limit,
      offset,
    }),
    transitionInstance: z.strictObject({ status: InstanceStatus }),
    recordTurn: z.strictObject({
      tokens: z.int().check(z.minimum(0)),
    }),
    currentStep: z.nullable(title),
    id,
    stepInput,
    createPlan: z.strictObject(createPlanShape),
    listPlans: z.strictObject(listPlansShape),
    updatePlan: z.strictObject(updatePlanShape),
    executeStep: z.strictObject(executeStepShape),
    /** The Instance Plan tool: one object, discriminated on `action`. */
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

/** How deep a step's `details` may nest (objects and arrays). */
export const MAX_DETAILS_DEPTH = 64;

/**
 * Walks a JSON-like value with an explicit stack and reports the first problem: longer than
 * `maxLength` characters as JSON (counted as a lower bound of JSON.stringify's length, never
 * more, so it stops early without refusing anything that fits), nested deeper than
 * MAX_DETAILS_DEPTH, or holding a "__proto__" key. Never recurses, so any input is safe.
 */
export function inspectJson(value: unknown, maxLength: number): 'too long' | 'too deep' | 'proto key' | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let length = 0;
  let protoKey = false;
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === 'string') length += current.length + 2;
    else if (typeof current === 'number') length += Number.isFinite(current) ? String(current).length : 4;
    else if (typeof current !== 'object' || current === null) length += current === undefined ? 0 : String(current).length;
    else {
      if (depth >= MAX_DETAILS_DEPTH) return 'too deep';
      length += 2;
      if (Array.isArray(current)) {
        for (const item of current) stack.push([item, depth + 1]);
        length += Math.max(current.length - 1, 0);
      } else {
        const keys = Object.keys(current);
        length += Math.max(keys.length - 1, 0);
        for (const key of keys) {
          if (key === '__proto__') protoKey = true;
          length += key.length + 3; // "key":
          stack.push([(current as Record<string, unknown>)[key], depth + 1]);
        }
      }
    }
    if (length > maxLength) return 'too long';
  }
  return protoKey ? 'proto key' : undefined;
}

const defaults = createInputSchemas(DEFAULT_LIMITS);

export type CreateInstanceInput = z.output<typeof defaults.createInstance>;
export type ListInstancesInput = z.output<typeof defaults.listInstances>;
export type TransitionInstanceInput = z.output<typeof defaults.transitionInstance>;
export type RecordTurnInput = z.output<typeof defaults.recordTurn>;
export type SetBudgetInput = z.output<typeof defaults.setBudget>;
export type StepInput = z.output<typeof defaults.stepInput>;
export type CreatePlanInput = z.output<typeof defaults.createPlan>;
export type ListPlansInput = z.output<typeof defaults.listPlans>;
export type UpdatePlanInput = z.output<typeof defaults.updatePlan>;
export type ExecuteStepInput = z.output<typeof defaults.executeStep>;
export type ToolInput = z.output<typeof defaults.tool>;
