import type { Scope } from './contract';
import type { Instance, Plan } from '../schemas/records';

/** An instance is in scope when its organization matches the scope's (if the scope names one). */
export function instanceInScope(scope: Scope, instance: Instance): boolean {
  return scope.organization_id === undefined || instance.organization_id === scope.organization_id;
}

/** A plan's own fields are in scope when its site and user match wherever the scope names them (its organization is its instance's). */
export function planFieldsInScope(scope: Scope, plan: Plan): boolean {
  return (scope.site_id === undefined || plan.site_id === scope.site_id) && (scope.user_id === undefined || plan.user_id === scope.user_id);
}

/** A plan is in scope when its own fields are and, where the scope names an organization, its instance is stored and in scope. */
export function planInScopeWith(scope: Scope, plan: Plan, instance: Instance | undefined): boolean {
  return planFieldsInScope(scope, plan) && (scope.organization_id === undefined || (instance !== undefined && instanceInScope(scope, instance)));
}
