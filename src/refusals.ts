import { InstancePlanError, type ErrorCode } from './errors';
import { planLogic } from './machines/plan';
import { cut, formatPath, type InputIssue } from './schemas/issues';
import type { StoredKind } from './adapters/contract';
import type { Instance, Lease, Plan, Step } from './schemas/records';

/**
 * Every refusal the library makes, one factory per kind, beside the codes in `errors.ts`. Each
 * message names what was wrong and what would have been allowed; the details carry the same as
 * data, so a caller (or a model) can act without parsing the words.
 */

// VALIDATION_ERROR

/** The most issues a `VALIDATION_ERROR` carries in its details: a refusal's size is bounded by the limits, not by the input. */
export const LISTED_ISSUES = 20;

/**
 * `VALIDATION_ERROR` naming the first `inMessage` issues in its message and the first
 * `LISTED_ISSUES` in its details (`issue_count` says how many there were in all).
 */
function refusedInput(prefix: string, issues: InputIssue[], inMessage: number): InstancePlanError {
  const shown = issues.slice(0, inMessage).map((issue) => `${issue.path} ${issue.message}`);
  const more = issues.length > inMessage ? `; and ${issues.length - inMessage} more` : '';
  const details = issues.length > LISTED_ISSUES ? { issues: issues.slice(0, LISTED_ISSUES), issue_count: issues.length } : { issues };
  return new InstancePlanError('VALIDATION_ERROR', `${prefix}: ${shown.join('; ')}${more}`, details);
}

/** `VALIDATION_ERROR` naming the first five issues in its message. */
export function validationError(prefix: string, issues: InputIssue[]): InstancePlanError {
  return refusedInput(prefix, issues, 5);
}

/** `VALIDATION_ERROR` for a call in a tool's strict form (every field present, null for unused): the message names every issue listed. */
export function strictCallError(toolName: string, issues: InputIssue[]): InstancePlanError {
  return refusedInput(`Invalid ${toolName} call`, issues, LISTED_ISSUES);
}

/** One issue on one field, for refusals found after parsing (limits, scope, required-in-context). */
export function fieldError(path: (string | number)[], message: string): InstancePlanError {
  return validationError('Invalid input', [{ path: formatPath(path), message }]);
}

/** `CONFLICT` of a copy between stores: the target holds a newer version than the source, and copying would take it back. */
export function copyWouldGoBack(kind: StoredKind, id: string, source: number, target: number): InstancePlanError {
  return new InstancePlanError(
    'CONFLICT',
    `The target store holds ${kind} ${JSON.stringify(id)} at version ${target}, newer than the source's ${source}: copying would take it back, so nothing of it was written. Copy from the store that has the newer version.`,
    { kind, id, source_version: source, target_version: target },
  );
}

/** `CONFLICT` of a copy between stores: the target changed the record on its own since an earlier copy, and copying would overwrite that change. */
export function copyDiverged(kind: StoredKind, id: string, version: number): InstancePlanError {
  return new InstancePlanError(
    'CONFLICT',
    `The target store changed ${kind} ${JSON.stringify(id)} on its own: its version ${version} is not the source's version ${version}, so copying would overwrite that change; nothing of it was written. Reconcile the two stores, or copy into an empty one.`,
    { kind, id, target_version: version, reason: 'diverged' },
  );
}

// NOT_FOUND

/** `NOT_FOUND`, also for records outside the caller's scope (they are not told apart). */
export function notFound(kind: 'instance' | 'plan' | 'step' | 'record', id: string, extra: Record<string, unknown> = {}): InstancePlanError {
  const hint =
    kind === 'step'
      ? 'Use one of the plan\'s step ids (see "steps" of the plan).'
      : kind === 'record'
        ? 'Give the id of an instance or a plan you can see.'
        : `Check the ${kind} id; use action "list" to find ${kind}s you can see.`;
  return new InstancePlanError('NOT_FOUND', `No ${kind} with id ${JSON.stringify(id)}. ${hint}`, {
    kind,
    id,
    ...extra,
  });
}

// INVALID_TRANSITION

/** `INVALID_TRANSITION`: names the record, `from`, `to`, and the targets that would have been allowed. */
export function invalidTransition(
  kind: 'instance' | 'plan' | 'step',
  id: string,
  from: string,
  to: string,
  allowed: readonly string[],
  extra: Record<string, unknown> = {},
): InstancePlanError {
  const options =
    allowed.length === 0
      ? `"${from}" is terminal: no status change is allowed`
      : `allowed from "${from}": ${allowed.map((s) => `"${s}"`).join(', ')}`;
  const reason = typeof extra.reason === 'string' ? `: ${extra.reason}` : '';
  return new InstancePlanError('INVALID_TRANSITION', `Cannot move ${kind} ${JSON.stringify(id)} from "${from}" to "${to}"${reason}; ${options}.`, {
    kind,
    id,
    from,
    to,
    allowed: [...allowed],
    ...extra,
  });
}

/** An action (record a turn, set the current step, ...) that the record's status does not allow. */
export function actionNotAllowed(
  kind: 'instance' | 'plan',
  id: string,
  status: string,
  action: string,
  allowedIn: readonly string[],
): InstancePlanError {
  return new InstancePlanError(
    'INVALID_TRANSITION',
    `Cannot ${action} on ${kind} ${JSON.stringify(id)} while it is "${status}"; allowed while: ${allowedIn.map((s) => `"${s}"`).join(', ')}.`,
    { kind, id, from: status, to: status, action, allowed: [], allowed_in: [...allowedIn] },
  );
}

/** Why a plan status change was refused: not an edge at all, the steps, or the missing summary. */
export function refusedPlanMove(plan: Plan, from: Plan['status'], to: Plan['status'], steps: readonly Step[]): InstancePlanError {
  const structural = planLogic.edges(from, to).some((edge) => edge.target === to);
  if (!structural) return invalidTransition('plan', plan.id, from, to, planLogic.targets(from));
  const blocking = steps.find((step) => step.status !== 'completed');
  if (blocking) {
    return invalidTransition('plan', plan.id, from, to, planLogic.targets(from), {
      reason: `every step must be completed first; step ${JSON.stringify(blocking.id)} ("${blocking.title}") is "${blocking.status}"`,
      blocking_step: { id: blocking.id, title: blocking.title, status: blocking.status },
    });
  }
  return fieldError(['summary'], `is required to move the plan to "${to}": finish with a non-empty summary`);
}

// STEP_ORDER

/** `STEP_ORDER`: in strict ordering, `blocking` is the earlier step that is not completed. */
export function stepOrder(plan: Plan, step: Step, blocking: Step): InstancePlanError {
  return new InstancePlanError(
    'STEP_ORDER',
    `Step ${JSON.stringify(step.id)} ("${step.title}") cannot start yet: this plan runs its steps in order, and step ${JSON.stringify(blocking.id)} ("${blocking.title}") is "${blocking.status}". Complete that step first.`,
    {
      plan_id: plan.id,
      step_id: step.id,
      blocking_step: { id: blocking.id, title: blocking.title, status: blocking.status },
    },
  );
}

// PLAN_CLOSED

/**
 * `PLAN_CLOSED`: the plan's status does not take this kind of work. `event` names the plan
 * machine event for it (none: any change), so the refusal lists the statuses that would.
 */
export function planClosed(plan: Plan, action: string, event?: 'executeStep' | 'appendSteps'): InstancePlanError {
  const allowedIn = planLogic.states.filter((state) =>
    event ? planLogic.edges(state, event).length > 0 : !planLogic.isFinal(state),
  );
  return new InstancePlanError(
    'PLAN_CLOSED',
    `Cannot ${action} plan ${JSON.stringify(plan.id)} while it is "${plan.status}"; allowed while: ${allowedIn.map((s) => `"${s}"`).join(', ')}.`,
    { plan_id: plan.id, status: plan.status, allowed_in: allowedIn },
  );
}

/** `PLAN_CLOSED`: the plan's instance is terminal, so its plans take no more work. */
export function instanceClosed(instance: Instance): InstancePlanError {
  return new InstancePlanError(
    'PLAN_CLOSED',
    `Instance ${JSON.stringify(instance.id)} is "${instance.status}" (terminal): its plans take no more work.`,
    { instance_id: instance.id, instance_status: instance.status },
  );
}

// AWAITING_INPUT

/** The step a waiting instance's question is, where it was found. */
export interface AwaitedStep {
  plan_id: string;
  step_id: string;
  title: string;
}

/**
 * `AWAITING_INPUT`: the instance waits for a person, and `step` (in plan `plan_id`) is not the
 * answer. `awaited` is the question's step, when known; without one, the runtime moved the
 * instance to waiting, or (its `status_reason` is `awaiting_input`) a question did and the read
 * that would have found its step failed.
 */
export function awaitingInput(
  instance: Pick<Instance, 'id' | 'current_step' | 'status_reason'>,
  plan_id: string,
  step: Pick<Step, 'id' | 'title'>,
  awaited: AwaitedStep | null,
): InstancePlanError {
  const question = awaited?.title ?? instance.current_step;
  const asked = question === null ? 'a person' : `a person's answer to ${JSON.stringify(question)}`;
  const what = awaited
    ? `Ask the person ${JSON.stringify(awaited.title)} and wait; then execute step ${JSON.stringify(awaited.step_id)} of plan ${JSON.stringify(awaited.plan_id)} with step_status "completed" and their answer as step_output.`
    : instance.status_reason === 'awaiting_input'
      ? // A question moved it to waiting, but the search for its step failed (a fault of the store).
        'Wait for the answer; then execute the question (the user_input step in progress among its plans) with step_status "completed" and the answer as step_output.'
      : 'Its runtime moved it to "waiting"; no step executes until the instance moves back to "running".';
  return new InstancePlanError(
    'AWAITING_INPUT',
    `Step ${JSON.stringify(step.id)} ("${step.title}") cannot execute: instance ${JSON.stringify(instance.id)} is waiting for ${asked}. ${what}`,
    { instance_id: instance.id, plan_id, step_id: step.id, step_title: step.title, question, awaiting: awaited },
  );
}

/** `VALIDATION_ERROR`: `answer` was called for an instance with several questions open; the answer must name its step. */
export function severalQuestions(instance: Instance, questions: readonly AwaitedStep[]): InstancePlanError {
  const listed = questions.map((question) => `step ${JSON.stringify(question.step_id)} of plan ${JSON.stringify(question.plan_id)} ("${question.title}")`).join(', ');
  return validationError('Invalid answer', [
    {
      path: 'instance_id',
      message: `has ${questions.length} questions open (${listed}): answer one by its step, with executeStep and step_status "completed"`,
    },
  ]);
}

/**
 * `AWAITING_INPUT`: the instance cannot resume to `running` while a question of it is open (a
 * pause, the runtime's or its budget's, took it out of waiting); `waiting` is where it resumes.
 */
export function questionStillOpen(instance: Instance, to: string, question: AwaitedStep): InstancePlanError {
  return new InstancePlanError(
    'AWAITING_INPUT',
    `Cannot move instance ${JSON.stringify(instance.id)} from "${instance.status}" to "${to}": its question ${JSON.stringify(question.title)} (step ${JSON.stringify(question.step_id)} of plan ${JSON.stringify(question.plan_id)}) is still open. Move it to "waiting" instead: the answer then brings it back to "running".`,
    { instance_id: instance.id, from: instance.status, to, allowed: ['waiting'], question: question.title, awaiting: question },
  );
}

/** `NOT_FOUND`: `answer` was called for an instance with no question open. */
export function noQuestion(instance: Instance): InstancePlanError {
  return new InstancePlanError(
    'NOT_FOUND',
    `Instance ${JSON.stringify(instance.id)} has no question waiting for an answer: none of its plans has a user_input step in progress (it is "${instance.status}").`,
    { kind: 'step', instance_id: instance.id, status: instance.status },
  );
}

// BUDGET_EXCEEDED

/** One budget of an instance and what it has used: `counter` names it, `field` the instance field that holds the limit. */
export interface BudgetUse {
  counter: 'turns' | 'tokens';
  field: 'max_turns' | 'max_tokens';
  used: number;
  limit: number;
}

/**
 * `BUDGET_EXCEEDED`: `use` is the counter that reached its limit (null: the budget was raised,
 * but the instance is still paused for it). `action` says what was refused.
 */
export function budgetExceeded(instance: Instance, use: BudgetUse | null, action: string): InstancePlanError {
  const spent = use
    ? `has used ${use.used} of its ${use.limit} ${use.counter} (${use.field})`
    : 'is paused because its budget was exhausted';
  const allowed = use
    ? `Stop here: the budget must be raised (setBudget, ${use.field} above ${use.used}) and the instance resumed (transition to "running") before it does more.`
    : 'Resume the instance (transition to "running") first.';
  return new InstancePlanError('BUDGET_EXCEEDED', `Cannot ${action}: instance ${JSON.stringify(instance.id)} ${spent}. ${allowed}`, {
    instance_id: instance.id,
    status: instance.status,
    status_reason: instance.status_reason,
    counter: use?.counter ?? null,
    field: use?.field ?? null,
    used: use?.used ?? null,
    limit: use?.limit ?? null,
  });
}

// CONFLICT

/** The error every adapter throws when an expected version does not match. */
export function conflictError(kind: StoredKind, id: string, expected: number | null, actual: number | null): InstancePlanError {
  return new InstancePlanError(
    'CONFLICT',
    `${kind} ${JSON.stringify(id)} changed concurrently: expected version ${expected ?? 'none (new record)'}, found ${actual ?? 'none'}`,
    { kind, id, expected_version: expected, actual_version: actual },
  );
}

/**
 * `CONFLICT` for a step report that repeats the step's status with another output: acknowledging
 * it would drop its output (a retry carries the same output, and succeeds without a write).
 */
export function differentReport(plan: Plan, step: Step, output: string): InstancePlanError {
  const preview = (text: string | null) => (text === null ? 'no output' : JSON.stringify(cut(text, 200)));
  return new InstancePlanError(
    'CONFLICT',
    `Step ${JSON.stringify(step.id)} ("${step.title}") is already "${step.status}" with output ${preview(step.output)}; this report says "${step.status}" with output ${preview(output)}. Nothing was changed: a report of the status a step has is accepted only with the output it has. Read the plan to see what was stored; to record another attempt, move the step to "in_progress" first.`,
    { kind: 'step', plan_id: plan.id, step_id: step.id, status: step.status, stored_output: step.output, given_output: output },
  );
}

/** The manager's `CONFLICT` after its retries: the adapter's conflict, and how many attempts were made. */
export function conflictAfterRetries(conflict: InstancePlanError, attempts: number): InstancePlanError {
  return new InstancePlanError(
    'CONFLICT',
    `${conflict.message}; gave up after ${attempts} attempts. Read the record again and retry.`,
    { ...conflict.details, attempts },
    { cause: conflict },
  );
}

// LEASE_HELD, LEASE_LOST

/** `LEASE_HELD`: another owner holds the instance now; says until when and how to proceed. */
export function leaseHeld(current: Lease): InstancePlanError {
  return new InstancePlanError(
    'LEASE_HELD',
    `Instance ${JSON.stringify(current.instance_id)} is leased to ${JSON.stringify(current.owner)} until ${current.expires_at} (token ${current.token}): ` +
      'only the holder may change the instance and its plans now. Nothing was changed. Acquire the lease once it expires or is released, ' +
      'and write through manager.withLease(lease).',
    { instance_id: current.instance_id, owner: current.owner, token: current.token, expires_at: current.expires_at },
  );
}

/**
 * `LEASE_LOST`: the lease a manager wrote under no longer holds. `reason` says why: `taken` (a
 * new owner, with a higher token), `released`, `expired` (nobody took it yet: renewing works),
 * or `missing` (the store holds no lease for the instance).
 */
export function leaseLost(held: Lease, current: Lease | undefined, now: string): InstancePlanError {
  const holder = held.owner === null ? '' : ` of ${JSON.stringify(held.owner)}`;
  const who = `The lease${holder} on instance ${JSON.stringify(held.instance_id)} (token ${held.token})`;
  let reason: 'taken' | 'released' | 'expired' | 'missing';
  let message: string;
  if (!current) {
    reason = 'missing';
    message = `${who} is not in the store. Nothing was changed; acquire the lease again to work on the instance.`;
  } else if (current.token !== held.token || (current.owner !== null && current.owner !== held.owner)) {
    // Another token, or another owner under this token (a lease object this holder was never handed).
    reason = 'taken';
    const taker = current.owner === null ? 'another owner took the instance over and released it since' : `${JSON.stringify(current.owner)} took the instance over`;
    message = `${who} is lost: ${taker} (token ${current.token}). Nothing was changed; stop working on this instance.`;
  } else if (current.owner === null) {
    reason = 'released';
    message = `${who} was released. Nothing was changed; acquire the lease again to keep working on the instance.`;
  } else {
    reason = 'expired';
    message = `${who} expired at ${current.expires_at} (now ${now}). Nothing was changed; renew it (renewLease) while nobody else has taken it, or acquire it again.`;
  }
  return new InstancePlanError('LEASE_LOST', message, {
    reason,
    instance_id: held.instance_id,
    owner: held.owner,
    token: held.token,
    current_owner: current?.owner ?? null,
    current_token: current?.token ?? null,
  });
}

// STORAGE_ERROR

/**
 * Wraps a fault of the underlying store, keeping the cause. `details` says what kind of fault it
 * was (e.g. `{ reason: 'quota_exceeded' }`), so callers can react without parsing the message.
 */
export function storageError(message: string, cause: unknown, details: Record<string, unknown> = {}): InstancePlanError {
  return new InstancePlanError('STORAGE_ERROR', message, details, { cause });
}

/** Words for a thrown value that never throw themselves (a null-prototype object, a message getter that throws). */
export function describeThrown(thrown: unknown): string {
  try {
    return thrown instanceof Error ? String(thrown.message) : String(thrown);
  } catch {
    return 'a thrown value that cannot be described';
  }
}

/** A failure that is none of ours (a bug, a fault outside the store), answered as a storage fault. */
export function unexpectedFailure(error: unknown): InstancePlanError {
  const reason = describeThrown(error);
  return storageError(`Unexpected failure: ${reason}. Nothing was changed; try again.`, error);
}

/** Reasons of a failed commit after which the store may hold the change all the same (the answer was lost, not the write). */
const OUTCOME_UNKNOWN = new Set<unknown>(['connection', 'timeout', 'failed', undefined]);

/**
 * A failed commit as `STORAGE_ERROR` with `may_have_landed`: true when the store may have
 * stored the batch all the same (the connection dropped, or the fault is unknown), false when
 * it says it stored nothing.
 */
export function commitFault(error: unknown): InstancePlanError {
  const fault = asStorageError(error, 'commit');
  if (fault.code !== 'STORAGE_ERROR' || 'may_have_landed' in fault.details) return fault;
  return new InstancePlanError('STORAGE_ERROR', fault.message, { ...fault.details, may_have_landed: OUTCOME_UNKNOWN.has(fault.details.reason) }, { cause: fault.cause });
}

/**
 * A refusal as the tool and the HTTP API answer it. A `STORAGE_ERROR` says only its reason and
 * whether the change may have landed: the store's own words (addresses, SQL, table names, advice
 * for operators) stay in the error the operator's `onError` hook receives.
 */
export function answerOf(error: InstancePlanError): { code: ErrorCode; message: string } & Record<string, unknown> {
  if (error.code !== 'STORAGE_ERROR') return error.toJSON();
  const reason = typeof error.details.reason === 'string' ? error.details.reason : 'failed';
  const landed = error.details.may_have_landed === true;
  const message = landed
    ? `The store failed before it could confirm this change (reason: ${reason}); it may have been stored. Read the record again before you retry.`
    : `The store could not do this (reason: ${reason}); nothing was changed. Try again later.`;
  return { code: 'STORAGE_ERROR', message, reason, may_have_landed: landed };
}

/** Any fault of the store that is not already one of ours becomes `STORAGE_ERROR`, cause attached. */
export function asStorageError(error: unknown, operation: string): InstancePlanError {
  if (InstancePlanError.is(error)) return error;
  const reason = describeThrown(error);
  return storageError(`Storage ${operation} failed: ${reason}. Nothing was changed; try again.`, error);
}
