import fc from 'fast-check';
import { InstancePlanError, type ErrorCode } from '../errors';
import { instanceLogic, planLogic, stepLogic } from '../machines';
import type { StorageAdapter } from '../adapters/contract';
import { memoryAdapter } from '../adapters/memory';
import { PlanManager } from '../manager/plan-manager';
import { copyStore } from '../stores/copy';
import type { InstanceStatus, PlanStatus, StatusReason, StepStatus, StepType } from '../schemas/enums';
import { exhaustedBudget } from '../manager/budget';
import { checkRecordInvariants, type InvariantViolation } from './invariants';

/**
 * A plain reference model of what a PlanManager must do, and fast-check commands that run the
 * same random sequence against the model and a real manager. After every command the outcome
 * (success, no-op or error code), the records' key fields and every invariant are compared;
 * a refused command must leave every record and its history untouched.
 *
 * @example
 * await fc.assert(
 *   fc.asyncProperty(fc.commands(planManagerCommands(), { maxCommands: 50, size: 'max' }), (commands) =>
 *     runPlanManagerModel(() => new PlanManager({ adapter: myAdapter() }), commands),
 *   ),
 * );
 */
export interface ModelStep {
  title: string;
  type: StepType;
  status: StepStatus;
  attempts: number;
  output: string | null;
}

export interface ModelInstance {
  id: string;
  status: InstanceStatus;
  version: number;
  turns: number;
  tokens: number;
  currentStep: string | null;
  reason: StatusReason | null;
  maxTurns: number | null;
  maxTokens: number | null;
}

export interface ModelPlan {
  id: string;
  instanceId: string;
  ordering: 'strict' | 'free';
  status: PlanStatus;
  version: number;
  steps: ModelStep[];
  summary: string | null;
  title: string;
}

export interface PlanManagerModel {
  instances: ModelInstance[];
  plans: ModelPlan[];
}

export interface PlanManagerSystem {
  manager: PlanManager;
  /** The store under `manager`, when the run was given one (see `ModelOptions`). */
  adapter?: StorageAdapter;
  /** A new manager over a store, as a restarted process makes one. */
  open?: (adapter: StorageAdapter) => PlanManager | Promise<PlanManager>;
}

/** Lets a run exercise crashes and copies: without a store, those commands only compare. */
export interface ModelOptions {
  /** The store `createManager`'s manager uses. */
  adapter?: StorageAdapter;
  /** A new manager over a store (default `new PlanManager({ adapter })`): made after a restart, and over a copy. */
  open?: (adapter: StorageAdapter) => PlanManager | Promise<PlanManager>;
}

export type ModelCommand = fc.AsyncCommand<PlanManagerModel, PlanManagerSystem>;

/** What a command must end in: a change, a successful no-op, or a refusal with this code. */
export type Outcome = 'changed' | 'unchanged' | ErrorCode;

/** Thrown when the manager and the model disagree, or an invariant breaks; the message says how. */
export class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

const can = (logic: typeof planLogic | typeof stepLogic | typeof instanceLogic, from: string, to: string) =>
  (logic.targets as (state: string) => readonly string[])(from).includes(to);
const handles = (state: InstanceStatus, event: string) => instanceLogic.edges(state, event).length > 0;

/** The budget a model instance has reached, if any. */
const exhausted = (instance: ModelInstance) =>
  exhaustedBudget({ turn_count: instance.turns, tokens_total: instance.tokens, max_turns: instance.maxTurns, max_tokens: instance.maxTokens });

/** A change of a model instance: a running or waiting instance it leaves at a budget is paused for it. */
function pauseAtBudget(instance: ModelInstance): void {
  if ((instance.status === 'running' || instance.status === 'waiting') && exhausted(instance)) {
    instance.status = 'paused';
    instance.reason = 'budget_exhausted';
  }
}

/** The user_input steps in progress among the instance's plans not given up (cancelled, failed): its open questions. */
const openQuestions = (model: PlanManagerModel, instance: ModelInstance) =>
  model.plans.flatMap((plan) =>
    plan.instanceId === instance.id && plan.status !== 'cancelled' && plan.status !== 'failed'
      ? plan.steps.flatMap((step, index) => (step.type === 'user_input' && step.status === 'in_progress' ? [{ plan, index }] : []))
      : [],
  );

/** Whether the instance's budget holds its steps back: a counter at its limit, or paused for one. */
const heldByBudget = (instance: ModelInstance) => exhausted(instance) !== undefined || (instance.status === 'paused' && instance.reason === 'budget_exhausted');

function agree(label: string, actual: unknown, expected: unknown): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new ModelMismatch(`${label}: manager has ${a}, model expects ${e}`);
}

/** Every record the model knows, with its history, as one comparable string. */
async function observe(model: PlanManagerModel, { manager }: PlanManagerSystem): Promise<string> {
  const parts: unknown[] = [];
  for (const { id } of model.instances) parts.push(await manager.getInstance(id), await manager.history(id));
  for (const { id } of model.plans) parts.push(await manager.getPlan(id), await manager.history(id));
  return JSON.stringify(parts);
}

async function violations(model: PlanManagerModel, { manager }: PlanManagerSystem): Promise<InvariantViolation[]> {
  const found: InvariantViolation[] = [];
  for (const { id } of model.instances) found.push(...checkRecordInvariants('instance', await manager.getInstance(id), await manager.history(id)));
  for (const { id } of model.plans) found.push(...checkRecordInvariants('plan', await manager.getPlan(id), await manager.history(id)));
  return found;
}

/** Runs `call`, checks its outcome against `expected`, that refusals change nothing, and the invariants. */
async function runChecked(label: string, expected: Outcome, model: PlanManagerModel, system: PlanManagerSystem, call: () => Promise<unknown>) {
  const before = await observe(model, system);
  let actual: Outcome;
  try {
    await call();
    actual = (await observe(model, system)) === before ? 'unchanged' : 'changed';
  } catch (error) {
    if (!InstancePlanError.is(error)) throw error;
    actual = error.code;
    if ((await observe(model, system)) !== before) throw new ModelMismatch(`${label}: refused with ${error.code} but changed the store`);
  }
  if (actual !== expected) throw new ModelMismatch(`${label}: outcome ${actual}, model expects ${expected}`);
  const broken = await violations(model, system);
  if (broken.length > 0) throw new ModelMismatch(`${label}: invariants broken: ${JSON.stringify(broken)}`);
}

/** Compares the key fields of every record with the model. */
async function compare(model: PlanManagerModel, { manager }: PlanManagerSystem): Promise<void> {
  for (const instance of model.instances) {
    const stored = await manager.getInstance(instance.id);
    agree(
      `instance ${instance.id}`,
      [stored.status, stored.version, stored.turn_count, stored.tokens_total, stored.current_step, stored.status_reason, stored.max_turns, stored.max_tokens],
      [instance.status, instance.version, instance.turns, instance.tokens, instance.currentStep, instance.reason, instance.maxTurns, instance.maxTokens],
    );
  }
  for (const plan of model.plans) {
    const stored = await manager.getPlan(plan.id);
    agree(
      `plan ${plan.id}`,
      [stored.status, stored.version, stored.summary, stored.title, stored.steps.map((s) => [s.title, s.type, s.status, s.attempts, s.output])],
      [plan.status, plan.version, plan.summary, plan.title, plan.steps.map((s) => [s.title, s.type, s.status, s.attempts, s.output])],
    );
  }
}

class CreateInstance implements ModelCommand {
  constructor(readonly agentType: string, readonly maxTurns: number | null = null, readonly maxTokens: number | null = null) {}
  check = () => true;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const budget = { ...(this.maxTurns !== null ? { max_turns: this.maxTurns } : {}), ...(this.maxTokens !== null ? { max_tokens: this.maxTokens } : {}) };
    const created = await system.manager.createInstance({ organization_id: 'model-org', agent_type_id: this.agentType, ...budget });
    model.instances.push({
      id: created.id,
      status: 'starting',
      version: 1,
      turns: 0,
      tokens: 0,
      currentStep: null,
      reason: null,
      maxTurns: this.maxTurns,
      maxTokens: this.maxTokens,
    });
    await compare(model, system);
  }
  toString = () => `createInstance(${this.agentType}, max_turns ${this.maxTurns}, max_tokens ${this.maxTokens})`;
}

class TransitionInstance implements ModelCommand {
  constructor(readonly pick: number, readonly to: InstanceStatus) {}
  check = (model: Readonly<PlanManagerModel>) => model.instances.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const expected: Outcome =
      instance.status === this.to
        ? 'unchanged'
        : !can(instanceLogic, instance.status, this.to)
          ? 'INVALID_TRANSITION'
          : (this.to === 'running' || this.to === 'waiting') && exhausted(instance)
            ? 'BUDGET_EXCEEDED'
            : instance.status === 'paused' && this.to === 'running' && openQuestions(model, instance).length > 0
              ? 'AWAITING_INPUT'
              : 'changed';
    await runChecked(this.toString(), expected, model, system, () => system.manager.transitionInstance(instance.id, { status: this.to }));
    if (expected === 'changed') {
      instance.status = this.to;
      instance.reason = null;
      instance.version += 1;
    }
    await compare(model, system);
  }
  toString = () => `transitionInstance(#${this.pick}, ${this.to})`;
}

class RecordTurn implements ModelCommand {
  constructor(readonly pick: number, readonly tokens: number) {}
  check = (model: Readonly<PlanManagerModel>) => model.instances.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const expected: Outcome = handles(instance.status, 'recordTurn') ? 'changed' : 'INVALID_TRANSITION';
    await runChecked(this.toString(), expected, model, system, () => system.manager.recordTurn(instance.id, { tokens: this.tokens }));
    if (expected === 'changed') {
      instance.turns += 1;
      instance.tokens += this.tokens;
      instance.version += 1;
      pauseAtBudget(instance);
    }
    await compare(model, system);
  }
  toString = () => `recordTurn(#${this.pick}, ${this.tokens})`;
}

class SetBudget implements ModelCommand {
  constructor(readonly pick: number, readonly maxTurns: number | null | undefined, readonly maxTokens: number | null | undefined) {}
  check = (model: Readonly<PlanManagerModel>) => model.instances.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const turns = this.maxTurns === undefined ? instance.maxTurns : this.maxTurns;
    const tokens = this.maxTokens === undefined ? instance.maxTokens : this.maxTokens;
    const expected: Outcome = !handles(instance.status, 'setBudget')
      ? 'INVALID_TRANSITION'
      : turns === instance.maxTurns && tokens === instance.maxTokens
        ? 'unchanged'
        : 'changed';
    const budget = { ...(this.maxTurns !== undefined ? { max_turns: this.maxTurns } : {}), ...(this.maxTokens !== undefined ? { max_tokens: this.maxTokens } : {}) };
    await runChecked(this.toString(), expected, model, system, () => system.manager.setBudget(instance.id, budget));
    if (expected === 'changed') {
      instance.maxTurns = turns;
      instance.maxTokens = tokens;
      instance.version += 1;
      pauseAtBudget(instance);
    }
    await compare(model, system);
  }
  toString = () => `setBudget(#${this.pick}, max_turns ${this.maxTurns}, max_tokens ${this.maxTokens})`;
}

class CreatePlan implements ModelCommand {
  constructor(readonly pick: number, readonly stepTypes: StepType[], readonly ordering: 'strict' | 'free') {}
  check = (model: Readonly<PlanManagerModel>) => model.instances.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const expected: Outcome = instanceLogic.isFinal(instance.status) ? 'PLAN_CLOSED' : 'changed';
    const steps = this.stepTypes.map((type, index) => ({ title: `step ${index + 1}`, type }));
    let id: string | undefined;
    const create = async () => {
      id = (await system.manager.createPlan({ instance_id: instance.id, title: 'plan', steps, ordering: this.ordering })).id;
    };
    if (expected === 'changed') await create();
    else await runChecked(this.toString(), expected, model, system, create);
    if (id !== undefined) {
      model.plans.push({
        id,
        instanceId: instance.id,
        ordering: this.ordering,
        status: 'pending',
        version: 1,
        steps: steps.map((step) => ({ title: step.title, type: step.type, status: 'pending', attempts: 0, output: null })),
        summary: null,
        title: 'plan',
      });
    }
    await compare(model, system);
  }
  toString = () => `createPlan(#${this.pick}, [${this.stepTypes.join(', ')}], ${this.ordering})`;
}

/** What executing step `index` of `plan` to `to` must end in, by the rules, in the order the manager checks them. */
function expectStep(model: PlanManagerModel, plan: ModelPlan, index: number, to: StepStatus, output: string | undefined): Outcome {
  const step = plan.steps[index]!;
  const instance = model.instances.find((candidate) => candidate.id === plan.instanceId)!;
  const from = step.status;
  if ((to === 'completed' || to === 'failed') && output === undefined) return 'VALIDATION_ERROR';
  // The same status again: a safe retry, unless it carries another output (then CONFLICT).
  if (from === to) return output !== undefined && output !== step.output ? 'CONFLICT' : 'unchanged';
  if (planLogic.edges(plan.status, 'executeStep').length === 0) return 'PLAN_CLOSED';
  if (!can(stepLogic, from, to)) return 'INVALID_TRANSITION';
  if (plan.ordering === 'strict' && (to === 'in_progress' || to === 'completed') && plan.steps.slice(0, index).some((earlier) => earlier.status !== 'completed')) {
    return 'STEP_ORDER';
  }
  if (instanceLogic.isFinal(instance.status)) return 'PLAN_CLOSED';
  if (heldByBudget(instance)) return 'BUDGET_EXCEEDED';
  const answers = step.type === 'user_input' && from === 'in_progress';
  if (instance.status === 'waiting' && !answers) return 'AWAITING_INPUT';
  // A question waits: its instance must be able to move to waiting.
  if (step.type === 'user_input' && to === 'in_progress' && !can(instanceLogic, instance.status, 'waiting')) return 'INVALID_TRANSITION';
  return 'changed';
}

/** The model after executing step `index` of `plan` to `to` succeeded with a change. */
function applyStep(model: PlanManagerModel, plan: ModelPlan, index: number, to: StepStatus, output: string | undefined): void {
  const step = plan.steps[index]!;
  const instance = model.instances.find((candidate) => candidate.id === plan.instanceId)!;
  const from = step.status;
  if (from !== 'in_progress') step.attempts += 1;
  step.status = to;
  if (output !== undefined) step.output = output;
  if (plan.status === 'pending') plan.status = 'in_progress';
  plan.version += 1;
  if (step.type === 'user_input' && to === 'in_progress') {
    // The question becomes the current step, and the instance waits for its answer.
    Object.assign(instance, { currentStep: step.title, status: 'waiting', reason: 'awaiting_input', version: instance.version + 1 });
  } else if (step.type === 'user_input' && from === 'in_progress' && instance.status === 'waiting') {
    Object.assign(instance, { status: 'running', reason: null, version: instance.version + 1 });
  } else if (to === 'in_progress' && instance.currentStep !== step.title) {
    instance.currentStep = step.title;
    instance.version += 1;
  }
}

class ExecuteStep implements ModelCommand {
  constructor(
    readonly pickPlan: number,
    /** undefined: the plan's next step (the first not completed), as an agent would. */
    readonly pickStep: number | undefined,
    readonly to: StepStatus,
    readonly output: string | undefined,
  ) {}
  check = (model: Readonly<PlanManagerModel>) => model.plans.some((plan) => plan.steps.length > 0);
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const candidates = model.plans.filter((plan) => plan.steps.length > 0);
    const plan = candidates[this.pickPlan % candidates.length]!;
    const firstOpen = plan.steps.findIndex((step) => step.status !== 'completed');
    const index = this.pickStep === undefined ? Math.max(firstOpen, 0) : this.pickStep % plan.steps.length;
    const expected = expectStep(model, plan, index, this.to, this.output);
    const stepId = (await system.manager.getPlan(plan.id)).steps[index]!.id;
    const input = { plan_id: plan.id, step_id: stepId, step_status: this.to };
    await runChecked(this.toString(), expected, model, system, () =>
      system.manager.executeStep(this.output === undefined ? input : { ...input, step_output: this.output }),
    );
    if (expected === 'changed') applyStep(model, plan, index, this.to, this.output);
    await compare(model, system);
  }
  toString = () =>
    `executeStep(plan #${this.pickPlan}, step ${this.pickStep === undefined ? 'next' : `#${this.pickStep}`}, ${this.to}, ${JSON.stringify(this.output)})`;
}

/** An agent reaches a question: a plan whose next open step is a user_input step starts it. */
class AskQuestion implements ModelCommand {
  constructor(readonly pick: number) {}
  static candidates = (model: Readonly<PlanManagerModel>) =>
    model.plans.filter((plan) => plan.steps.find((step) => step.status !== 'completed')?.type === 'user_input');
  check = (model: Readonly<PlanManagerModel>) => AskQuestion.candidates(model).length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const candidates = AskQuestion.candidates(model);
    const plan = candidates[this.pick % candidates.length]!;
    const index = plan.steps.findIndex((step) => step.status !== 'completed');
    const expected = expectStep(model, plan, index, 'in_progress', undefined);
    const stepId = (await system.manager.getPlan(plan.id)).steps[index]!.id;
    await runChecked(this.toString(), expected, model, system, () => system.manager.executeStep({ plan_id: plan.id, step_id: stepId, step_status: 'in_progress' }));
    if (expected === 'changed') applyStep(model, plan, index, 'in_progress', undefined);
    await compare(model, system);
  }
  toString = () => `askQuestion(#${this.pick})`;
}

/**
 * A person answers an instance's open question (`manager.answer`): the same as completing its
 * user_input step with the answer; with no question open, NOT_FOUND; with several, a refusal.
 */
class Answer implements ModelCommand {
  constructor(readonly pick: number, readonly text: string) {}
  check = (model: Readonly<PlanManagerModel>) => model.instances.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const open = openQuestions(model, instance);
    // Several open questions (the runtime resumed a waiting instance, and another was asked): the answer must name its step.
    const expected = open.length === 0 ? 'NOT_FOUND' : open.length > 1 ? 'VALIDATION_ERROR' : expectStep(model, open[0]!.plan, open[0]!.index, 'completed', this.text);
    await runChecked(this.toString(), expected, model, system, () => system.manager.answer(instance.id, this.text));
    if (expected === 'changed') applyStep(model, open[0]!.plan, open[0]!.index, 'completed', this.text);
    await compare(model, system);
  }
  toString = () => `answer(#${this.pick}, ${JSON.stringify(this.text)})`;
}

/** The inbox: `listInstances({ needs_input: true })` lists exactly the waiting instances. */
class ListInbox implements ModelCommand {
  check = () => true;
  async run(model: PlanManagerModel, { manager }: PlanManagerSystem) {
    const waiting = model.instances.filter((instance) => instance.status === 'waiting').map((instance) => instance.id).sort();
    const { instances, total } = await manager.listInstances({ needs_input: true, limit: 100 });
    agree(`${this.toString()} total`, total, waiting.length);
    agree(`${this.toString()} ids`, instances.map((instance) => instance.id).sort(), waiting);
  }
  toString = () => 'listInbox()';
}

class UpdatePlan implements ModelCommand {
  constructor(
    readonly pick: number,
    readonly append: number,
    readonly to: PlanStatus | undefined,
    readonly summary: string | null | undefined,
    readonly title: string | undefined,
  ) {}
  check = (model: Readonly<PlanManagerModel>) => model.plans.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const plan = model.plans[this.pick % model.plans.length]!;
    const appended = Array.from({ length: this.append }, (_, i) => ({ title: `added ${plan.steps.length + i + 1}`, type: 'process' as const }));
    const steps: ModelStep[] = [
      ...plan.steps,
      ...appended.map((step) => ({ title: step.title, type: step.type, status: 'pending' as const, attempts: 0, output: null })),
    ];
    let status = plan.status;
    let reopened = false;
    let expected: Outcome | undefined;
    if (appended.length > 0) {
      if (planLogic.edges(status, 'appendSteps').length === 0) expected = 'PLAN_CLOSED';
      else if (status === 'completed' || status === 'failed') {
        status = 'in_progress';
        reopened = true;
        if (this.to !== undefined && this.to !== status) expected = 'INVALID_TRANSITION';
      }
    }
    if (!expected && this.to !== undefined && this.to !== status) {
      const summaryGiven = typeof this.summary === 'string' && this.summary.trim() !== '';
      if (!can(planLogic, status, this.to)) expected = 'INVALID_TRANSITION';
      else if (this.to === 'completed' && steps.some((step) => step.status !== 'completed')) expected = 'INVALID_TRANSITION';
      else if (this.to === 'completed' && !summaryGiven) expected = 'VALIDATION_ERROR';
      else {
        reopened ||= status === 'completed' || status === 'failed';
        status = this.to;
      }
    }
    if (!expected && planLogic.isFinal(plan.status) && (this.title !== undefined || this.summary !== undefined)) expected = 'PLAN_CLOSED';
    const summary = this.summary !== undefined ? this.summary : reopened ? null : plan.summary;
    if (!expected && status === 'completed' && (summary === null || summary.trim() === '')) expected = 'VALIDATION_ERROR';
    const title = this.title ?? plan.title;
    expected ??= appended.length > 0 || status !== plan.status || summary !== plan.summary || title !== plan.title ? 'changed' : 'unchanged';

    const input = {
      plan_id: plan.id,
      ...(appended.length > 0 ? { steps: appended } : {}),
      ...(this.to !== undefined ? { status: this.to } : {}),
      ...(this.summary !== undefined ? { summary: this.summary } : {}),
      ...(this.title !== undefined ? { title: this.title } : {}),
    };
    await runChecked(this.toString(), expected, model, system, () => system.manager.updatePlan(input));
    if (expected === 'changed') {
      // A plan given up withdraws its open question: a waiting instance with no other open goes back to running.
      const instance = model.instances.find((candidate) => candidate.id === plan.instanceId);
      const givenUp = (of: PlanStatus) => of === 'cancelled' || of === 'failed';
      const asked = !givenUp(plan.status) && plan.steps.some((step) => step.type === 'user_input' && step.status === 'in_progress');
      Object.assign(plan, { steps, status, summary, title, version: plan.version + 1 });
      if (asked && givenUp(status) && instance?.status === 'waiting' && openQuestions(model, instance).length === 0) {
        Object.assign(instance, { status: 'running', reason: null, version: instance.version + 1 });
      }
    }
    await compare(model, system);
  }
  toString = () =>
    `updatePlan(#${this.pick}, append ${this.append}, status ${this.to}, summary ${JSON.stringify(this.summary)}, title ${JSON.stringify(this.title)})`;
}

class ListPlans implements ModelCommand {
  constructor(readonly pick: number, readonly status: PlanStatus | undefined, readonly limit: number) {}
  check = (model: Readonly<PlanManagerModel>) => model.instances.length > 0;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const instance = model.instances[this.pick % model.instances.length]!;
    const matching = model.plans.filter((plan) => plan.instanceId === instance.id && (this.status === undefined || plan.status === this.status));
    const { plans, total } = await system.manager.listPlans({
      instance_id: instance.id,
      ...(this.status !== undefined ? { status: this.status } : {}),
      limit: this.limit,
    });
    agree(`${this.toString()} total`, total, matching.length);
    agree(`${this.toString()} page size`, plans.length, Math.min(this.limit, matching.length));
    const ids = new Set(matching.map((plan) => plan.id));
    if (!plans.every((plan) => ids.has(plan.id))) throw new ModelMismatch(`${this.toString()}: listed a plan that does not match`);
    for (let i = 1; i < plans.length; i++) {
      if (plans[i - 1]!.created_at < plans[i]!.created_at) throw new ModelMismatch(`${this.toString()}: not newest first`);
    }
  }
  toString = () => `listPlans(#${this.pick}, ${this.status}, limit ${this.limit})`;
}

/**
 * The process dies between two commits and starts again: a new manager over the same store
 * finds exactly what was committed (nothing of a manager is kept but the store).
 */
class Restart implements ModelCommand {
  check = () => true;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    if (system.adapter) system.manager = await (system.open ?? ((adapter) => new PlanManager({ adapter })))(system.adapter);
    await compare(model, system);
  }
  toString = () => 'restart()';
}

/** The store is copied (`copyStore`) to a new memory adapter, and the run goes on with the copy. */
class CopyAndContinue implements ModelCommand {
  check = () => true;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    if (system.adapter) {
      const copy = memoryAdapter();
      await copyStore(system.adapter, copy);
      system.adapter = copy;
      system.manager = await (system.open ?? ((adapter) => new PlanManager({ adapter })))(copy);
    }
    await compare(model, system);
    const broken = await violations(model, system);
    if (broken.length > 0) throw new ModelMismatch(`${this.toString()}: invariants broken on the copy: ${JSON.stringify(broken)}`);
  }
  toString = () => 'copyAndContinue()';
}

/** What `recover()` writes into an interrupted step (no lease: no holder to name). */
const INTERRUPTED = 'Interrupted: the process running it stopped before reporting a result. Execute the step again to retry it.';

/**
 * A restart of a runtime without leases: `recover()` fails every step left in_progress in the
 * plans of non-terminal instances (cancelled plans are final), one change per plan; a question
 * (a user_input step in progress) waits for a person, not for the process, and stays open.
 */
class Recover implements ModelCommand {
  check = () => true;
  async run(model: PlanManagerModel, system: PlanManagerSystem) {
    const open = new Set(model.instances.filter((instance) => !instanceLogic.isFinal(instance.status)).map((instance) => instance.id));
    const interrupted = (step: ModelStep) => step.status === 'in_progress' && step.type !== 'user_input';
    const settled = model.plans.filter((plan) => open.has(plan.instanceId) && !planLogic.isFinal(plan.status) && plan.steps.some(interrupted));
    let answered: { steps: { plan_id: string; status: string }[] }[] = [];
    await runChecked(this.toString(), settled.length > 0 ? 'changed' : 'unchanged', model, system, async () => {
      answered = await system.manager.recover();
    });
    const expected = settled.flatMap((plan) => plan.steps.filter(interrupted).map(() => plan.id)).sort();
    agree(`${this.toString()} steps recovered`, answered.flatMap((recovery) => recovery.steps.map((step) => step.plan_id)).sort(), expected);
    for (const plan of settled) {
      for (const step of plan.steps) {
        if (!interrupted(step)) continue;
        step.status = 'failed';
        step.output = INTERRUPTED;
      }
      plan.version += 1;
    }
    await compare(model, system);
  }
  toString = () => 'recover()';
}

const STEP_TYPES: StepType[] = ['tool_call', 'process', 'review', 'discussion', 'user_input'];

/**
 * The command arbitraries for `fc.commands`: random moves of every kind, plus commands that
 * drive plans forward the way an agent does (execute the next step, finish with a summary),
 * so that sequences reach completed, reopened and closed plans.
 */
export function planManagerCommands(): fc.Arbitrary<ModelCommand>[] {
  const instanceStatus = fc.constantFrom(...(instanceLogic.states as InstanceStatus[]));
  const planStatus = fc.constantFrom(...(planLogic.states as PlanStatus[]));
  const stepStatus = fc.constantFrom(...(stepLogic.states as StepStatus[]));
  const progress = [
    fc
      .tuple(fc.nat(), fc.constantFrom<StepStatus>('in_progress', 'completed', 'completed', 'failed'))
      .map(([plan, to]): ModelCommand => new ExecuteStep(plan, undefined, to, 'ok')),
    fc.nat().map((pick): ModelCommand => new UpdatePlan(pick, 0, 'completed', 'done', undefined)),
    // The runtime starts its agents, and agents ask people: so questions, waits and answers are reached often.
    fc.nat().map((pick): ModelCommand => new TransitionInstance(pick, 'running')),
    fc
      .tuple(fc.nat(), fc.array(fc.constantFrom<StepType>('user_input', 'process'), { minLength: 1, maxLength: 3 }), fc.constantFrom('strict' as const, 'free' as const))
      .map(([pick, types, ordering]): ModelCommand => new CreatePlan(pick, types, ordering)),
    fc.nat().map((pick): ModelCommand => new Answer(pick, 'yes')),
    fc.nat().map((pick): ModelCommand => new AskQuestion(pick)),
    fc
      .tuple(fc.nat(), fc.constantFrom<string | null>('', '  ', null, 'revised'), fc.option(fc.constant<PlanStatus>('completed'), { nil: undefined }))
      .map(([pick, summary, to]): ModelCommand => new UpdatePlan(pick, 0, to, summary, undefined)),
  ];
  return [
    ...progress,
    ...progress,
    fc
      .tuple(
        fc.constantFrom('researcher', 'writer'),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
        fc.option(fc.integer({ min: 1, max: 8_000 }), { nil: null }),
      )
      .map(([agent, turns, tokens]): ModelCommand => new CreateInstance(agent, turns, tokens)),
    fc
      .tuple(
        fc.nat(),
        fc.option(fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }), { nil: undefined }),
        fc.option(fc.option(fc.integer({ min: 1, max: 12_000 }), { nil: null }), { nil: undefined }),
      )
      .map(([pick, turns, tokens]): ModelCommand => new SetBudget(pick, turns, tokens)),
    fc.tuple(fc.nat(), fc.constantFrom('yes', 'the 9:40 train')).map(([pick, text]): ModelCommand => new Answer(pick, text)),
    fc.constant<ModelCommand>(new ListInbox()),
    fc
      .tuple(fc.nat(), fc.oneof(fc.constant<InstanceStatus>('running'), instanceStatus))
      .map(([pick, to]): ModelCommand => new TransitionInstance(pick, to)),
    fc.tuple(fc.nat(), fc.nat({ max: 5_000 })).map(([pick, tokens]): ModelCommand => new RecordTurn(pick, tokens)),
    fc
      .tuple(fc.nat(), fc.array(fc.constantFrom(...STEP_TYPES), { maxLength: 3 }), fc.constantFrom('strict' as const, 'free' as const))
      .map(([pick, types, ordering]): ModelCommand => new CreatePlan(pick, types, ordering)),
    fc
      .tuple(
        fc.nat(),
        fc.option(fc.nat(), { nil: undefined, freq: 2 }),
        fc.oneof(fc.constant<StepStatus>('completed'), stepStatus),
        fc.option(fc.constantFrom('ok', 'boom', ''), { nil: undefined, freq: 5 }),
      )
      .map(([plan, step, to, output]): ModelCommand => new ExecuteStep(plan, step, to, output)),
    fc
      .tuple(
        fc.nat(),
        fc.nat({ max: 2 }),
        fc.option(fc.oneof(fc.constant<PlanStatus>('completed'), planStatus), { nil: undefined }),
        fc.option(fc.oneof(fc.constant('done'), fc.constantFrom<string | null>('done', '  ', '', null)), { nil: undefined }),
        fc.option(fc.constantFrom('plan', 'renamed'), { nil: undefined }),
      )
      .map(([pick, append, to, summary, title]): ModelCommand => new UpdatePlan(pick, append, to, summary, title)),
    fc
      .tuple(fc.nat(), fc.option(planStatus, { nil: undefined }), fc.integer({ min: 1, max: 3 }))
      .map(([pick, status, limit]): ModelCommand => new ListPlans(pick, status, limit)),
    fc.constant<ModelCommand>(new Restart()),
    fc.constant<ModelCommand>(new Recover()),
    fc.constant<ModelCommand>(new CopyAndContinue()),
  ];
}

/**
 * Runs one command sequence against a fresh manager from `createManager` and a fresh model. With
 * `options.adapter` (the store that manager uses), the sequence also restarts the manager between
 * commits and copies the store to go on with the copy.
 */
export async function runPlanManagerModel(
  createManager: () => PlanManager | Promise<PlanManager>,
  commands: Iterable<ModelCommand>,
  options: ModelOptions | (() => ModelOptions) = {},
): Promise<void> {
  await fc.asyncModelRun(async () => {
    const manager = await createManager();
    // Read after createManager: a factory may make the store there.
    const { adapter, open } = typeof options === 'function' ? options() : options;
    const real: PlanManagerSystem = { manager };
    if (adapter) real.adapter = adapter;
    if (open) real.open = open;
    return { model: { instances: [], plans: [] } as PlanManagerModel, real };
  }, commands);
}
