import type { Draft } from 'immer';
import { INDEXED_FIELDS } from '../adapters/contract';
import { applyEdge } from '../machines/effects';
import type { Edge } from '../machines/lookup';
import { instanceEffects, instanceLogic, type InstanceEvent } from '../machines/instance';
import type { CreateInstanceInput, ListInstancesInput, RecordTurnInput, SetBudgetInput, TransitionInstanceInput } from '../schemas/inputs';
import { LIST_DEFAULT_LIMIT } from '../schemas/limits';
import type { Instance } from '../schemas/records';
import { deepFreeze } from '../adapters/freeze';
import { mutate, type Mutation } from './mutate';
import { produceFrozen } from './produce';
import { read } from './reader';
import type { ManagerContext } from './context';
import { creationChanges, historyEvent } from './history';
import { scopedField, visibleInstance } from './scope';
import { actionNotAllowed, budgetExceeded, fieldError, invalidTransition, questionStillOpen } from '../refusals';
import { needQuestions, withOpenQuestions } from './human-input';
import { exhaustedBudget } from './budget';
import { parseInput } from './validate';

/** The states of the instance machine that handle `event`: where an action is allowed. */
const statesHandling = (event: string) => instanceLogic.states.filter((state) => instanceLogic.edges(state, event).length > 0);

export async function createInstance(context: ManagerContext, input: CreateInstanceInput): Promise<Instance> {
  const data = parseInput(context.schemas.createInstance, input, 'createInstance input');
  const organization = scopedField(context.scope, 'organization_id', data.organization_id);
  if (organization === null) throw fieldError(['organization_id'], 'is required (string)');
  return mutate(context, async () => {
    const now = context.now();
    const instance: Instance = deepFreeze({
      id: context.newId(),
      organization_id: organization,
      agent_type_id: data.agent_type_id,
      task_id: data.task_id ?? null,
      status: instanceLogic.initial,
      status_reason: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      ended_at: null,
      turn_count: 0,
      tokens_total: 0,
      max_turns: data.max_turns ?? null,
      max_tokens: data.max_tokens ?? null,
      needs_input: false,
      current_step: null,
      last_action_at: null,
      session_id: data.session_id ?? null,
      version: 1,
    });
    return {
      writes: [{ kind: 'instance', record: instance, expected_version: null }],
      events: [historyEvent(instance, 'instance', 'instance.created', null, creationChanges(instance), now)],
      result: instance,
    };
  });
}

export async function getInstance(context: ManagerContext, id: string): Promise<Instance> {
  return visibleInstance(context, parseInput(context.schemas.id, id, 'instance id'));
}

export async function listInstances(
  context: ManagerContext,
  input: ListInstancesInput = {},
): Promise<{ instances: Instance[]; total: number }> {
  const data = parseInput(context.schemas.listInstances, input, 'listInstances input');
  const where: Partial<Record<(typeof INDEXED_FIELDS.instance)[number], string>> = {};
  if (data.status !== undefined) where.status = data.status;
  // needs_input is true exactly while waiting, so the inbox is the status index's "waiting";
  // false is every other status, which one index cannot list: it takes a status beside it.
  if (data.needs_input === true) {
    if (data.status !== undefined && data.status !== 'waiting') return { instances: [], total: 0 };
    where.status = 'waiting';
  } else if (data.needs_input === false) {
    if (data.status === undefined) {
      throw fieldError(['needs_input'], 'may be false only beside a status (every status but "waiting" has needs_input false); true lists the instances waiting for input');
    }
    if (data.status === 'waiting') return { instances: [], total: 0 };
  }
  if (data.agent_type_id !== undefined) where.agent_type_id = data.agent_type_id;
  if (data.task_id !== undefined) where.task_id = data.task_id;
  if (context.scope.organization_id !== undefined) where.organization_id = context.scope.organization_id;
  const { records, total } = await read('list', () =>
    context.adapter.list('instance', { where, limit: data.limit ?? LIST_DEFAULT_LIMIT, offset: data.offset ?? 0 }),
  );
  return { instances: records.map(deepFreeze), total };
}

/**
 * Moves an instance to `status` along the lifecycle machine. Asking for the status it already
 * has succeeds and changes nothing (a safe retry).
 */
export async function transitionInstance(context: ManagerContext, id: string, input: TransitionInstanceInput): Promise<Instance> {
  const instanceId = parseInput(context.schemas.id, id, 'instance id');
  const { status: to } = parseInput(context.schemas.transitionInstance, input, 'transition input');
  // Resuming a paused instance looks for an open question first: it resumes to waiting, not running.
  return withOpenQuestions(context, (questions) =>
    mutate(context, async (reader) => {
      const instance = await visibleInstance(context, instanceId, reader);
      const from = instance.status;
      if (from === to) return { writes: [], events: [], result: instance };
      const edge = instanceLogic.resolve(from, { type: to });
      if (edge?.target !== to) throw invalidTransition('instance', instanceId, from, to, instanceLogic.targets(from));
      // An instance over its budget stays out of the states that spend it until the budget is raised.
      const use = (to === 'running' || to === 'waiting') && exhaustedBudget(instance);
      if (use) throw budgetExceeded(instance, use, `move the instance to "${to}"`);
      if (from === 'paused' && to === 'running') {
        const [open] = questions ?? needQuestions(instanceId);
        if (open) throw questionStillOpen(instance, to, open);
      }
      return changeInstance(context, instance, 'instance.transitioned', [[edge, { type: to }]]);
    }),
  );
}

/** Counts one LLM turn and its tokens; allowed in the states whose machine node handles `recordTurn`. */
export async function recordTurn(context: ManagerContext, id: string, input: RecordTurnInput): Promise<Instance> {
  const instanceId = parseInput(context.schemas.id, id, 'instance id');
  const { tokens } = parseInput(context.schemas.recordTurn, input, 'recordTurn input');
  return mutate(context, async (reader) => {
    const instance = await visibleInstance(context, instanceId, reader);
    const edge = instanceLogic.resolve(instance.status, { type: 'recordTurn' });
    if (!edge) {
      throw actionNotAllowed('instance', instanceId, instance.status, 'record a turn', statesHandling('recordTurn'));
    }
    if (instance.tokens_total + tokens > Number.MAX_SAFE_INTEGER) {
      throw fieldError(
        ['tokens'],
        `would bring tokens_total to ${instance.tokens_total + tokens}, past the largest exact integer (${Number.MAX_SAFE_INTEGER})`,
      );
    }
    return changeInstance(context, instance, 'instance.turn_recorded', [[edge, { type: 'recordTurn', tokens }]]);
  });
}

/**
 * Sets the instance's budgets (`max_turns`, `max_tokens`; null: no limit; a field left out keeps
 * its limit). A budget at or below what the instance has used pauses a running or waiting
 * instance in the same commit, as a turn reaching it would.
 */
export async function setBudget(context: ManagerContext, id: string, input: SetBudgetInput): Promise<Instance> {
  const instanceId = parseInput(context.schemas.id, id, 'instance id');
  const budget = parseInput(context.schemas.setBudget, input, 'setBudget input');
  return mutate(context, async (reader) => {
    const instance = await visibleInstance(context, instanceId, reader);
    const edge = instanceLogic.resolve(instance.status, { type: 'setBudget' });
    if (!edge) throw actionNotAllowed('instance', instanceId, instance.status, 'set a budget', statesHandling('setBudget'));
    const unchanged =
      (budget.max_turns === undefined || budget.max_turns === instance.max_turns) &&
      (budget.max_tokens === undefined || budget.max_tokens === instance.max_tokens);
    if (unchanged) return { writes: [], events: [], result: instance };
    return changeInstance(context, instance, 'instance.budget_set', [[edge, { type: 'setBudget', ...budget }]]);
  });
}

/** Sets what the instance is doing now (free text, or null); not allowed once it is terminal. */
export async function setCurrentStep(context: ManagerContext, id: string, text: string | null): Promise<Instance> {
  const instanceId = parseInput(context.schemas.id, id, 'instance id');
  const currentStep = parseInput(context.schemas.currentStep, text, 'current step');
  return mutate(context, async (reader) => {
    const instance = await visibleInstance(context, instanceId, reader);
    return currentStepMutation(context, instance, currentStep);
  });
}

/** The writes that set `current_step`, or a refusal when the instance's state does not allow it. */
export function currentStepMutation(context: ManagerContext, instance: Instance, text: string | null, now = context.now()): Mutation<Instance> {
  const edge = instanceLogic.resolve(instance.status, { type: 'setCurrentStep' });
  if (!edge) {
    throw actionNotAllowed('instance', instance.id, instance.status, 'set the current step', statesHandling('setCurrentStep'));
  }
  if (instance.current_step === text) return { writes: [], events: [], result: instance };
  return changeInstance(context, instance, 'instance.current_step_set', [[edge, { type: 'setCurrentStep', text }]], now);
}

/** One move of an instance: the lifecycle edge and the event that takes it. */
export type InstanceMove = readonly [Edge, InstanceEvent];

/**
 * Produces the next version of an instance with immer: the lifecycle edges are taken in order
 * with their effects, and every change moves the timestamps. A running or waiting instance that
 * the change leaves at a budget moves on to `paused` (reason `budget_exhausted`) in the same
 * version: a turn is always recorded, and the budget stops what comes after it. Returns the write
 * and its event.
 */
export function changeInstance(
  context: ManagerContext,
  instance: Instance,
  type: 'instance.transitioned' | 'instance.turn_recorded' | 'instance.current_step_set' | 'instance.budget_set',
  moves: readonly InstanceMove[],
  now = context.now(),
): Mutation<Instance> {
  const [next, patches] = produceFrozen(context.immer, instance, (draft: Draft<Instance>) => {
    for (const [edge, event] of moves) applyEdge(instanceEffects, edge, draft, { ...event, at: now });
    if ((draft.status === 'running' || draft.status === 'waiting') && exhaustedBudget(draft)) {
      applyEdge(instanceEffects, instanceLogic.resolve(draft.status, { type: 'paused' })!, draft, { type: 'paused', reason: 'budget_exhausted', at: now });
    }
    draft.updated_at = now;
    draft.last_action_at = now;
    draft.version = instance.version + 1;
  });
  return {
    writes: [{ kind: 'instance', record: next, expected_version: instance.version }],
    events: [historyEvent(next, 'instance', type, instance.status, patches, now)],
    result: next,
  };
}
