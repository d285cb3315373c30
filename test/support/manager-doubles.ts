// Shared by the PlanManager tests: a manager with a deterministic clock and ids, and adapters that
// drop the change feed, fail on demand, or record the list queries they receive.
import { expect } from 'vitest';
import { memoryAdapter, PlanManager, type PlanManagerOptions, type StorageAdapter, type ToolResult } from '../../src';
import { sequentialIds, testClock } from './core-fixtures';


/** A manager with a deterministic clock and ids over `adapter` (default: a fresh memory store). */
export function managerOn(adapter: StorageAdapter = memoryAdapter(), options: PlanManagerOptions = {}) {
  return new PlanManager({ clock: testClock(), ids: sequentialIds(), ...options, adapter });
}

/** The memory store without its change feed: what a third-party adapter without `subscribe` looks like. */
export function feedless(inner: StorageAdapter = memoryAdapter()): StorageAdapter {
  return {
    get: (kind, id) => inner.get(kind, id),
    list: (kind, query) => inner.list(kind, query),
    commit: (batch) => inner.commit(batch),
    history: (id) => inner.history(id),
  };
}

/** Wraps an adapter so that chosen calls fail with `fault` while `failing` says so. */
export function faulty(inner: StorageAdapter, fault: unknown) {
  const failing = new Set<string>();
  /** The calls that failed, in order: a signal that a read was attempted while failing. */
  const failures: string[] = [];
  const check = (key: string) => {
    if (failing.has(key)) {
      failures.push(key);
      throw fault;
    }
  };
  const adapter: StorageAdapter = {
    async get(kind, id) {
      check(`get:${kind}`);
      return inner.get(kind, id);
    },
    async list(kind, query) {
      check(`list:${kind}`);
      return inner.list(kind, query);
    },
    async history(id) {
      check('history');
      return inner.history(id);
    },
    async commit(batch) {
      check('commit');
      return inner.commit(batch);
    },
  };
  if (inner.subscribe) adapter.subscribe = (listener) => inner.subscribe!(listener);
  return { adapter, failures, fail: (...keys: string[]) => keys.forEach((key) => failing.add(key)), heal: () => failing.clear() };
}

/** Records every `list` query an adapter receives. */
export function listSpy(inner: StorageAdapter = memoryAdapter()) {
  const queries: { kind: string; where: Record<string, unknown>; limit: number; offset: number }[] = [];
  const adapter: StorageAdapter = {
    ...inner,
    list: (kind, query) => {
      queries.push({ kind, ...query, where: { ...query.where } });
      return inner.list(kind, query);
    },
  };
  return { adapter, queries };
}

export async function runningInstance(manager: PlanManager, organization = 'org-1') {
  const instance = await manager.createInstance({ organization_id: organization, agent_type_id: 'researcher' });
  return manager.transitionInstance(instance.id, { status: 'running' });
}

export function planOf(result: ToolResult) {
  if (!result.success || !('plan' in result)) expect.fail(`expected a plan answer, got ${JSON.stringify(result)}`);
  return result;
}
