import * as z from 'zod/mini';
import { InstanceStatus, StatusReason, Ordering, PlanStatus, PlanType, StepStatus, StepType } from './enums';

/** ISO 8601 UTC timestamp, as every record field `*_at` holds it. */
const Timestamp = z.string();

/** Any JSON value (what a step's `details` holds). */
export const JsonValue = z.json();
/** A JSON object: the "detailed properties" of a step (a tool's name and arguments, ...). */
export const JsonObject = z.record(z.string(), JsonValue);
export type JsonObject = z.infer<typeof JsonObject>;

/** An agent instance (the Transition Instance endpoint's record), as stored and as returned. */
export const Instance = z.strictObject({
  id: z.string(),
  organization_id: z.string(),
  agent_type_id: z.string(),
  task_id: z.nullable(z.string()),
  status: InstanceStatus,
  status_reason: z.nullable(StatusReason),
  created_at: Timestamp,
  updated_at: Timestamp,
  started_at: z.nullable(Timestamp),
  ended_at: z.nullable(Timestamp),
  turn_count: z.int().check(z.nonnegative()),
  tokens_total: z.int().check(z.nonnegative()),
  /** Budgets: the turns and the tokens the instance may spend (null: no limit). */
  max_turns: z.nullable(z.int().check(z.positive())),
  max_tokens: z.nullable(z.int().check(z.positive())),
  needs_input: z.boolean(),
  current_step: z.nullable(z.string()),
  last_action_at: z.nullable(Timestamp),
  session_id: z.nullable(z.string()),
  version: z.int().check(z.positive()),
});
export type Instance = z.infer<typeof Instance>;

/** One step of a plan. */
export const Step = z.strictObject({
  id: z.string(),
  title: z.string(),
  type: StepType,
  description: z.nullable(z.string()),
  status: StepStatus,
  output: z.nullable(z.string()),
  attempts: z.int().check(z.nonnegative()),
  started_at: z.nullable(Timestamp),
  completed_at: z.nullable(Timestamp),
  details: JsonObject,
});
export type Step = z.infer<typeof Step>;

/** A plan of the Instance Plan tool: a strict execution path for the agent, made of steps. */
export const Plan = z.strictObject({
  id: z.string(),
  instance_id: z.string(),
  site_id: z.nullable(z.string()),
  user_id: z.nullable(z.string()),
  agent_id: z.nullable(z.string()),
  title: z.string(),
  description: z.nullable(z.string()),
  plan_type: PlanType,
  ordering: Ordering,
  status: PlanStatus,
  steps: z.array(Step),
  summary: z.nullable(z.string()),
  created_at: Timestamp,
  updated_at: Timestamp,
  version: z.int().check(z.positive()),
});
export type Plan = z.infer<typeof Plan>;

export type RecordKind = 'instance' | 'plan';
export type StoredRecord = Instance | Plan;
export interface RecordOfKind {
  instance: Instance;
  plan: Plan;
}

/**
 * Who drives an instance now (see `PlanManager#acquireLease`): one per instance, its `id` the
 * instance's. `token` grows by one with every new holding (the fencing token); `owner` is null
 * once released. The record is never deleted, so the token never restarts.
 */
export const Lease = z.strictObject({
  id: z.string(),
  instance_id: z.string(),
  owner: z.nullable(z.string()),
  token: z.int().check(z.positive()),
  ttl_ms: z.int().check(z.positive()),
  expires_at: Timestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
  version: z.int().check(z.positive()),
});
export type Lease = z.infer<typeof Lease>;
