import * as z from 'zod/mini';

/** Lifecycle status of an agent instance. */
export const InstanceStatus = z.enum(['starting', 'running', 'waiting', 'paused', 'completed', 'error', 'stopped']);
export type InstanceStatus = z.infer<typeof InstanceStatus>;

/**
 * Why the library (not the runtime) moved an instance to its status: a `user_input` step asked
 * a person (`awaiting_input`), a counter reached its budget (`budget_exhausted`); `recovered`
 * is kept for a recovery that moves the instance (0.x recovery settles steps only). Null after
 * any other transition.
 */
export const StatusReason = z.enum(['awaiting_input', 'budget_exhausted', 'recovered']);
export type StatusReason = z.infer<typeof StatusReason>;

/** Status of a plan. */
export const PlanStatus = z.enum(['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'paused']);
export type PlanStatus = z.infer<typeof PlanStatus>;

/** Status of one step (the tool's `step_status`). */
export const StepStatus = z.enum(['pending', 'in_progress', 'completed', 'failed']);
export type StepStatus = z.infer<typeof StepStatus>;

/** What kind of work a step is (tool calls, processes, reviews, discussions, user inputs). */
export const StepType = z.enum(['tool_call', 'process', 'review', 'discussion', 'user_input']);
export type StepType = z.infer<typeof StepType>;

export const PlanType = z.enum(['objective', 'task']);
export type PlanType = z.infer<typeof PlanType>;

/** `strict` (default): a step starts only when every earlier step is completed. */
export const Ordering = z.enum(['strict', 'free']);
export type Ordering = z.infer<typeof Ordering>;
