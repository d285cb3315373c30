import { SCOPE_FIELDS, type PlanWithInstance, type Scope } from '../adapters/contract';
import { instanceInScope, planFieldsInScope, planInScopeWith } from '../adapters/in-scope';
import type { Instance, Plan } from '../schemas/records';
import type { ManagerContext } from './context';
import type { Reader } from './reader';
import { fieldError, notFound } from '../refusals';

export type { Scope } from '../adapters/contract';

/**
 * `scope` narrowed by `by`: every field either names, the two agreeing where both do. Anything
 * else is a TypeError naming it: an unknown field, a value that is not a non-empty string, or a
 * field `by` would widen or move (a view never sees more than what it was made from).
 */
export function narrowScope(scope: Readonly<Scope>, by: Scope): Readonly<Scope> {
  if (typeof by !== 'object' || by === null || Array.isArray(by)) throw new TypeError('withScope: give a scope object ({ organization_id?, site_id?, user_id? })');
  const narrowed: Scope = { ...scope };
  for (const [field, value] of Object.entries(by)) {
    if (!(SCOPE_FIELDS as readonly string[]).includes(field)) throw new TypeError(`withScope: unknown scope field ${JSON.stringify(field)} (allowed: ${SCOPE_FIELDS.join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new TypeError(`withScope: ${field} must be a non-empty string, got ${typeof value === 'string' ? 'an empty string' : typeof value}`);
    const own = scope[field as keyof Scope];
    if (own !== undefined && own !== value) {
      throw new TypeError(`withScope: ${field} ${JSON.stringify(value)} is outside this manager's scope (${field} ${JSON.stringify(own)}): a view can only narrow it`);
    }
    narrowed[field as keyof Scope] = value;
  }
  return Object.freeze(narrowed);
}

/**
 * A plan is in scope when its site and user match wherever the scope names them, and its
 * instance is in scope. With an organization in the scope the instance must be stored: a
 * plan whose organization cannot be known is treated as someone else's.
 */
export async function planInScope(context: ManagerContext, plan: Plan, reader = context.reader): Promise<boolean> {
  const { scope } = context;
  // The instance is read only when it decides.
  if (!planFieldsInScope(scope, plan)) return false;
  if (scope.organization_id === undefined) return true;
  return planInScopeWith(scope, plan, await reader.instance(plan.instance_id));
}

/** Reads an instance the scope can see, or throws `NOT_FOUND` (also for out-of-scope ones). */
export async function visibleInstance(context: ManagerContext, id: string, reader = context.reader): Promise<Instance> {
  const instance = await reader.instance(id, context.scope);
  if (!instance || !instanceInScope(context.scope, instance)) throw notFound('instance', id);
  return instance;
}

/** Reads a plan the scope can see, or throws `NOT_FOUND` (also for out-of-scope ones). */
export async function visiblePlan(context: ManagerContext, id: string, reader = context.reader): Promise<Plan> {
  if (context.scope.organization_id !== undefined) return (await visiblePlanWithInstance(context, id, reader)).plan;
  const plan = await reader.plan(id, context.scope);
  if (!plan || !planFieldsInScope(context.scope, plan)) throw notFound('plan', id);
  return plan;
}

/** Reads a plan the scope can see with its instance, in one read where the store allows; `NOT_FOUND` otherwise. */
export async function visiblePlanWithInstance(context: ManagerContext, id: string, reader: Reader): Promise<PlanWithInstance> {
  const both = await reader.planWithInstance(id, context.scope);
  if (!both || !planInScopeWith(context.scope, both.plan, both.instance)) throw notFound('plan', id);
  return both;
}

/**
 * The value a scoped field takes on a new record: the given one, else the scope's; a value that
 * differs from the scope's is refused, since the record would be invisible to its creator.
 */
export function scopedField(scope: Scope, field: keyof Scope, given: string | null | undefined): string | null {
  const scoped = scope[field];
  if (scoped === undefined) return given ?? null;
  if (given !== undefined && given !== null && given !== scoped) {
    throw fieldError([field], `must be ${JSON.stringify(scoped)}: this manager is scoped to ${field} ${JSON.stringify(scoped)}`);
  }
  return scoped;
}
