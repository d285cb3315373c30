import { isModified, type Draft } from 'immer';
import { INDEXED_FIELDS, type HistoryEvent } from '../adapters/contract';
import { applyEdge } from '../machines/effects';
import { instanceLogic } from '../machines/instance';
import type { Edge } from '../machines/lookup';
import { planEffects, planLogic, type PlanEvent } from '../machines/plan';
import { fieldError, instanceClosed, invalidTransition, notFound, planClosed, refusedPlanMove } from '../refusals';
import type { CreatePlanInput, ListPlansInput, StepInput, UpdatePlanInput } from '../schemas/inputs';
import { LIST_DEFAULT_LIMIT } from '../schemas/limits';
import type { Instance, Plan, Step } from '../schemas/records';
import type { PlanStatus } from '../schemas/enums';
import { deepFreeze } from '../adapters/freeze';
import { mutate, type Mutation } from './mutate';
import { produceFrozen } from './produce';
import { read } from './reader';
import { carryStepIndex } from './step-index';
import { hasPlanText, nextPlanText, planText } from './plan-text';
import type { ManagerContext } from './context';
import { creationChanges, historyEvent } from './history';
import { instanceInScope } from '../adapters/in-scope';
import { scopedField, visiblePlan } from './scope';
import { parseInput } from './validate';
import { changeInstance } from './instances';
import { asks, questionIn } from './open-question';
import { needQuestions, stopWaiting, withOpenQuestions, type OpenQuestions } from './human-input';
import type { Reader } from './reader';

export async function createPlan(context: ManagerContext, input: CreatePlanInput): Promise<Plan> {
  return createParsedPlan(context, parseInput(context.schemas.createPlan, input, 'createPlan input'));
}

/** `createPlan` of input parsed already (the tool's own schema checked it: a second parse of a large plan would cost as much again). */
export async function createParsedPlan(context: ManagerContext, data: CreatePlanInput): Promise<Plan> {
  const site = scopedField(context.scope, 'site_id', data.site_id);
  const user = scopedField(context.scope, 'user_id', data.user_id);
  const instance = await context.reader.instance(data.instance_id);
  if (instance && !instanceInScope(context.scope, instance)) throw notFound('instance', data.instance_id);
  // With an organization in scope, a plan's instance must be known, or nobody could see the plan.
  if (!instance && context.scope.organization_id !== undefined) throw notFound('instance', data.instance_id);
  assertInstanceOpen(instance);
  return mutate(context, async () => {
    const now = context.now();
    const plan: Plan = deepFreeze({
      id: context.newId(),
      instance_id: data.instance_id,
      site_id: site,
      user_id: user,
      agent_id: data.agent_id ?? null,
      title: data.title,
      description: data.description ?? null,
      plan_type: data.plan_type ?? 'objective',
      ordering: data.ordering ?? 'strict',
      status: planLogic.initial,
      steps: data.steps.map((step) => newStep(context, step)),
      summary: null,
      created_at: now,
      updated_at: now,
      version: 1,
    });
    checkPlanText(context, planText(plan), 'steps');
    return {
      writes: [{ kind: 'plan', record: plan, expected_version: null }],
      events: [historyEvent(plan, 'plan', 'plan.created', null, creationChanges(plan), now)],
      result: plan,
    };
  });
}

export async function getPlan(context: ManagerContext, id: string): Promise<Plan> {
  return visiblePlan(context, parseInput(context.schemas.id, id, 'plan id'));
}

export async function listPlans(context: ManagerContext, input: ListPlansInput = {}): Promise<{ plans: Plan[]; total: number }> {
  const data = parseInput(context.schemas.listPlans, input, 'listPlans input');
  const { scope } = context;
  const where: Partial<Record<(typeof INDEXED_FIELDS.plan)[number], string>> = {};
  for (const field of INDEXED_FIELDS.plan) {
    const value = data[field];
    if (value !== undefined) where[field] = value;
  }
  for (const field of ['site_id', 'user_id'] as const) {
    const scoped = scope[field];
    if (scoped === undefined) continue;
    // A filter for another site or user than the scope's matches nothing the manager may show.
    if (where[field] !== undefined && where[field] !== scoped) return { plans: [], total: 0 };
    where[field] = scoped;
  }
  if (scope.organization_id !== undefined) {
    if (where.instance_id === undefined) {
      throw fieldError(
        ['instance_id'],
        'is required: this manager is scoped to an organization, so plans are listed per instance',
      );
    }
    const instance = await context.reader.instance(where.instance_id);
    if (!instance || !instanceInScope(scope, instance)) return { plans: [], total: 0 };
  }
  const { records, total } = await read('list', () =>
    context.adapter.list('plan', { where, limit: data.limit ?? LIST_DEFAULT_LIMIT, offset: data.offset ?? 0 }),
  );
  return { plans: records.map(deepFreeze), total };
}

/**
 * Changes title/description, appends steps and moves the status along the plan machine.
 * Appending to a completed or failed plan reopens it (the machine's `appendSteps` edge).
 * A request that changes nothing succeeds without a write.
 */
export async function updatePlan(context: ManagerContext, input: UpdatePlanInput): Promise<Plan> {
  return updateParsedPlan(context, parseInput(context.schemas.updatePlan, input, 'updatePlan input'));
}

/** `updatePlan` of input parsed already (by the tool's schema). */
export async function updateParsedPlan(context: ManagerContext, data: UpdatePlanInput): Promise<Plan> {
  // Giving up a plan that asks a question reads the instance's other questions (see below).
  return withOpenQuestions(context, (questions) => mutate(context, (reader) => updateAttempt(context, data, reader, questions)));
}

async function updateAttempt(context: ManagerContext, data: UpdatePlanInput, reader: Reader, questions: OpenQuestions): Promise<Mutation<Plan>> {
  const plan = await visiblePlan(context, data.plan_id, reader);
  const now = context.now();
  const newSteps = (data.steps ?? []).map((step) => newStep(context, step));
  if (plan.steps.length + newSteps.length > context.limits.maxSteps) {
    throw fieldError(
      ['steps'],
      `would give the plan ${plan.steps.length + newSteps.length} steps; at most ${context.limits.maxSteps} are allowed (the maxSteps limit)`,
    );
  }
  // The edges this update takes, in order, each with the event that takes it.
  const moves: [Edge, PlanEvent][] = [];
  let status: PlanStatus = plan.status;
  if (newSteps.length > 0) {
    const edge = planLogic.resolve(status, { type: 'appendSteps' });
    if (!edge) throw planClosed(plan, 'add steps to', 'appendSteps');
    moves.push([edge, { type: 'appendSteps', steps: newSteps }]);
    if (edge.target) status = edge.target as PlanStatus;
    // One committed change is one edge: a reopened plan takes another status in a later update.
    if (edge.target && data.status !== undefined && data.status !== status) {
      throw invalidTransition('plan', plan.id, plan.status, data.status, planLogic.targets(plan.status), {
        reason: `adding steps reopens the plan to "${status}"; ask for "${data.status}" in a separate update`,
      });
    }
  }
  const steps = newSteps.length > 0 ? [...plan.steps, ...newSteps] : plan.steps;
  if (data.status !== undefined && data.status !== status) {
    const event = { type: data.status, summary: data.summary } as PlanEvent;
    const edge = planLogic.resolve(status, event, { steps });
    if (!edge) throw refusedPlanMove(plan, status, data.status, steps);
    moves.push([edge, event]);
    status = data.status;
  }
  if (planLogic.isFinal(plan.status) && (data.title !== undefined || data.description !== undefined || data.summary !== undefined)) {
    throw planClosed(plan, 'change');
  }
  const mutation = planMutation(
    context,
    plan,
    (draft) => {
      for (const [edge, event] of moves) applyEdge(planEffects, edge, draft, event);
      if (data.title !== undefined) draft.title = data.title;
      if (data.description !== undefined) draft.description = data.description;
      if (data.summary !== undefined) draft.summary = data.summary;
    },
    now,
    'plan.updated',
    undefined,
    newSteps.length > 0 ? 'steps' : data.description !== undefined ? 'description' : data.summary !== undefined ? 'summary' : 'title',
  );
  const next = mutation.result;
  carryStepIndex(plan.steps, next.steps);
  if (next.status === 'completed' && (next.summary === null || next.summary.trim() === '')) {
    throw fieldError(['summary'], 'is required: a completed plan keeps a non-empty summary');
  }
  // A plan given up (cancelled, failed) withdraws its open question: an instance waiting with
  // no other question open goes back to running, in the same commit.
  if (questionIn(plan) && !asks(next)) {
    const instance = await reader.instance(plan.instance_id);
    if (instance?.status === 'waiting') {
      const others = questions ?? needQuestions(plan.instance_id, { except: plan.id });
      if (others.length === 0) {
        const withdrawn = changeInstance(context, instance, 'instance.transitioned', [stopWaiting()], now);
        mutation.writes.push(...withdrawn.writes);
        mutation.events.push(...withdrawn.events);
      }
    }
  }
  return mutation;
}

/**
 * The next version of a plan and its event, produced by one immer pass: `recipe` makes the
 * change; when it changed anything, the same pass stamps `updated_at` and `version`. A recipe
 * that changes nothing gives no writes (a no-op success).
 */
export function planMutation(
  context: ManagerContext,
  plan: Plan,
  recipe: (draft: Draft<Plan>) => void,
  now: string,
  type: 'plan.updated' | 'plan.step_executed' | 'plan.recovered',
  about?: Pick<HistoryEvent, 'step' | 'recovery'>,
  /** The input field named when the change would take the plan past `maxPlanTextLength` (none: the change cannot grow it). */
  grows?: string,
): Mutation<Plan> {
  const [next, changes] = produceFrozen(context.immer, plan, (draft) => {
    recipe(draft);
    if (isModified(draft)) {
      draft.updated_at = now;
      draft.version = plan.version + 1;
    }
  });
  if (changes.length === 0) return { writes: [], events: [], result: plan };
  if (grows !== undefined) checkPlanText(context, nextPlanText(plan, next, changes), grows, planText(plan));
  // A change that cannot add text still carries a known total along (O(what changed)), so the next one finds it.
  else if (hasPlanText(plan)) nextPlanText(plan, next, changes);
  return {
    writes: [{ kind: 'plan', record: next, expected_version: plan.version }],
    events: [historyEvent(next, 'plan', type, plan.status, changes, now, about)],
    result: next,
  };
}

/**
 * Refuses a change that takes a plan's text past `maxPlanTextLength`, naming the field that
 * brought it there. A change that does not add text passes (a plan over a limit lowered since
 * can still shrink, complete and be read).
 */
function checkPlanText(context: ManagerContext, total: number, field: string, before = 0): void {
  const limit = context.limits.maxPlanTextLength;
  if (total > limit && total > before) {
    throw fieldError([field], `would give the plan ${total} characters of text in all; at most ${limit} are allowed (the maxPlanTextLength limit): keep outputs and descriptions shorter, or start another plan`);
  }
}

function newStep(context: ManagerContext, input: StepInput): Step {
  return {
    id: context.newId(),
    title: input.title,
    type: input.type,
    description: input.description ?? null,
    status: 'pending',
    output: null,
    attempts: 0,
    started_at: null,
    completed_at: null,
    // The parse made `details` a copy already (zod's json schema copies every object and array),
    // and measured it as JSON: kept as it is, the measure counts toward maxPlanTextLength too.
    details: input.details ?? {},
  };
}

/** A plan whose instance is terminal takes no more work (an instance the store does not hold: no check). */
export function assertInstanceOpen(instance: Instance | undefined): void {
  if (instance && instanceLogic.isFinal(instance.status)) throw instanceClosed(instance);
}
