import { applyPatches, enablePatches, type Objectish } from 'immer';
import type { HistoryEvent, StorageAdapter } from '../adapters/contract';
import { cloneJson } from '../adapters/clone';
import { instanceLogic, planLogic, stepLogic, type CompiledMachine } from '../machines';
import { replay } from '../manager/history';
import { exhaustedBudget } from '../manager/budget';
import { canonicalJson } from '../stores/canonical';
import type { PlanManager } from '../manager/plan-manager';
import type { Instance, Plan, RecordKind, StoredRecord } from '../schemas/records';

/** One broken rule: which invariant (1-4, as docs/testing.md numbers them), on which record, and what was seen. */
export interface InvariantViolation {
  rule: 1 | 2 | 3 | 4;
  kind: RecordKind;
  id: string;
  message: string;
}

/**
 * Checks one record against the invariants 1-4 (docs/testing.md), using its whole history: every
 * intermediate state is rebuilt by replaying the events, so a rule broken on the way and
 * repaired later is still found. The tables are the machines'.
 *
 * @example
 * checkRecordInvariants('plan', await manager.getPlan(id), await manager.history(id)) // []
 */
export function checkRecordInvariants(kind: RecordKind, record: StoredRecord, events: readonly HistoryEvent[]): InvariantViolation[] {
  enablePatches();
  const violations: InvariantViolation[] = [];
  const fail = (rule: InvariantViolation['rule'], message: string) => violations.push({ rule, kind, id: record.id, message });

  // 4: one version per committed change, and the retained history (from the creation, or from a
  // snapshot where older events were dropped) replays to the stored record.
  const first = events[0]?.seq ?? 1;
  events.forEach((event, index) => {
    if (event.seq !== first + index) fail(4, `event #${index + 1} has seq ${event.seq}, after seq ${first + index - 1}`);
    if (event.record_id !== record.id) fail(4, `event #${index + 1} belongs to ${JSON.stringify(event.record_id)}`);
  });
  if (first !== 1 && events[0]!.snapshot === undefined) {
    fail(4, `the history starts at seq ${first} without a snapshot: events were dropped and nothing replays from there`);
    // The states along the way cannot be rebuilt from such a history: rule 4 is all there is to say.
    return violations;
  }
  if (record.version !== first + events.length - 1) fail(4, `version is ${record.version} after events ${first} to ${first + events.length - 1}`);
  if (canonical(replay(events)) !== canonical(record)) fail(4, 'replaying the history does not yield the stored record');

  const states: StoredRecord[] = [];
  let state: unknown;
  for (const [index, event] of events.entries()) {
    state = index === 0 && event.snapshot !== undefined ? cloneJson(event.snapshot) : applyPatches(state as Objectish, event.changes as Parameters<typeof applyPatches>[1]);
    states.push(cloneJson(state) as StoredRecord);
  }
  const logic: CompiledMachine<string> = kind === 'instance' ? instanceLogic : planLogic;

  // 1: every status change is an edge; terminal states never change.
  for (let i = 1; i < states.length; i++) {
    const before = states[i - 1]!;
    const after = states[i]!;
    if (logic.isFinal(before.status)) fail(1, `"${before.status}" is terminal but changed at event #${i + 1}`);
    else if (before.status !== after.status && !logic.targets(before.status).includes(after.status)) {
      fail(1, `status moved "${before.status}" -> "${after.status}" at event #${i + 1}: not an edge`);
    }
    if (kind === 'instance') checkInstanceStep(before as Instance, after as Instance, i + 1, fail);
    else checkPlanStep(before as Plan, after as Plan, i + 1, fail);
  }

  // 2 and 3: the facts that must hold in every state.
  // A history that starts at a snapshot (older events dropped) knows the past only from it.
  const start = events[0]?.snapshot as Instance | undefined;
  let everRunning = kind === 'instance' && start !== undefined && start.started_at !== null;
  for (const [index, snapshot] of states.entries()) {
    const at = `after event #${index + 1}`;
    if (kind === 'instance') {
      const instance = snapshot as Instance;
      everRunning ||= instance.status === 'running';
      const terminal = instanceLogic.isFinal(instance.status);
      if ((instance.ended_at !== null) !== terminal) fail(2, `ended_at is ${instance.ended_at} while "${instance.status}" (${at})`);
      if (instance.needs_input !== (instance.status === 'waiting')) fail(2, `needs_input is ${instance.needs_input} while "${instance.status}" (${at})`);
      if ((instance.started_at !== null) !== everRunning) fail(2, `started_at is ${instance.started_at}; ever running: ${everRunning} (${at})`);
      // Budgets and questions: a reason belongs to its status, and no active instance is over budget.
      if (instance.status_reason === 'awaiting_input' && instance.status !== 'waiting') fail(2, `status_reason awaiting_input while "${instance.status}" (${at})`);
      if (instance.status_reason === 'budget_exhausted' && instance.status !== 'paused') fail(2, `status_reason budget_exhausted while "${instance.status}" (${at})`);
      const over = exhaustedBudget(instance);
      if (over && (instance.status === 'running' || instance.status === 'waiting')) {
        fail(2, `"${instance.status}" with ${over.used} of ${over.limit} ${over.counter} used: over its budget (${at})`);
      }
    } else {
      checkPlanState(snapshot as Plan, at, fail);
    }
  }
  return violations;
}

function checkInstanceStep(before: Instance, after: Instance, event: number, fail: (rule: 2, message: string) => void): void {
  if (after.turn_count < before.turn_count || after.tokens_total < before.tokens_total) fail(2, `a counter decreased at event #${event}`);
  if (before.started_at !== null && after.started_at !== before.started_at) fail(2, `started_at changed at event #${event}`);
  // An instance paused for its budget has reached it (when paused: it may be raised later).
  const pausedForBudget = after.status_reason === 'budget_exhausted' && (before.status_reason !== 'budget_exhausted' || before.status !== 'paused');
  if (pausedForBudget && !exhaustedBudget(after)) fail(2, `paused for its budget at event #${event} without reaching it`);
}

function checkPlanStep(before: Plan, after: Plan, event: number, fail: (rule: 1 | 2 | 3, message: string) => void): void {
  before.steps.forEach((step, index) => {
    const next = after.steps[index];
    if (!next || next.id !== step.id) return fail(3, `step ${JSON.stringify(step.id)} was removed or moved at event #${event}`);
    if (next.status !== step.status && !stepLogic.targets(step.status).includes(next.status)) {
      fail(1, `step ${JSON.stringify(step.id)} moved "${step.status}" -> "${next.status}" at event #${event}: not an edge`);
    }
    if (next.attempts < step.attempts) fail(2, `step ${JSON.stringify(step.id)} attempts decreased at event #${event}`);
  });
}

function checkPlanState(plan: Plan, at: string, fail: (rule: 3, message: string) => void): void {
  if (plan.status === 'completed') {
    const open = plan.steps.find((step) => step.status !== 'completed');
    if (open) fail(3, `completed plan has step ${JSON.stringify(open.id)} "${open.status}" (${at})`);
    if (plan.summary === null || plan.summary.trim() === '') fail(3, `completed plan has no summary (${at})`);
  }
  if (plan.ordering !== 'strict') return;
  plan.steps.forEach((step, index) => {
    if (step.status !== 'in_progress' && step.status !== 'completed') return;
    const blocking = plan.steps.slice(0, index).find((earlier) => earlier.status !== 'completed');
    if (blocking) fail(3, `step ${JSON.stringify(step.id)} is "${step.status}" before step ${JSON.stringify(blocking.id)} is completed (${at})`);
  });
}

/**
 * Every violation in a store or in what a manager can see. With an adapter every record is
 * checked; with a manager, every instance it lists and their plans (a plan whose instance the
 * store does not hold is only reached through an adapter).
 *
 * @example
 * expect(await checkInvariants(adapter)).toEqual([])
 */
export async function checkInvariants(source: PlanManager | StorageAdapter): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = [];
  for await (const [kind, record, events] of recordsOf(source)) violations.push(...checkRecordInvariants(kind, record, events));
  return violations;
}

async function* recordsOf(source: PlanManager | StorageAdapter): AsyncGenerator<[RecordKind, StoredRecord, HistoryEvent[]]> {
  if ('commit' in source) {
    for (const kind of ['instance', 'plan'] as const) {
      for (let offset = 0; ; offset += PAGE) {
        const { records } = await source.list(kind, { where: {}, limit: PAGE, offset });
        for (const record of records) yield [kind, record, await source.history(record.id)];
        if (records.length < PAGE) break;
      }
    }
    return;
  }
  for (let offset = 0; ; offset += 100) {
    const { instances } = await source.listInstances({ limit: 100, offset });
    for (const instance of instances) {
      yield ['instance', instance, await source.history(instance.id)];
      for (let planOffset = 0; ; planOffset += 100) {
        const { plans } = await source.listPlans({ instance_id: instance.id, limit: 100, offset: planOffset });
        for (const plan of plans) yield ['plan', plan, await source.history(plan.id)];
        if (plans.length < 100) break;
      }
    }
    if (instances.length < 100) break;
  }
}

const PAGE = 500;

const canonical = canonicalJson;
