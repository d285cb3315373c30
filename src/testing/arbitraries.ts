import fc from 'fast-check';
import type { ErrorCode } from '../errors';
import type { CompiledMachine } from '../machines';
import { Ordering, PlanType, StepStatus, StepType } from '../schemas/enums';
import type { CreateInstanceInput, CreatePlanInput, StepInput, ToolInput } from '../schemas/inputs';
import { DEFAULT_LIMITS, type Limits } from '../schemas/limits';

/**
 * fast-check arbitraries for instance-plan: valid inputs of every kind, walks through the
 * machines, and invalid inputs paired with the error code they must produce. Sizes follow the
 * limits you pass (a manager's `limits`), so generated input is valid for that manager.
 */

const hasProtoKey = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Object.entries(value).some(([key, inner]) => key === '__proto__' || hasProtoKey(inner));

const text = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 40) }).filter((value) => /\S/.test(value));
const id = () => fc.oneof(fc.uuid(), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'), text(24));

/** Input of `createInstance`. */
export function instanceInputArbitrary(options: { organization_id?: string } = {}): fc.Arbitrary<CreateInstanceInput> {
  return fc.record(
    {
      organization_id: options.organization_id === undefined ? id() : fc.constant(options.organization_id),
      agent_type_id: id(),
      task_id: fc.option(id(), { nil: null }),
      session_id: fc.option(id(), { nil: null }),
    },
    { requiredKeys: ['organization_id', 'agent_type_id'] },
  );
}

/** One step of a plan, of any type, with JSON `details` (a tool's name and arguments, say). */
export function stepInputArbitrary(limits: Partial<Limits> = {}): fc.Arbitrary<StepInput> {
  const { maxTitleLength, maxDescriptionLength } = { ...DEFAULT_LIMITS, ...limits };
  return fc.record(
    {
      title: text(maxTitleLength),
      type: fc.constantFrom(...StepType.options),
      description: fc.option(fc.string({ maxLength: Math.min(maxDescriptionLength, 80) }), { nil: null }),
      // The manager refuses "__proto__" keys at any depth of details, so valid input has none.
      details: fc
        .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.parse(JSON.stringify(value)) as never), { maxKeys: 4 })
        .filter((details) => !hasProtoKey(details)),
    },
    { requiredKeys: ['title', 'type'] },
  );
}

/** Input of `createPlan` for `instance_id`: every step type, both orderings, 0 to `maxSteps` steps. */
export function planInputArbitrary(instance_id: string, limits: Partial<Limits> & { maxGeneratedSteps?: number } = {}): fc.Arbitrary<CreatePlanInput> {
  const { maxSteps, maxTitleLength } = { ...DEFAULT_LIMITS, ...limits };
  return fc.record(
    {
      instance_id: fc.constant(instance_id),
      title: text(maxTitleLength),
      description: fc.option(fc.string({ maxLength: 80 }), { nil: null }),
      plan_type: fc.constantFrom(...PlanType.options),
      ordering: fc.constantFrom(...Ordering.options),
      steps: fc.array(stepInputArbitrary(limits), { maxLength: Math.min(maxSteps, limits.maxGeneratedSteps ?? 8) }),
      agent_id: fc.option(id(), { nil: null }),
    },
    { requiredKeys: ['instance_id', 'title', 'steps'] },
  );
}

/** A well-formed call of the Instance Plan tool for each action (the ids may or may not exist). */
export function toolCallArbitrary(ids: { instance_id?: string; plan_id?: string; step_id?: string } = {}): fc.Arbitrary<ToolInput> {
  const planId = ids.plan_id === undefined ? id() : fc.constant(ids.plan_id);
  const stepId = ids.step_id === undefined ? id() : fc.constant(ids.step_id);
  return fc.oneof(
    planInputArbitrary(ids.instance_id ?? 'instance').map((input): ToolInput => ({ action: 'create', ...input })),
    fc.record(
      { action: fc.constant('list' as const), instance_id: fc.constant(ids.instance_id ?? 'instance'), limit: fc.integer({ min: 1, max: 100 }), offset: fc.nat({ max: 50 }) },
      { requiredKeys: ['action'] },
    ),
    fc.record(
      {
        action: fc.constant('update' as const),
        plan_id: planId,
        title: text(40),
        status: fc.constantFrom('pending', 'in_progress', 'completed', 'failed', 'cancelled', 'paused' as const),
        steps: fc.array(stepInputArbitrary(), { maxLength: 3 }),
        summary: fc.option(text(40), { nil: null }),
      },
      { requiredKeys: ['action', 'plan_id'] },
    ),
    fc.record({
      action: fc.constant('execute_step' as const),
      plan_id: planId,
      step_id: stepId,
      step_status: fc.constantFrom(...StepStatus.options),
      step_output: fc.string({ maxLength: 40 }),
    }),
  );
}

/**
 * A walk through a machine: a sequence of statuses, each a legal target of the one before,
 * starting after the initial state and ending anywhere (in a final state at the latest).
 *
 * @example
 * fc.assert(fc.asyncProperty(machineWalkArbitrary(instanceLogic), async (walk) => { ... }))
 */
export function machineWalkArbitrary<S extends string>(logic: CompiledMachine<S>, maxLength = 12): fc.Arbitrary<S[]> {
  return fc.array(fc.nat(), { maxLength }).map((picks) => {
    const walk: S[] = [];
    let state = logic.initial;
    for (const pick of picks) {
      const targets = logic.targets(state);
      if (targets.length === 0) break;
      state = targets[pick % targets.length]!;
      walk.push(state);
    }
    return walk;
  });
}

/** A tool call that must be refused, and the code the refusal must carry. */
export interface InvalidToolCall {
  input: unknown;
  code: ErrorCode;
  why: string;
}

/**
 * Tool calls that must be refused: not an object, unknown or missing action, wrong types,
 * unknown keys, "__proto__" keys, oversized strings and step lists, ids that do not exist.
 * `existing` gives ids that do exist, so that only the named fault is wrong.
 */
export function invalidToolCallArbitrary(existing: { instance_id: string; plan_id: string; step_id: string }, limits: Partial<Limits> = {}): fc.Arbitrary<InvalidToolCall> {
  const { maxTitleLength, maxSteps, maxOutputLength } = { ...DEFAULT_LIMITS, ...limits };
  const validation = (input: unknown, why: string): InvalidToolCall => ({ input, code: 'VALIDATION_ERROR', why });
  const step = { title: 'step', type: 'process' };
  return fc.oneof(
    fc.jsonValue().filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)).map((value) => validation(value, 'not an object')),
    fc.string().filter((action) => !['create', 'list', 'update', 'execute_step'].includes(action)).map((action) => validation({ action }, 'unknown action')),
    fc.constant(validation({ plan_id: existing.plan_id }, 'no action')),
    fc
      .string({ minLength: 1, maxLength: 10 })
      .filter((key) => !['action', 'instance_id', 'plan_id', 'title', 'description', 'plan_type', 'status', 'ordering', 'steps', 'site_id', 'user_id', 'agent_id', 'limit', 'offset', 'summary', 'step_id', 'step_status', 'step_output'].includes(key))
      .map((key) => validation({ action: 'list', instance_id: existing.instance_id, [key]: 1 }, `unknown key ${JSON.stringify(key)}`)),
    fc.constant(validation(JSON.parse(`{"action":"list","instance_id":${JSON.stringify(existing.instance_id)},"__proto__":{"limit":1}}`), '"__proto__" key')),
    fc.constant(
      validation(
        JSON.parse(`{"action":"create","instance_id":${JSON.stringify(existing.instance_id)},"title":"t","steps":[{"title":"s","type":"process","details":{"__proto__":{"polluted":true}}}]}`),
        '"__proto__" inside details',
      ),
    ),
    fc
      .oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.nat(), { maxLength: 2 }))
      .map((wrong) => validation({ action: 'update', plan_id: existing.plan_id, title: wrong }, 'title of the wrong type')),
    fc.constantFrom(-1, 0, 101, 1.5).map((limit) => validation({ action: 'list', instance_id: existing.instance_id, limit }, `limit ${limit}`)),
    fc.constant(validation({ action: 'update', plan_id: existing.plan_id, title: 'x'.repeat(maxTitleLength + 1) }, 'title over maxTitleLength')),
    fc.constant(validation({ action: 'create', instance_id: existing.instance_id, title: 't', steps: Array.from({ length: maxSteps + 1 }, () => step) }, 'more steps than maxSteps')),
    fc.constant(
      validation(
        { action: 'execute_step', plan_id: existing.plan_id, step_id: existing.step_id, step_status: 'completed', step_output: 'x'.repeat(maxOutputLength + 1) },
        'output over maxOutputLength',
      ),
    ),
    fc.constantFrom('done', 'skipped', '').map((status) =>
      validation({ action: 'execute_step', plan_id: existing.plan_id, step_id: existing.step_id, step_status: status, step_output: 'x' }, `step_status ${JSON.stringify(status)}`),
    ),
    fc.uuid().map((plan_id): InvalidToolCall => ({ input: { action: 'update', plan_id, title: 'x' }, code: 'NOT_FOUND', why: 'unknown plan id' })),
    fc
      .uuid()
      .map((step_id): InvalidToolCall => ({ input: { action: 'execute_step', plan_id: existing.plan_id, step_id, step_status: 'in_progress' }, code: 'NOT_FOUND', why: 'unknown step id' })),
  );
}
