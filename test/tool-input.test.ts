import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  Plan,
  PlanManager,
  PlanStatus,
  StepStatus,
  StepType,
  memoryAdapter,
  type Limits,
  type ToolResult,
} from '../src';
import { countingAdapter, sequentialIds, snapshotStore, testClock, testManager, type CountingAdapter, type StoreSnapshot } from './support/core-fixtures';

// Small limits keep oversized input cheap to generate.
const LIMITS: Limits = {
  maxSteps: 3,
  maxTitleLength: 24,
  maxDescriptionLength: 40,
  maxOutputLength: 32,
  maxDetailsLength: 48,
  maxIdLength: 24,
  maxPlanTextLength: 100_000,
};

const ACTIONS = ['create', 'list', 'update', 'execute_step'] as const;
type Action = (typeof ACTIONS)[number];

/** The keys each action accepts: the Instance Plan tool's parameters per action, plus `ordering` and `summary`. */
const ACCEPTED: Record<Action, readonly string[]> = {
  create: ['action', 'instance_id', 'title', 'description', 'plan_type', 'status', 'ordering', 'steps', 'site_id', 'user_id', 'agent_id'],
  list: ['action', 'instance_id', 'status', 'plan_type', 'site_id', 'user_id', 'agent_id', 'limit', 'offset'],
  update: ['action', 'plan_id', 'title', 'description', 'status', 'steps', 'summary'],
  execute_step: ['action', 'plan_id', 'step_id', 'step_status', 'step_output'],
};
const ALL_KEYS = new Set(Object.values(ACCEPTED).flat());
const STEP_KEYS = ['title', 'type', 'description', 'details'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Call = Record<string, unknown>;

/** Builds an object with an own "__proto__" property, as JSON.parse does. */
function withProtoKey(object: Record<string, unknown>, value: unknown): Record<string, unknown> {
  const text = JSON.stringify(object);
  const inner = text === '{}' ? '' : `,${text.slice(1, -1)}`;
  const built = JSON.parse(`{"__proto__":${JSON.stringify(value)}${inner}}`) as Record<string, unknown>;
  expect(Object.prototype.hasOwnProperty.call(built, '__proto__')).toBe(true);
  return built;
}

// ---------------------------------------------------------------------------------------------
// The store every bad call runs against: it must never change.

interface Fixture {
  manager: PlanManager;
  adapter: CountingAdapter;
  instanceId: string;
  open: Plan; // in_progress, strict: [completed, pending, pending] (at maxSteps)
  small: Plan; // pending, one step
  cancelled: Plan;
  snapshot: StoreSnapshot;
}

async function fixture(): Promise<Fixture> {
  const { manager, adapter } = testManager({ limits: LIMITS });
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  let open = await manager.createPlan({
    instance_id: instance.id,
    title: 'Open plan',
    steps: [
      { title: 'Fetch', type: 'tool_call', details: { tool: 'http' } },
      { title: 'Qualify', type: 'process' },
      { title: 'Report', type: 'review' },
    ],
  });
  open = await manager.executeStep({ plan_id: open.id, step_id: open.steps[0]!.id, step_status: 'completed', step_output: 'ok' });
  const small = await manager.createPlan({ instance_id: instance.id, title: 'Small plan', steps: [{ title: 'Only', type: 'discussion' }] });
  let cancelled = await manager.createPlan({ instance_id: instance.id, title: 'Dropped', steps: [{ title: 'Never', type: 'user_input' }] });
  cancelled = await manager.updatePlan({ plan_id: cancelled.id, status: 'cancelled' });
  const snapshot = await snapshotStore(adapter);
  return { manager, adapter, instanceId: instance.id, open, small, cancelled, snapshot };
}

function expectFailureShape(result: ToolResult): { code: string; message: string } & Record<string, unknown> {
  expect(result.success).toBe(false);
  if (result.success) throw new Error('unreachable');
  expect(Object.keys(result).sort()).toEqual(['error', 'success']);
  const { error } = result;
  expect(ERROR_CODES).toContain(error.code);
  expect(typeof error.message).toBe('string');
  expect(error.message.trim()).not.toBe('');
  // the answer is JSON: an LLM reads it as it is serialised
  expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  if (error.code === 'VALIDATION_ERROR') {
    const issues = error.issues as { path: unknown; message: unknown }[];
    expect(Array.isArray(issues) && issues.length > 0).toBe(true);
    for (const issue of issues) {
      expect(typeof issue.path === 'string' && issue.path !== '').toBe(true);
      expect(typeof issue.message === 'string' && issue.message.trim() !== '').toBe(true);
    }
  }
  return error;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries of bad calls. Each carries the code it must be refused with (and, for limits, the
// limit the message must name).

interface BadCall {
  category: string;
  input: unknown;
  code: (typeof ERROR_CODES)[number];
  mentions?: string;
}

function arbitraries(f: Fixture) {
  const [done, second, third] = f.open.steps as [Plan['steps'][0], Plan['steps'][0], Plan['steps'][0]];
  const text = fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== '');
  const stepInput = fc.record(
    { title: text, type: fc.constantFrom(...StepType.options), description: fc.option(text, { nil: undefined }) },
    { requiredKeys: ['title', 'type'] },
  );

  /** Calls that would succeed as they are (on `small`, which has room and a pending step): the base every altered call starts from. */
  const validCall: fc.Arbitrary<Call> = fc.oneof(
    fc.record(
      {
        action: fc.constant('create'),
        instance_id: fc.constant(f.instanceId),
        title: text,
        description: fc.option(text),
        plan_type: fc.constantFrom('objective', 'task'),
        ordering: fc.constantFrom('strict', 'free'),
        steps: fc.array(stepInput, { maxLength: LIMITS.maxSteps }),
        site_id: fc.option(fc.constant('site-1')),
      },
      { requiredKeys: ['action', 'instance_id', 'title', 'steps'] },
    ),
    fc.record(
      {
        action: fc.constant('list'),
        instance_id: fc.constant(f.instanceId),
        status: fc.constantFrom(...PlanStatus.options),
        limit: fc.integer({ min: 1, max: 100 }),
        offset: fc.nat({ max: 5 }),
      },
      { requiredKeys: ['action'] },
    ),
    fc.record(
      { action: fc.constant('update'), plan_id: fc.constant(f.small.id), title: text, description: fc.option(text) },
      { requiredKeys: ['action', 'plan_id'] },
    ),
    fc.record({
      action: fc.constant('execute_step'),
      plan_id: fc.constant(f.small.id),
      step_id: fc.constant(f.small.steps[0]!.id),
      step_status: fc.constantFrom('in_progress', 'completed', 'failed'),
      step_output: text,
    }),
  );

  const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));
  const badInt = (min: number, max?: number) =>
    fc.oneof(
      fc.double({ noInteger: true }),
      fc.integer({ max: min - 1 }),
      ...(max === undefined ? [] : [fc.integer({ min: max + 1 })]),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(Number.NaN),
      fc.constant(Number.POSITIVE_INFINITY),
    );
  const notIn = (values: readonly string[]) => fc.oneof(fc.string().filter((s) => !values.includes(s)), notAString, fc.constant(null));
  const badStepItem = fc.oneof(
    notAString,
    fc.constant(null),
    fc.record({ title: text }), // no type
    fc.record({ type: fc.constantFrom(...StepType.options) }), // no title
    fc.record({ title: text, type: notIn(StepType.options) }),
    fc.record({ title: notAString, type: fc.constantFrom(...StepType.options) }),
    fc.record({ title: fc.constantFrom('', '   ', '\n'), type: fc.constantFrom(...StepType.options) }),
    fc.record({ title: text, type: fc.constantFrom(...StepType.options), details: fc.oneof(notAString.filter((v) => typeof v !== 'object' || Array.isArray(v)), fc.constant(null)) }),
  );
  /** For each field, values its action must refuse (undefined: delete a required field). */
  const wrong: Record<string, fc.Arbitrary<unknown>> = {
    instance_id: fc.oneof(notAString, fc.constantFrom('', '  ')),
    plan_id: fc.oneof(notAString, fc.constant(null), fc.constantFrom('', ' ')),
    step_id: fc.oneof(notAString, fc.constant(null), fc.constantFrom('', '\t')),
    title: fc.oneof(notAString, fc.constant(null), fc.constantFrom('', '   ')),
    description: notAString,
    plan_type: notIn(['objective', 'task']),
    ordering: notIn(['strict', 'free']),
    status: notIn(PlanStatus.options),
    step_status: notIn(StepStatus.options),
    step_output: notAString,
    summary: notAString,
    limit: badInt(1, 100),
    offset: badInt(0),
    steps: fc.oneof(notAString.filter((v) => !Array.isArray(v)), fc.constant(null), fc.tuple(fc.array(stepInput, { maxLength: 1 }), badStepItem).map(([good, bad]) => [...good, bad])),
  };
  const required: Record<Action, string[]> = {
    create: ['title', 'steps'],
    list: [],
    update: ['plan_id'],
    execute_step: ['plan_id', 'step_id', 'step_status'],
  };

  const anyJson: fc.Arbitrary<BadCall> = fc
    .jsonValue()
    .filter((value) => !(typeof value === 'object' && value !== null && !Array.isArray(value) && ACTIONS.includes((value as Record<string, Json>).action as Action)))
    .map((input) => ({ category: 'json', input, code: 'VALIDATION_ERROR' }));

  const unknownAction: fc.Arbitrary<BadCall> = fc
    .tuple(validCall, fc.oneof(fc.string().filter((s) => !(ACTIONS as readonly string[]).includes(s)), notAString, fc.constant(null)), fc.boolean())
    .map(([call, action, drop]) => {
      const input: Call = { ...call, action };
      if (drop) delete input.action;
      return { category: 'action', input, code: 'VALIDATION_ERROR' };
    });

  const wrongType: fc.Arbitrary<BadCall> = validCall.chain((call) => {
    const action = call.action as Action;
    const fields = ACCEPTED[action].filter((key) => key !== 'action' && key in wrong);
    // 'create' may leave instance_id out only in an instance's context; an explicit blank one is still wrong
    return fc.oneof(
      fc.constantFrom(...fields).chain((field) =>
        // create takes only "pending" as a status (the Instance Plan tool's create)
        (action === 'create' && field === 'status' ? notIn(['pending']) : wrong[field]!).map((value) => ({
          category: `type:${field}`,
          input: { ...call, [field]: value },
          code: 'VALIDATION_ERROR' as const,
        })),
      ),
      ...(required[action].length > 0
        ? [fc.constantFrom(...required[action]).map((field) => {
            const input = { ...call };
            delete input[field];
            return { category: `missing:${field}`, input, code: 'VALIDATION_ERROR' as const };
          })]
        : []),
    );
  });

  const unknownKey = fc.string({ maxLength: 8 }).filter((key) => !ALL_KEYS.has(key) && key !== '__proto__');
  const unknownKeys: fc.Arbitrary<BadCall> = fc.oneof(
    fc.tuple(validCall, unknownKey, fc.jsonValue({ maxDepth: 1 })).map(([call, key, value]) => ({
      category: 'unknown-key',
      input: { ...call, [key]: value },
      code: 'VALIDATION_ERROR' as const,
    })),
    fc.tuple(stepInput, unknownKey.filter((key) => !STEP_KEYS.includes(key)), fc.jsonValue({ maxDepth: 1 })).map(([step, key, value]) => ({
      category: 'unknown-step-key',
      input: { action: 'update', plan_id: f.small.id, steps: [{ ...step, [key]: value }] },
      code: 'VALIDATION_ERROR' as const,
    })),
  );

  /** A JSON object with an own "__proto__" key somewhere inside (depth 0..2). */
  const protoDetails: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(fc.nat({ max: 2 }), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('a', 'tool', 'x'))
    .map(([depth, value, key]) => {
      let inner = withProtoKey({}, value);
      for (let i = 0; i < depth; i++) inner = JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(inner)}}`) as Record<string, unknown>;
      return inner;
    });
  const protoKeys: fc.Arbitrary<BadCall> = fc.oneof(
    fc.tuple(validCall, fc.jsonValue({ maxDepth: 1 })).map(([call, value]) => ({ category: 'proto-top', input: withProtoKey(call, value), code: 'VALIDATION_ERROR' as const })),
    fc.tuple(stepInput, fc.jsonValue({ maxDepth: 1 })).map(([step, value]) => ({
      category: 'proto-step',
      input: { action: 'update', plan_id: f.small.id, steps: [withProtoKey(step, value)] },
      code: 'VALIDATION_ERROR' as const,
    })),
    fc.tuple(stepInput, protoDetails, fc.constantFrom('create', 'update')).map(([step, details, action]) => {
      const input =
        action === 'create'
          ? { action, instance_id: f.instanceId, title: 'P', steps: [{ ...step, details }] }
          : { action, plan_id: f.small.id, steps: [{ ...step, details }] };
      // the key survives to the manager as an own property
      expect(JSON.stringify(input)).toContain('"__proto__"');
      return { category: 'proto-details', input, code: 'VALIDATION_ERROR' as const };
    }),
  );

  const longer = (limit: number) => fc.integer({ min: limit + 1, max: limit + 30 }).map((n) => 'x'.repeat(n));
  const oversized: fc.Arbitrary<BadCall> = fc.oneof(
    longer(LIMITS.maxTitleLength).map((title) => ({ category: 'long-title', input: { action: 'create', instance_id: f.instanceId, title, steps: [] }, code: 'VALIDATION_ERROR' as const, mentions: 'maxTitleLength' })),
    longer(LIMITS.maxTitleLength).map((title) => ({ category: 'long-step-title', input: { action: 'update', plan_id: f.small.id, steps: [{ title, type: 'process' }] }, code: 'VALIDATION_ERROR' as const, mentions: 'maxTitleLength' })),
    longer(LIMITS.maxDescriptionLength).map((description) => ({ category: 'long-description', input: { action: 'update', plan_id: f.small.id, description }, code: 'VALIDATION_ERROR' as const, mentions: 'maxDescriptionLength' })),
    longer(LIMITS.maxDescriptionLength).map((summary) => ({ category: 'long-summary', input: { action: 'update', plan_id: f.small.id, summary }, code: 'VALIDATION_ERROR' as const, mentions: 'maxDescriptionLength' })),
    longer(LIMITS.maxOutputLength).map((step_output) => ({
      category: 'long-output',
      input: { action: 'execute_step', plan_id: f.small.id, step_id: f.small.steps[0]!.id, step_status: 'completed', step_output },
      code: 'VALIDATION_ERROR' as const,
      mentions: 'maxOutputLength',
    })),
    longer(LIMITS.maxIdLength).map((plan_id) => ({ category: 'long-id', input: { action: 'update', plan_id, title: 'T' }, code: 'VALIDATION_ERROR' as const, mentions: 'maxIdLength' })),
    longer(LIMITS.maxDetailsLength).map((value) => ({
      category: 'big-details',
      input: { action: 'create', instance_id: f.instanceId, title: 'P', steps: [{ title: 'S', type: 'tool_call', details: { args: value } }] },
      code: 'VALIDATION_ERROR' as const,
      mentions: 'maxDetailsLength',
    })),
    fc.array(stepInput, { minLength: LIMITS.maxSteps + 1, maxLength: LIMITS.maxSteps + 4 }).map((steps) => ({
      category: 'many-steps',
      input: { action: 'create', instance_id: f.instanceId, title: 'P', steps },
      code: 'VALIDATION_ERROR' as const,
      mentions: 'maxSteps',
    })),
    fc.array(stepInput, { minLength: 1, maxLength: LIMITS.maxSteps }).map((steps) => ({
      // the open plan already holds maxSteps steps: any append goes over the total
      category: 'append-over-total',
      input: { action: 'update', plan_id: f.open.id, steps },
      code: 'VALIDATION_ERROR' as const,
      mentions: 'maxSteps',
    })),
  );

  const storedIds = new Set([f.instanceId, f.open.id, f.small.id, f.cancelled.id, ...[f.open, f.small, f.cancelled].flatMap((p) => p.steps.map((s) => s.id))]);
  const absentId = fc.string({ minLength: 1, maxLength: LIMITS.maxIdLength }).filter((id) => id.trim() !== '' && !storedIds.has(id));
  const missing: fc.Arbitrary<BadCall> = fc.oneof(
    absentId.map((plan_id) => ({ category: 'no-plan:update', input: { action: 'update', plan_id, status: 'paused' }, code: 'NOT_FOUND' as const })),
    fc.tuple(absentId, fc.constantFrom(...StepStatus.options)).map(([plan_id, step_status]) => ({
      category: 'no-plan:execute',
      input: { action: 'execute_step', plan_id, step_id: second.id, step_status, step_output: 'o' },
      code: 'NOT_FOUND' as const,
    })),
    fc.tuple(absentId, fc.constantFrom(...StepStatus.options)).map(([step_id, step_status]) => ({
      category: 'no-step',
      input: { action: 'execute_step', plan_id: f.open.id, step_id, step_status, step_output: 'o' },
      code: 'NOT_FOUND' as const,
    })),
    absentId.map((instance_id) => ({ category: 'no-plan:title', input: { action: 'update', plan_id: instance_id, title: 'T' }, code: 'NOT_FOUND' as const })),
  );

  /** Well-formed calls the plan's state refuses. */
  const refusedMoves: fc.Arbitrary<BadCall> = fc.oneof(
    fc.constantFrom<BadCall>(
      { category: 'move', input: { action: 'execute_step', plan_id: f.open.id, step_id: third.id, step_status: 'in_progress' }, code: 'STEP_ORDER' },
      { category: 'move', input: { action: 'execute_step', plan_id: f.open.id, step_id: third.id, step_status: 'completed', step_output: 'x' }, code: 'STEP_ORDER' },
      { category: 'move', input: { action: 'execute_step', plan_id: f.open.id, step_id: done.id, step_status: 'failed', step_output: 'x' }, code: 'INVALID_TRANSITION' },
      { category: 'move', input: { action: 'execute_step', plan_id: f.open.id, step_id: second.id, step_status: 'completed' }, code: 'VALIDATION_ERROR' },
      { category: 'move', input: { action: 'update', plan_id: f.open.id, status: 'completed', summary: 'Done' }, code: 'INVALID_TRANSITION' },
      { category: 'move', input: { action: 'update', plan_id: f.small.id, status: 'completed', summary: 'Done' }, code: 'INVALID_TRANSITION' },
      { category: 'move', input: { action: 'update', plan_id: f.cancelled.id, status: 'in_progress' }, code: 'INVALID_TRANSITION' },
      { category: 'move', input: { action: 'update', plan_id: f.cancelled.id, title: 'Again' }, code: 'PLAN_CLOSED' },
      { category: 'move', input: { action: 'execute_step', plan_id: f.cancelled.id, step_id: f.cancelled.steps[0]!.id, step_status: 'in_progress' }, code: 'PLAN_CLOSED' },
    ),
  );

  return { anyJson, unknownAction, wrongType, unknownKeys, protoKeys, oversized, missing, refusedMoves };
}

// ---------------------------------------------------------------------------------------------

describe('bad input through manager.handle', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it('never throws, always answers { success: false, error }, and changes nothing (property)', async () => {
    const a = arbitraries(f);
    const seen = new Map<string, number>();
    const badCall = fc.oneof(
      { weight: 3, arbitrary: a.anyJson },
      { weight: 2, arbitrary: a.unknownAction },
      { weight: 5, arbitrary: a.wrongType },
      { weight: 2, arbitrary: a.unknownKeys },
      { weight: 2, arbitrary: a.protoKeys },
      { weight: 3, arbitrary: a.oversized },
      { weight: 2, arbitrary: a.missing },
      { weight: 1, arbitrary: a.refusedMoves },
    );
    const commitsBefore = f.adapter.counts.commits;
    await fc.assert(
      fc.asyncProperty(badCall, async (bad) => {
        let result: ToolResult;
        try {
          result = await f.manager.handle(bad.input);
        } catch (error) {
          expect.fail(`handle threw: ${String(error)}`);
        }
        const error = expectFailureShape(result);
        expect(error.code, `${bad.category}: ${error.message}`).toBe(bad.code);
        if (bad.mentions) expect(error.message).toContain(bad.mentions);
        expect(f.adapter.counts.commits).toBe(commitsBefore);
        expect(await snapshotStore(f.adapter)).toEqual(f.snapshot);
        const key = bad.category.replace(/:.*/, '');
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }),
      { numRuns: 2000 },
    );
    for (const key of ['json', 'action', 'type', 'missing', 'unknown-key', 'unknown-step-key', 'proto-top', 'proto-step', 'proto-details', 'long-title', 'many-steps', 'append-over-total', 'big-details', 'no-plan', 'no-step', 'move']) {
      expect(seen.get(key) ?? 0, key).toBeGreaterThan(0);
    }
  });

  it('the same bad calls through forInstance(...) are refused the same way', async () => {
    const a = arbitraries(f);
    const tool = f.manager.forInstance(f.instanceId);
    await fc.assert(
      fc.asyncProperty(fc.oneof(a.wrongType, a.protoKeys, a.oversized, a.missing, a.unknownKeys), async (bad) => {
        const error = expectFailureShape(await tool.handle(bad.input));
        expect(error.code).toBe(bad.code);
        expect(await snapshotStore(f.adapter)).toEqual(f.snapshot);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('the exact shapes of answers', () => {
  async function world() {
    const { manager, adapter } = testManager({ limits: LIMITS });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    return { manager, adapter, instanceId: instance.id };
  }

  it('create answers { success, plan, next_step, message } with the stored plan', async () => {
    const { manager, instanceId } = await world();
    const result = await manager.handle({
      action: 'create',
      instance_id: instanceId,
      title: 'Lead qualification flow',
      plan_type: 'objective',
      site_id: 'site-1',
      steps: [
        { title: 'Fetch lead data', type: 'tool_call', details: { tool: 'crm.get', args: { id: 7 } } },
        { title: 'Qualify lead', type: 'process' },
      ],
    });
    if (!result.success || !('plan' in result)) expect.fail(JSON.stringify(result));
    expect(Object.keys(result).sort()).toEqual(['message', 'next_step', 'plan', 'success']);
    const { plan } = result;
    expect(Plan.safeParse(plan).success).toBe(true);
    expect(plan).toMatchObject({
      instance_id: instanceId,
      site_id: 'site-1',
      user_id: null,
      agent_id: null,
      title: 'Lead qualification flow',
      description: null,
      plan_type: 'objective',
      ordering: 'strict',
      status: 'pending',
      summary: null,
      version: 1,
    });
    expect(plan.steps.map((step) => [step.title, step.type, step.status, step.attempts, step.output])).toEqual([
      ['Fetch lead data', 'tool_call', 'pending', 0, null],
      ['Qualify lead', 'process', 'pending', 0, null],
    ]);
    expect(plan.steps[0]!.details).toEqual({ tool: 'crm.get', args: { id: 7 } });
    expect(plan.steps[1]!.details).toEqual({});
    expect(result.next_step).toEqual(plan.steps[0]);
    expect(result.message).toContain(plan.steps[0]!.id);
    expect(result.message).toContain('execute_step');
    expect(await manager.getPlan(plan.id)).toEqual(plan);
  });

  it('list answers { success, plans, total }, newest first, paged', async () => {
    const { manager, instanceId } = await world();
    const other = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
    const created: Plan[] = [];
    for (const title of ['One', 'Two', 'Three']) created.push(await manager.createPlan({ instance_id: instanceId, title, steps: [] }));
    await manager.createPlan({ instance_id: other.id, title: 'Elsewhere', steps: [] });
    const result = await manager.handle({ action: 'list', instance_id: instanceId, limit: 2 });
    if (!result.success || !('plans' in result)) expect.fail(JSON.stringify(result));
    expect(Object.keys(result).sort()).toEqual(['plans', 'success', 'total']);
    expect(result.total).toBe(3);
    expect(result.plans).toEqual([created[2], created[1]]);
    const page2 = await manager.handle({ action: 'list', instance_id: instanceId, limit: 2, offset: 2 });
    expect(page2).toEqual({ success: true, plans: [created[0]], total: 3 });
    const all = await manager.handle({ action: 'list' });
    expect(all).toMatchObject({ success: true, total: 4 });
  });

  it('update and execute_step answer { success, plan, next_step, message }; the last step asks for a summary', async () => {
    const { manager, instanceId } = await world();
    const plan = await manager.createPlan({ instance_id: instanceId, title: 'P', steps: [{ title: 'A', type: 'process' }, { title: 'B', type: 'review' }] });
    const [a, b] = plan.steps as [Plan['steps'][0], Plan['steps'][0]];

    const renamed = await manager.handle({ action: 'update', plan_id: plan.id, title: 'Renamed' });
    expect(renamed).toEqual({ success: true, plan: { ...plan, title: 'Renamed', version: 2, updated_at: expect.any(String) }, next_step: a, message: expect.stringContaining(a.id) });

    const started = await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: a.id, step_status: 'in_progress' });
    if (!started.success || !('plan' in started)) expect.fail(JSON.stringify(started));
    expect(Object.keys(started).sort()).toEqual(['message', 'next_step', 'plan', 'success']);
    expect(started.next_step).toMatchObject({ id: a.id, status: 'in_progress' });
    expect(started.plan).toEqual(await manager.getPlan(plan.id));

    await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: a.id, step_status: 'completed', step_output: 'a done' });
    const last = await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: b.id, step_status: 'completed', step_output: 'b done' });
    if (!last.success || !('plan' in last)) expect.fail(JSON.stringify(last));
    expect(last.next_step).toBeNull();
    expect(last.plan.status).toBe('in_progress');
    expect(last.message).toMatch(/summary/i);

    const finished = await manager.handle({ action: 'update', plan_id: plan.id, status: 'completed', summary: 'Both done' });
    if (!finished.success || !('plan' in finished)) expect.fail(JSON.stringify(finished));
    expect(finished.plan).toMatchObject({ status: 'completed', summary: 'Both done' });
    expect(finished.next_step).toBeNull();
    expect(finished.message.trim()).not.toBe('');
  });

  it('VALIDATION_ERROR names the path, what it accepts, and for unknown keys the accepted keys', async () => {
    const { manager, instanceId } = await world();
    const plan = await manager.createPlan({ instance_id: instanceId, title: 'P', steps: [] });
    for (const action of ACTIONS) {
      const base: Call = { action, ...(action === 'create' ? { instance_id: instanceId, title: 'T', steps: [] } : {}), ...(action === 'update' ? { plan_id: plan.id } : {}) };
      const error = expectFailureShape(await manager.handle({ ...base, titel: 'typo' }));
      expect(error.code).toBe('VALIDATION_ERROR');
      const issue = (error.issues as { path: string; message: string }[]).find((i) => i.message.includes('"titel"'));
      expect(issue, JSON.stringify(error)).toBeDefined();
      expect(issue!.path).toBe('(input)');
      const listed = /accepted: ([^)]*)\)/.exec(issue!.message)?.[1]?.split(', ');
      expect(new Set(listed)).toEqual(new Set(ACCEPTED[action]));
      expect(error.message).toContain('"titel"');
    }

    const nested = expectFailureShape(await manager.handle({ action: 'update', plan_id: plan.id, steps: [{ title: 'ok', type: 'process' }, { title: 'x', type: 'process', kind: 'tool' }] }));
    expect(nested.issues).toEqual([{ path: 'steps[1]', message: expect.stringContaining('"kind"') }]);
    expect(new Set(/accepted: ([^)]*)\)/.exec((nested.issues as { message: string }[])[0]!.message)?.[1]?.split(', '))).toEqual(new Set(STEP_KEYS));
    expect(nested.message).toContain('steps[1]');

    const typed = expectFailureShape(await manager.handle({ action: 'update', plan_id: plan.id, title: 42 }));
    expect(typed.issues).toEqual([{ path: 'title', message: expect.stringMatching(/string/) }]);
    expect(typed.message).toContain('title');

    const enumIssue = expectFailureShape(await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: 's', step_status: 'done' }));
    expect(enumIssue.issues).toEqual([{ path: 'step_status', message: expect.stringContaining('"in_progress"') }]);

    const action = expectFailureShape(await manager.handle({ action: 'delete', plan_id: plan.id }));
    expect(action.issues).toEqual([{ path: 'action', message: expect.stringContaining('"execute_step"') }]);
  });

  it('forInstance(id) fills instance_id for create and list, and refuses another instance_id', async () => {
    const { manager, adapter, instanceId } = await world();
    const other = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
    const elsewhere = await manager.createPlan({ instance_id: other.id, title: 'Elsewhere', steps: [] });
    const tool = manager.forInstance(instanceId);
    expect(tool.instance_id).toBe(instanceId);

    const created = await tool.handle({ action: 'create', title: 'Mine', steps: [{ title: 'S', type: 'process' }] });
    if (!created.success || !('plan' in created)) expect.fail(JSON.stringify(created));
    expect(created.plan.instance_id).toBe(instanceId);
    const explicit = await tool.handle({ action: 'create', instance_id: instanceId, title: 'Also mine', steps: [] });
    expect(explicit).toMatchObject({ success: true, plan: { instance_id: instanceId } });

    const listed = await tool.handle({ action: 'list' });
    if (!listed.success || !('plans' in listed)) expect.fail(JSON.stringify(listed));
    expect(listed.total).toBe(2);
    expect(listed.plans.every((plan) => plan.instance_id === instanceId)).toBe(true);
    expect(listed.plans.map((plan) => plan.id)).not.toContain(elsewhere.id);

    const before = await snapshotStore(adapter);
    for (const input of [
      { action: 'create', instance_id: other.id, title: 'Not mine', steps: [] },
      { action: 'list', instance_id: other.id },
    ]) {
      const error = expectFailureShape(await tool.handle(input));
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.issues).toEqual([{ path: 'instance_id', message: expect.stringContaining(JSON.stringify(instanceId)) }]);
    }
    // the same context, given per call
    expect(await manager.handle({ action: 'list', instance_id: other.id }, { instance_id: instanceId })).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    // outside any context, create needs instance_id
    const noContext = expectFailureShape(await manager.handle({ action: 'create', title: 'Orphan', steps: [] }));
    expect(noContext.issues).toEqual([{ path: 'instance_id', message: expect.stringMatching(/required/) }]);
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('NOT_FOUND for unknown plan and step ids, naming the kind and id', async () => {
    const { manager, adapter, instanceId } = await world();
    const plan = await manager.createPlan({ instance_id: instanceId, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    const before = await snapshotStore(adapter);
    const update = expectFailureShape(await manager.handle({ action: 'update', plan_id: 'no-such-plan', title: 'x' }));
    expect(update).toMatchObject({ code: 'NOT_FOUND', kind: 'plan', id: 'no-such-plan' });
    expect(update.message).toContain('no-such-plan');
    const execPlan = expectFailureShape(await manager.handle({ action: 'execute_step', plan_id: 'no-such-plan', step_id: plan.steps[0]!.id, step_status: 'in_progress' }));
    expect(execPlan).toMatchObject({ code: 'NOT_FOUND', kind: 'plan', id: 'no-such-plan' });
    const execStep = expectFailureShape(await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: 'no-such-step', step_status: 'in_progress' }));
    expect(execStep).toMatchObject({ code: 'NOT_FOUND', kind: 'step', id: 'no-such-step', plan_id: plan.id });
    expect(execStep.message).toContain('no-such-step');
    // "__proto__" is an ordinary, absent id
    const proto = expectFailureShape(await manager.handle({ action: 'update', plan_id: '__proto__', title: 'x' }));
    expect(proto).toMatchObject({ code: 'NOT_FOUND', id: '__proto__' });
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  describe('oversize refusals name the limit; the limit itself is accepted', () => {
    it('maxSteps: on create, and for the total after an update', async () => {
      const { manager, adapter, instanceId } = await world();
      const steps = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `S${i}`, type: 'process' as const }));
      const tooMany = expectFailureShape(await manager.handle({ action: 'create', instance_id: instanceId, title: 'P', steps: steps(LIMITS.maxSteps + 1) }));
      expect(tooMany).toMatchObject({ code: 'VALIDATION_ERROR', issues: [{ path: 'steps' }] });
      expect(tooMany.message).toContain('maxSteps');
      const full = await manager.handle({ action: 'create', instance_id: instanceId, title: 'P', steps: steps(LIMITS.maxSteps - 1) });
      if (!full.success || !('plan' in full)) expect.fail(JSON.stringify(full));
      const toLimit = await manager.handle({ action: 'update', plan_id: full.plan.id, steps: steps(1) });
      expect(toLimit).toMatchObject({ success: true, plan: { steps: { length: LIMITS.maxSteps } } });
      const before = await snapshotStore(adapter);
      const over = expectFailureShape(await manager.handle({ action: 'update', plan_id: full.plan.id, steps: steps(1) }));
      expect(over).toMatchObject({ code: 'VALIDATION_ERROR', issues: [{ path: 'steps' }] });
      expect(over.message).toContain('maxSteps');
      expect(over.message).toContain(String(LIMITS.maxSteps));
      expect(await snapshotStore(adapter)).toEqual(before);
    });

    it('maxTitleLength, maxOutputLength, maxDetailsLength, maxDescriptionLength, maxIdLength', async () => {
      const { manager, adapter, instanceId } = await world();
      const at = (n: number) => 'y'.repeat(n);
      const ok = await manager.handle({
        action: 'create',
        instance_id: instanceId,
        title: at(LIMITS.maxTitleLength),
        description: at(LIMITS.maxDescriptionLength),
        steps: [{ title: at(LIMITS.maxTitleLength), type: 'tool_call', details: { k: at(LIMITS.maxDetailsLength - '{"k":""}'.length) } }],
      });
      if (!ok.success || !('plan' in ok)) expect.fail(JSON.stringify(ok));
      const plan = ok.plan;
      const step = plan.steps[0]!;
      const done = await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: at(LIMITS.maxOutputLength) });
      expect(done).toMatchObject({ success: true });

      const before = await snapshotStore(adapter);
      const cases: [unknown, string, string][] = [
        [{ action: 'create', instance_id: instanceId, title: at(LIMITS.maxTitleLength + 1), steps: [] }, 'title', 'maxTitleLength'],
        [{ action: 'update', plan_id: plan.id, steps: [{ title: at(LIMITS.maxTitleLength + 1), type: 'process' }] }, 'steps[0].title', 'maxTitleLength'],
        [{ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'completed', step_output: at(LIMITS.maxOutputLength + 1) }, 'step_output', 'maxOutputLength'],
        [{ action: 'create', instance_id: instanceId, title: 'P', steps: [{ title: 'S', type: 'tool_call', details: { k: at(LIMITS.maxDetailsLength - '{"k":""}'.length + 1) } }] }, 'steps[0].details', 'maxDetailsLength'],
        [{ action: 'update', plan_id: plan.id, description: at(LIMITS.maxDescriptionLength + 1) }, 'description', 'maxDescriptionLength'],
        [{ action: 'update', plan_id: at(LIMITS.maxIdLength + 1) }, 'plan_id', 'maxIdLength'],
      ];
      for (const [input, path, limit] of cases) {
        const error = expectFailureShape(await manager.handle(input));
        expect(error.code).toBe('VALIDATION_ERROR');
        expect(error.issues).toEqual([{ path, message: expect.stringContaining(limit) }]);
        expect(error.message).toContain(limit);
        expect(error.message).toContain(path);
      }
      expect(await snapshotStore(adapter)).toEqual(before);
    });
  });

  it('"__proto__" inside step details is refused, not silently dropped', async () => {
    const { manager, adapter, instanceId } = await world();
    const before = await snapshotStore(adapter);
    const input = JSON.parse(`{"action":"create","instance_id":${JSON.stringify(instanceId)},"title":"P","steps":[{"title":"S","type":"tool_call","details":{"args":{"__proto__":{"polluted":true}}}}]}`);
    const error = expectFailureShape(await manager.handle(input));
    expect(error.issues).toEqual([{ path: 'steps[0].details', message: expect.stringContaining('__proto__') }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  describe('deeply nested details (built iteratively: no recursion in the test itself)', () => {
    const nest = (depth: number, wrap: (inner: unknown) => unknown) => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = wrap(value);
      return value;
    };

    it('nested 10,000 levels deep they are refused as VALIDATION_ERROR naming the depth, not answered as a crash', async () => {
      const { manager, adapter, instanceId } = await world();
      const before = await snapshotStore(adapter);
      // 10,000 levels of {"a": ...}: refused as the call is first read, before any check walks it.
      const details = nest(10_000, (inner) => ({ a: inner }));
      const result = await manager.handle({ action: 'create', instance_id: instanceId, title: 'P', steps: [{ title: 'S', type: 'tool_call', details }] });
      const error = expectFailureShape(result);
      expect(error.code, error.message).toBe('VALIDATION_ERROR');
      expect(error.issues).toEqual([{ path: 'steps[0].details', message: 'nests deeper than 64 levels (or refers to itself)' }]);
      expect(await snapshotStore(adapter)).toEqual(before);
    });

    it('within the size limit, deep nesting is accepted or refused as bad input, never reported as a storage fault', async () => {
      // default limits: 9,000 nested arrays are about 18,000 characters, under maxDetailsLength (20,000)
      const { manager, adapter } = testManager();
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
      const details = { a: nest(9_000, (inner) => [inner]) };
      const before = await snapshotStore(adapter);
      const result = await manager.handle({ action: 'create', instance_id: instance.id, title: 'P', steps: [{ title: 'S', type: 'tool_call', details }] });
      if (result.success) return; // accepted: fine (not serialised here: the test itself would overflow)
      expect(Object.keys(result.error)).toContain('code');
      expect(result.error.code, result.error.message).toBe('VALIDATION_ERROR');
      expect(await snapshotStore(adapter)).toEqual(before);
    });
  });

  it('a store that throws something unexpected still gets an answer: STORAGE_ERROR, never a throw', async () => {
    const inner = memoryAdapter();
    const seed = new PlanManager({ adapter: inner, clock: testClock(), ids: sequentialIds('s') });
    const instance = await seed.createInstance({ organization_id: 'org-1', agent_type_id: 'agent' });
    const plan = await seed.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    const broken = countingAdapter(inner);
    broken.commit = async () => {
      throw new Error('disk on fire');
    };
    const manager = new PlanManager({ adapter: broken, clock: testClock(), ids: sequentialIds('b') });
    const before = await snapshotStore(inner);
    const result = await manager.handle({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    const error = expectFailureShape(result);
    expect(error).toEqual({
      code: 'STORAGE_ERROR',
      message: 'The store failed before it could confirm this change (reason: failed); it may have been stored. Read the record again before you retry.',
      reason: 'failed',
      may_have_landed: true,
    });
    expect(JSON.stringify(result)).not.toContain('disk on fire');
    expect(await snapshotStore(inner)).toEqual(before);
  });
});
