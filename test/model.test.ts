import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager, type StorageAdapter } from '../src';
import type { InstanceStatus, PlanStatus, StepStatus, StepType } from '../src/schemas/enums';
import { readDesignTables } from './support/design-tables';
import { checkStore } from './support/invariants';

/**
 * Model-based test: random command sequences run against a PlanManager on the memory adapter
 * and against a plain reference model written from DESIGN.md (its tables are read from the
 * document). After every command the outcome (success or error code), the records' key
 * fields, and every invariant of DESIGN.md are checked; a refused command must change nothing.
 */
const tables = readDesignTables();
const RUNS = 1_000;

const INSTANCE_STATUSES = [...tables.instance.keys()] as InstanceStatus[];
const PLAN_STATUSES = [...tables.plan.keys()] as PlanStatus[];
const STEP_STATUSES = [...tables.step.keys()] as StepStatus[];
const STEP_TYPES: StepType[] = ['tool_call', 'process', 'review', 'discussion', 'user_input'];

interface ModelStep {
  title: string;
  status: StepStatus;
  attempts: number;
  output: string | null;
}
interface ModelInstance {
  id: string;
  status: InstanceStatus;
  version: number;
  turns: number;
  tokens: number;
  everRunning: boolean;
  currentStep: string | null;
}
interface ModelPlan {
  id: string;
  instanceId: string;
  ordering: 'strict' | 'free';
  status: PlanStatus;
  version: number;
  steps: ModelStep[];
  summary: string | null;
  title: string;
}
interface Model {
  instances: ModelInstance[];
  plans: ModelPlan[];
}
interface Real {
  manager: PlanManager;
  adapter: StorageAdapter;
}

type Outcome = 'ok' | 'noop' | InstancePlanError['code'];

const isTerminal = (status: InstanceStatus) => tables.instance.get(status)!.length === 0;

/** Runs a call and returns its outcome: 'ok', or the error code; any other throw fails the test. */
async function outcomeOf(call: () => Promise<unknown>): Promise<'ok' | InstancePlanError['code']> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    if (InstancePlanError.is(error)) return error.code;
    throw error;
  }
}

async function snapshot(adapter: StorageAdapter): Promise<string> {
  const parts: unknown[] = [];
  for (const kind of ['instance', 'plan'] as const) {
    const { records } = await adapter.list(kind, { where: {}, limit: Number.MAX_SAFE_INTEGER, offset: 0 });
    for (const record of records) parts.push(record, await adapter.history(record.id));
  }
  return JSON.stringify(parts);
}

/** Runs the command on the real manager, compares with the model's prediction, checks the store. */
async function runAndCompare(real: Real, expected: Outcome, call: () => Promise<unknown>, label: string): Promise<void> {
  const before = await snapshot(real.adapter);
  const actual = await outcomeOf(call);
  const after = await snapshot(real.adapter);
  expect(actual === 'ok' ? (before === after ? 'noop' : 'ok') : actual, label).toBe(expected);
  if (expected !== 'ok') expect(after, `${label}: a refused or no-op request changed the store`).toBe(before);
  expect(await checkStore(real.adapter, tables), label).toEqual([]);
}

async function compareRecords(model: Model, real: Real): Promise<void> {
  for (const instance of model.instances) {
    const stored = await real.manager.getInstance(instance.id);
    expect({
      status: stored.status,
      version: stored.version,
      turns: stored.turn_count,
      tokens: stored.tokens_total,
      current: stored.current_step,
    }).toEqual({
      status: instance.status,
      version: instance.version,
      turns: instance.turns,
      tokens: instance.tokens,
      current: instance.currentStep,
    });
  }
  for (const plan of model.plans) {
    const stored = await real.manager.getPlan(plan.id);
    expect({
      status: stored.status,
      version: stored.version,
      summary: stored.summary,
      steps: stored.steps.map((s) => ({ title: s.title, status: s.status, attempts: s.attempts, output: s.output })),
    }).toEqual({ status: plan.status, version: plan.version, summary: plan.summary, steps: plan.steps });
  }
}

class CreateInstance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly agentType: string) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const created = await real.manager.createInstance({ organization_id: 'org', agent_type_id: this.agentType });
    model.instances.push({
      id: created.id,
      status: 'starting',
      version: 1,
      turns: 0,
      tokens: 0,
      everRunning: false,
      currentStep: null,
    });
    expect(await checkStore(real.adapter, tables)).toEqual([]);
    await compareRecords(model, real);
  }
  toString = () => `createInstance(${this.agentType})`;
}

class TransitionInstance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number, readonly to: InstanceStatus) {}
  check = (model: Readonly<Model>) => model.instances.length > 0;
  async run(model: Model, real: Real) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const from = instance.status;
    let expected: Outcome;
    if (from === this.to) expected = 'noop';
    else if (tables.instance.get(from)!.includes(this.to)) expected = 'ok';
    else expected = 'INVALID_TRANSITION';
    await runAndCompare(real, expected, () => real.manager.transitionInstance(instance.id, { status: this.to }), this.toString());
    if (expected === 'ok') {
      instance.status = this.to;
      instance.version += 1;
      instance.everRunning ||= this.to === 'running';
    }
    await compareRecords(model, real);
  }
  toString = () => `transitionInstance(#${this.pick}, ${this.to})`;
}

class RecordTurn implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number, readonly tokens: number) {}
  check = (model: Readonly<Model>) => model.instances.length > 0;
  async run(model: Model, real: Real) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const expected: Outcome = instance.status === 'running' || instance.status === 'waiting' ? 'ok' : 'INVALID_TRANSITION';
    await runAndCompare(real, expected, () => real.manager.recordTurn(instance.id, { tokens: this.tokens }), this.toString());
    if (expected === 'ok') {
      instance.turns += 1;
      instance.tokens += this.tokens;
      instance.version += 1;
    }
    await compareRecords(model, real);
  }
  toString = () => `recordTurn(#${this.pick}, ${this.tokens})`;
}

class CreatePlan implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly stepTypes: StepType[],
    readonly ordering: 'strict' | 'free',
  ) {}
  check = (model: Readonly<Model>) => model.instances.length > 0;
  async run(model: Model, real: Real) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const expected: Outcome = isTerminal(instance.status) ? 'PLAN_CLOSED' : 'ok';
    const steps = this.stepTypes.map((type, index) => ({ title: `step ${index + 1}`, type }));
    let createdId: string | undefined;
    await runAndCompare(
      real,
      expected,
      async () => {
        createdId = (await real.manager.createPlan({ instance_id: instance.id, title: 'plan', steps, ordering: this.ordering })).id;
      },
      this.toString(),
    );
    if (expected === 'ok') {
      model.plans.push({
        id: createdId!,
        instanceId: instance.id,
        ordering: this.ordering,
        status: 'pending',
        version: 1,
        steps: steps.map((step) => ({ title: step.title, status: 'pending', attempts: 0, output: null })),
        summary: null,
        title: 'plan',
      });
    }
    await compareRecords(model, real);
  }
  toString = () => `createPlan(#${this.pick}, [${this.stepTypes.join(',')}], ${this.ordering})`;
}

class ExecuteStep implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pickPlan: number,
    /** undefined: the plan's next step (the first not completed), so sequences reach deep states. */
    readonly pickStep: number | undefined,
    readonly to: StepStatus,
    readonly output: string | undefined,
  ) {}
  check = (model: Readonly<Model>) => model.plans.some((plan) => plan.steps.length > 0);
  async run(model: Model, real: Real) {
    const withSteps = model.plans.filter((plan) => plan.steps.length > 0);
    const plan = withSteps[this.pickPlan % withSteps.length]!;
    const firstOpen = plan.steps.findIndex((candidate) => candidate.status !== 'completed');
    const index = this.pickStep === undefined ? Math.max(firstOpen, 0) : this.pickStep % plan.steps.length;
    const step = plan.steps[index]!;
    const instance = model.instances.find((candidate) => candidate.id === plan.instanceId)!;
    const from = step.status;
    let expected: Outcome;
    if ((this.to === 'completed' || this.to === 'failed') && this.output === undefined) expected = 'VALIDATION_ERROR';
    else if (from === this.to) expected = 'noop';
    else if (plan.status !== 'pending' && plan.status !== 'in_progress') expected = 'PLAN_CLOSED';
    else if (!tables.step.get(from)!.includes(this.to)) expected = 'INVALID_TRANSITION';
    else if (
      plan.ordering === 'strict' &&
      (this.to === 'in_progress' || this.to === 'completed') &&
      plan.steps.slice(0, index).some((earlier) => earlier.status !== 'completed')
    ) {
      expected = 'STEP_ORDER';
    } else if (isTerminal(instance.status)) expected = 'PLAN_CLOSED';
    else expected = 'ok';

    const input = { plan_id: plan.id, step_id: (await real.manager.getPlan(plan.id)).steps[index]!.id, step_status: this.to };
    await runAndCompare(
      real,
      expected,
      () => real.manager.executeStep(this.output === undefined ? input : { ...input, step_output: this.output }),
      this.toString(),
    );
    if (expected === 'ok') {
      if (from !== 'in_progress') step.attempts += 1;
      step.status = this.to;
      if (this.output !== undefined) step.output = this.output;
      if (plan.status === 'pending') plan.status = 'in_progress';
      plan.version += 1;
      if (this.to === 'in_progress' && instance.currentStep !== step.title) {
        instance.currentStep = step.title;
        instance.version += 1;
      }
    }
    await compareRecords(model, real);
  }
  toString = () => `executeStep(plan #${this.pickPlan}, step ${this.pickStep === undefined ? 'next' : '#' + this.pickStep}, ${this.to}, ${JSON.stringify(this.output)})`;
}

class UpdatePlan implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly append: number,
    readonly to: PlanStatus | undefined,
    readonly summary: string | null | undefined,
    readonly title: string | undefined,
  ) {}
  check = (model: Readonly<Model>) => model.plans.length > 0;
  async run(model: Model, real: Real) {
    const plan = model.plans[this.pick % model.plans.length]!;
    const appended = Array.from({ length: this.append }, (_, i) => ({ title: `added ${plan.steps.length + i + 1}`, type: 'process' as const }));
    const steps = [...plan.steps, ...appended.map((step) => ({ title: step.title, status: 'pending' as StepStatus, attempts: 0, output: null }))];
    let status = plan.status;
    let reopened = false;
    let expected: Outcome | undefined;
    if (appended.length > 0) {
      if (status === 'cancelled') expected = 'PLAN_CLOSED';
      else if (status === 'completed' || status === 'failed') {
        status = 'in_progress';
        reopened = true;
        // A change is one edge: reopening and another status need two updates.
        if (this.to !== undefined && this.to !== status) expected = 'INVALID_TRANSITION';
      }
    }
    if (!expected && this.to !== undefined && this.to !== status) {
      if (!tables.plan.get(status)!.includes(this.to)) expected = 'INVALID_TRANSITION';
      else if (this.to === 'completed' && steps.some((step) => step.status !== 'completed')) expected = 'INVALID_TRANSITION';
      else if (this.to === 'completed' && (typeof this.summary !== 'string' || this.summary.trim() === '')) expected = 'VALIDATION_ERROR';
      else {
        reopened ||= status === 'completed' || status === 'failed';
        status = this.to;
      }
    }
    if (!expected && plan.status === 'cancelled' && (this.title !== undefined || this.summary !== undefined)) expected = 'PLAN_CLOSED';
    const summary = this.summary !== undefined ? this.summary : reopened ? null : plan.summary;
    if (!expected && status === 'completed' && (summary === null || summary.trim() === '')) expected = 'VALIDATION_ERROR';
    if (!expected) {
      const changed =
        appended.length > 0 || status !== plan.status || summary !== plan.summary || (this.title !== undefined && this.title !== plan.title);
      expected = changed ? 'ok' : 'noop';
    }
    const input = {
      plan_id: plan.id,
      ...(appended.length > 0 ? { steps: appended } : {}),
      ...(this.to !== undefined ? { status: this.to } : {}),
      ...(this.summary !== undefined ? { summary: this.summary } : {}),
      ...(this.title !== undefined ? { title: this.title } : {}),
    };
    await runAndCompare(real, expected, () => real.manager.updatePlan(input), this.toString());
    if (expected === 'ok') {
      plan.steps = steps;
      plan.status = status;
      plan.summary = summary;
      if (this.title !== undefined) plan.title = this.title;
      plan.version += 1;
    }
    await compareRecords(model, real);
  }
  toString = () =>
    `updatePlan(#${this.pick}, append ${this.append}, ${this.to}, summary ${JSON.stringify(this.summary)}, title ${JSON.stringify(this.title)})`;
}

class ListPlans implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number, readonly status: PlanStatus | undefined, readonly limit: number) {}
  check = (model: Readonly<Model>) => model.instances.length > 0;
  async run(model: Model, real: Real) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const matching = model.plans.filter((plan) => plan.instanceId === instance.id && (this.status === undefined || plan.status === this.status));
    const { plans, total } = await real.manager.listPlans({
      instance_id: instance.id,
      ...(this.status !== undefined ? { status: this.status } : {}),
      limit: this.limit,
    });
    expect(total).toBe(matching.length);
    // Newest first: plans were created in model order with a clock that only moves forward.
    expect(plans.map((plan) => plan.id)).toEqual(matching.map((plan) => plan.id).reverse().slice(0, this.limit));
  }
  toString = () => `listPlans(#${this.pick}, ${this.status}, ${this.limit})`;
}

/** Commands that drive a plan forward the way an agent does, so sequences reach completed plans and beyond. */
const progress = [
  fc
    .tuple(fc.nat(), fc.constantFrom<StepStatus>('in_progress', 'completed', 'completed', 'failed'))
    .map(([plan, to]) => new ExecuteStep(plan, undefined, to, 'ok')),
  fc.nat().map((pick) => new UpdatePlan(pick, 0, 'completed', 'done', undefined)),
  fc
    .tuple(fc.nat(), fc.constantFrom<string | null>('', '  ', null, 'revised'), fc.option(fc.constant<PlanStatus>('completed'), { nil: undefined }))
    .map(([pick, summary, to]) => new UpdatePlan(pick, 0, to, summary, undefined)),
];

const commands = [
  ...progress,
  ...progress,
  fc.constantFrom('researcher', 'writer').map((agent) => new CreateInstance(agent)),
  fc
    .tuple(fc.nat(), fc.oneof(fc.constant<InstanceStatus>('running'), fc.constantFrom(...INSTANCE_STATUSES)))
    .map(([pick, to]) => new TransitionInstance(pick, to)),
  fc.tuple(fc.nat(), fc.nat({ max: 5_000 })).map(([pick, tokens]) => new RecordTurn(pick, tokens)),
  fc
    .tuple(fc.nat(), fc.array(fc.constantFrom(...STEP_TYPES), { maxLength: 3 }), fc.constantFrom('strict' as const, 'free' as const))
    .map(([pick, types, ordering]) => new CreatePlan(pick, types, ordering)),
  fc
    .tuple(
      fc.nat(),
      fc.option(fc.nat(), { nil: undefined, freq: 2 }),
      fc.oneof(fc.constant<StepStatus>('completed'), fc.constantFrom(...STEP_STATUSES)),
      fc.option(fc.constantFrom('ok', 'boom', ''), { nil: undefined, freq: 5 }),
    )
    .map(([plan, step, to, output]) => new ExecuteStep(plan, step, to, output)),
  fc
    .tuple(
      fc.nat(),
      fc.nat({ max: 2 }),
      fc.option(fc.oneof(fc.constant<PlanStatus>('completed'), fc.constantFrom(...PLAN_STATUSES)), { nil: undefined }),
      fc.option(fc.oneof(fc.constant('done'), fc.constantFrom<string | null>('done', '  ', '', null)), { nil: undefined }),
      fc.option(fc.constantFrom('plan', 'renamed'), { nil: undefined }),
    )
    .map(([pick, append, to, summary, title]) => new UpdatePlan(pick, append, to, summary, title)),
  fc
    .tuple(fc.nat(), fc.option(fc.constantFrom(...PLAN_STATUSES), { nil: undefined }), fc.integer({ min: 1, max: 3 }))
    .map(([pick, status, limit]) => new ListPlans(pick, status, limit)),
];

function setup(): { model: Model; real: Real } {
  let tick = 0;
  let next = 0;
  const adapter = memoryAdapter();
  const manager = new PlanManager({
    adapter,
    clock: () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000),
    ids: () => `id-${++next}`,
  });
  return { model: { instances: [], plans: [] }, real: { manager, adapter } };
}

describe('PlanManager against a reference model', () => {
  it(`agrees with the model and keeps every invariant over ${RUNS} random command sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 50, size: 'max' }), async (cmds) => {
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: RUNS },
    );
  });
});
