import type { Instance } from '../index';

/**
 * The fields of the instance record the Transition Instance endpoint answers, in its order. The
 * stored record has more (`version`, ...); the endpoint answers exactly its published schema,
 * which its clients were generated from.
 */
export const TRANSITION_INSTANCE_FIELDS = [
  'organization_id',
  'agent_type_id',
  'created_at',
  'updated_at',
  'id',
  'task_id',
  'status',
  'started_at',
  'ended_at',
  'turn_count',
  'tokens_total',
  'needs_input',
  'current_step',
  'last_action_at',
  'session_id',
] as const satisfies readonly (keyof Instance)[];

export type TransitionInstanceView = Pick<Instance, (typeof TRANSITION_INSTANCE_FIELDS)[number]>;

/** The instance as the Transition Instance endpoint returns it. */
export function transitionInstanceView(instance: Instance): TransitionInstanceView {
  return Object.fromEntries(TRANSITION_INSTANCE_FIELDS.map((field) => [field, instance[field]])) as TransitionInstanceView;
}
