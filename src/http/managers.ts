import { memoryAdapter, PlanManager, type PlanManagerOptions, type Scope } from '../index';
import { HttpRefusal } from './refusal';

/** One manager for every caller, or a manager per caller's scope. */
export type ManagerSource = PlanManager | ((scope: Scope) => PlanManager);

/**
 * The manager that serves a caller. One manager is narrowed to the caller's scope for the
 * request (`withScope`: a view, nothing built per caller). A function's manager is used as it
 * is, and its scope must be at least as narrow as the caller's (every field the caller's scope
 * names, the manager's names with the same value). Either way a caller never sees records of
 * others: a scope outside the manager's is a misconfigured server, and the request is not served.
 */
export function managerFor(source: ManagerSource, scope: Scope): PlanManager {
  const fields = Object.keys(scope) as (keyof Scope)[];
  if (typeof source !== 'function') {
    // The caller hears which field, never the values (the server's own scope is its business).
    for (const field of fields) {
      if (source.scope[field] !== undefined && source.scope[field] !== scope[field]) throw misconfigured(`its manager's scope does not cover the caller's (${field})`);
    }
    try {
      return fields.length === 0 ? source : source.withScope(scope);
    } catch {
      throw misconfigured('authenticate returned a scope that is not one ({ organization_id?, site_id?, user_id? }, non-empty strings)');
    }
  }
  const manager = source(scope);
  for (const field of fields) {
    if (manager.scope[field] !== scope[field]) throw misconfigured(`its manager's scope does not cover the caller's (${field})`);
  }
  return manager;
}

const misconfigured = (why: string) => new HttpRefusal(500, 'INTERNAL_ERROR', `The server is misconfigured: ${why}. Nothing was changed.`);

/**
 * A manager per scope over one shared store, for `createFetchHandler`: each caller sees only
 * the records of their scope. Managers are kept for reuse (the most recent `max`, default 1000).
 *
 * @example
 * const handler = createFetchHandler(scopedManagers({ adapter }), { authenticate });
 */
export function scopedManagers(options: Omit<PlanManagerOptions, 'scope'> = {}, { max = 1000 }: { max?: number } = {}): (scope: Scope) => PlanManager {
  if (!Number.isSafeInteger(max) || max < 1) throw new TypeError(`max must be a positive integer, got ${String(max)}`);
  // One store for all scopes: without this each manager would make a memory store of its own.
  const shared = { ...options, adapter: options.adapter ?? memoryAdapter() };
  const managers = new Map<string, PlanManager>();
  return (scope) => {
    const key = JSON.stringify([scope.organization_id, scope.site_id, scope.user_id]);
    let manager = managers.get(key);
    if (manager) {
      managers.delete(key); // re-inserted below: Map order is least recently used first
    } else {
      manager = new PlanManager({ ...shared, scope: { ...scope } });
      if (managers.size >= max) managers.delete(managers.keys().next().value!);
    }
    managers.set(key, manager);
    return manager;
  };
}
