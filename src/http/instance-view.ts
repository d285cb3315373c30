import type { Instance } from '../index';

/**
 * The fields of the instance record in seed 002's response, in its order. The stored record
 * also has `version` (optimistic concurrency inside the library); the endpoint answers with
 * exactly the seed's schema, which its clients were generated from.
 */
export const SEED_INSTANCE_FIELDS = [
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

export type SeedInstance = Pick<Instance, (typeof SEED_INSTANCE_FIELDS)[number]>;

/** The instance as seed 002's Transition Instance endpoint returns it. */
export function seedInstance(instance: Instance): SeedInstance {
  return Object.fromEntries(SEED_INSTANCE_FIELDS.map((field) => [field, instance[field]])) as SeedInstance;
}
