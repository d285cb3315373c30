import * as z from 'zod/mini';
import type { HistoryEvent, RecordCheck, RecordWrite } from '../adapters/contract';
import { applyEdge } from '../machines/effects';
import { instanceLogic } from '../machines/instance';
import { planLogic } from '../machines/plan';
import { stepEffects, stepLogic, type StepEvent } from '../machines/step';
import type { InstanceStatus } from '../schemas/enums';
import { LIST_MAX_LIMIT } from '../schemas/limits';
import type { Instance, Lease, Plan } from '../schemas/records';
import type { ManagerContext } from './context';
import { listInstances } from './instances';
import { isAbandoned, isActive } from './lease-state';
import { mutate, type Mutation } from './mutate';
import { listPlans, planMutation } from './plans';
import type { Reader } from './reader';
import { visibleInstance } from './scope';
import { carryStepIndex } from './step-index';
import { planText } from './plan-text';
import { parseInput } from './validate';

/**
 * Recovery: what a dead worker left half-done is settled by the next one, in one commit.
 *
 * A lease that expired while still held (never released) means its holder is presumed dead. The
 * next acquisition of the instance settles every step left `in_progress` in the instance's plans
 * by policy, in the same commit as the new lease: `fail` (the default) moves each to `failed`
 * along the step machine with an output saying it was interrupted, so the retry is explicit and
 * counted in `attempts`; `keep` leaves them for the new holder to finish. A question (a
 * `user_input` step in progress) waits for a person, not for the worker, and stays open either
 * way. Each plan changed gets a
 * `plan.recovered` event naming the old and the new holding. A runtime without leases recovers
 * every non-terminal instance at start (`recover`), and a sweeper finds the instances whose
 * holder died or that saw no action for a while (`findStale`).
 */

/** What happens to the steps a dead worker left `in_progress`. */
export type RecoveryPolicy = 'fail' | 'keep';

/** A step that was left `in_progress`, and the status recovery gave it. */
export interface InterruptedStep {
  plan_id: string;
  step_id: string;
  title: string;
  status: 'failed' | 'in_progress';
}

/** What one recovery found and settled. */
export interface Recovery {
  instance_id: string;
  /** The holding presumed dead: its owner and fencing token (null: the instance had no abandoned lease). */
  previous_owner: string | null;
  previous_token: number | null;
  /** When that holding's lease ran out (null: no abandoned lease). */
  expired_at: string | null;
  policy: RecoveryPolicy;
  /** Every step found `in_progress`, oldest plan last (the order plans are listed in). */
  steps: InterruptedStep[];
}

/** A lease as `acquireLease` answers it: the lease, and what it recovered (null: the previous holding ended cleanly, or there was none). */
export type AcquiredLease = Lease & { readonly recovered: Recovery | null };

/** An instance a sweeper should look at (`findStale`). */
export interface StaleInstance {
  instance: Instance;
  /** Its lease as stored (null: never leased). */
  lease: Lease | null;
  /** `lease_expired`: held, never released, and run out; `idle`: no action for at least `idle_ms`. */
  reason: 'lease_expired' | 'idle';
}

export const RecoveryPolicySchema = z.enum(['fail', 'keep']);

const recoverOptions = z.strictObject({ policy: z.optional(RecoveryPolicySchema) });
const staleOptions = z.strictObject({
  idle_ms: z.optional(z.int().check(z.minimum(1, 'must be at least 1 (milliseconds)'))),
  limit: z.optional(z.int().check(z.minimum(1, 'must be at least 1'), z.maximum(LIST_MAX_LIMIT, `must be at most ${LIST_MAX_LIMIT}`))),
});

/** The statuses an instance can still leave: the lifecycle machine's non-final states. */
const openStatuses = (): InstanceStatus[] => instanceLogic.states.filter((status) => !instanceLogic.isFinal(status)) as InstanceStatus[];

/**
 * The ids of the instance's plans this manager can see, read a page at a time outside any
 * transaction (a transaction of the store reads by id only). A plan created after the listing
 * is not settled: a dead holder did not create it.
 */
export async function planIdsOf(context: ManagerContext, instanceId: string): Promise<string[]> {
  const ids = new Set<string>();
  for (let offset = 0; ; offset += LIST_MAX_LIMIT) {
    const { plans, total } = await listPlans(context, { instance_id: instanceId, limit: LIST_MAX_LIMIT, offset });
    for (const plan of plans) ids.add(plan.id);
    if (plans.length === 0 || offset + plans.length >= total) return [...ids];
  }
}

/** The output an interrupted step is given: what happened, and what to do. */
export function interruptedOutput(recovery: NonNullable<HistoryEvent['recovery']>, expiredAt: string | null): string {
  const who =
    recovery.previous_owner === null
      ? 'the process running it stopped before reporting a result'
      : `its worker "${recovery.previous_owner}" (lease token ${recovery.previous_token}) stopped before reporting a result; the lease expired at ${expiredAt}`;
  return `Interrupted: ${who}. Execute the step again to retry it.`;
}

/**
 * Settles the `in_progress` steps of the plans `planIds`, read through `reader` (inside the
 * commit's transaction, if any): with `fail`, one write and one `plan.recovered` event per plan
 * changed. Every plan read and left as it is gets a check of the version read, so a step started
 * in it meanwhile makes the commit conflict and the recovery run again. Cancelled plans are final
 * and left as they are.
 */
export async function settle(
  context: ManagerContext,
  reader: Reader,
  planIds: readonly string[],
  policy: RecoveryPolicy,
  recovery: NonNullable<HistoryEvent['recovery']>,
  expiredAt: string | null,
  now: string,
): Promise<Mutation<InterruptedStep[]>> {
  const settled: Mutation<InterruptedStep[]> & { checks: RecordCheck[] } = { writes: [], events: [], result: [], checks: [] };
  const status: InterruptedStep['status'] = policy === 'fail' ? 'failed' : 'in_progress';
  const move: StepEvent = { type: 'failed', output: interruptedOutput(recovery, expiredAt), at: now };
  for (const id of planIds) {
    const plan = await reader.plan(id);
    if (!plan) continue;
    // A question (a user_input step in progress) waits for a person, not for the worker: it stays open.
    const interrupted = planLogic.isFinal(plan.status)
      ? []
      : plan.steps.flatMap((step, index) => (step.status === 'in_progress' && step.type !== 'user_input' ? [index] : []));
    settled.result.push(...interrupted.map((index) => ({ plan_id: plan.id, step_id: plan.steps[index]!.id, title: plan.steps[index]!.title, status })));
    if (interrupted.length === 0 || policy === 'keep') {
      settled.checks.push({ kind: 'plan', id: plan.id, expected_version: plan.version });
      continue;
    }
    const fail = (event: StepEvent) =>
      planMutation(
        context,
        plan,
        (draft) => {
          for (const index of interrupted) {
            // The step machine's own in_progress -> failed edge, effects and all.
            applyEdge(stepEffects, stepLogic.resolve('in_progress', event)!, draft.steps[index]!, event);
          }
        },
        now,
        'plan.recovered',
        { recovery },
      );
    let mutation = fail(move);
    // A recovery is never refused, and never takes a plan past its text limit: where the
    // sentence would, the steps keep their last output (the event's `recovery` says what happened).
    if (planText(mutation.result) > context.limits.maxPlanTextLength && planText(mutation.result) > planText(plan)) mutation = fail({ type: 'failed', at: now });
    carryStepIndex(plan.steps, mutation.result.steps);
    settled.writes.push(...mutation.writes);
    settled.events.push(...mutation.events);
  }
  return settled;
}

/**
 * Recovers one instance without taking a lease: unless a live holder has it, its interrupted
 * steps are settled and an abandoned lease is released, in one commit. Null when there was
 * nothing to recover.
 */
async function recoverInstance(context: ManagerContext, instanceId: string, policy: RecoveryPolicy): Promise<Recovery | null> {
  const planIds = await planIdsOf(context, instanceId);
  return mutate(context, async (reader) => {
    await visibleInstance(context, instanceId, reader);
    const lease = await reader.lease(instanceId);
    const now = context.now();
    if (lease && isActive(lease, now)) return { writes: [], events: [], result: null };
    const abandoned = isAbandoned(lease, now) ? lease : undefined;
    const recovery = { previous_owner: abandoned?.owner ?? null, previous_token: abandoned?.token ?? null, owner: null, token: null };
    const settled = await settle(context, reader, planIds, policy, recovery, abandoned?.expires_at ?? null, now);
    const writes: RecordWrite[] = [...settled.writes];
    if (abandoned) {
      // Released in the same commit: the instance is free, and its next holder gets a higher token.
      writes.push({ kind: 'lease', record: { ...abandoned, owner: null, expires_at: now, updated_at: now, version: abandoned.version + 1 }, expected_version: abandoned.version });
    }
    if (settled.result.length === 0 && !abandoned) return { writes: [], events: [], result: null };
    const result: Recovery = {
      instance_id: instanceId,
      previous_owner: recovery.previous_owner,
      previous_token: recovery.previous_token,
      expired_at: abandoned?.expires_at ?? null,
      policy,
      steps: settled.result,
    };
    return { writes, events: settled.events, checks: settled.checks, result };
  });
}

/**
 * For a runtime without leases (one process), at start: recovers every non-terminal instance this
 * manager can see (instances a live lease holder has are left to it). Answers what was recovered.
 */
export async function recover(context: ManagerContext, options: { policy?: RecoveryPolicy } = {}): Promise<Recovery[]> {
  const { policy = 'fail' } = parseInput(recoverOptions, options, 'recover options');
  const ids: string[] = [];
  for (const status of openStatuses()) {
    for (let offset = 0; ; offset += LIST_MAX_LIMIT) {
      const { instances, total } = await listInstances(context, { status, limit: LIST_MAX_LIMIT, offset });
      ids.push(...instances.map((instance) => instance.id));
      if (instances.length === 0 || offset + instances.length >= total) break;
    }
  }
  const recovered: Recovery[] = [];
  for (const id of ids) {
    const recovery = await recoverInstance(context, id, policy);
    if (recovery) recovered.push(recovery);
  }
  return recovered;
}

/**
 * For a sweeper: the non-terminal instances whose lease was abandoned (held, never released, run
 * out), and, with `idle_ms`, those without an active lease that saw no action for that long (by
 * `last_action_at`, else `updated_at`). Reads every non-terminal instance in scope a page at a
 * time, and each one's lease; answers at most `limit` (default and most: 100).
 */
export async function findStale(context: ManagerContext, options: { idle_ms?: number; limit?: number } = {}): Promise<StaleInstance[]> {
  const { idle_ms, limit = LIST_MAX_LIMIT } = parseInput(staleOptions, options, 'findStale options');
  const found: StaleInstance[] = [];
  for (const status of openStatuses()) {
    for (let offset = 0; ; offset += LIST_MAX_LIMIT) {
      const { instances, total } = await listInstances(context, { status, limit: LIST_MAX_LIMIT, offset });
      for (const instance of instances) {
        const lease = (await context.reader.lease(instance.id)) ?? null;
        const now = context.now();
        if (isAbandoned(lease ?? undefined, now)) found.push({ instance, lease, reason: 'lease_expired' });
        else if (idle_ms !== undefined && !(lease && isActive(lease, now)) && Date.parse(now) - Date.parse(instance.last_action_at ?? instance.updated_at) >= idle_ms) {
          found.push({ instance, lease, reason: 'idle' });
        }
        if (found.length === limit) return found;
      }
      if (instances.length === 0 || offset + instances.length >= total) break;
    }
  }
  return found;
}
