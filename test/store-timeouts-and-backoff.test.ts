// Every store operation is bounded in time (storeTimeoutMs: STORAGE_ERROR "timeout"), and a
// conflict is retried after a random pause that doubles with each retry (backoff, full jitter).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryAdapter, PlanManager, type StorageAdapter } from 'instance-plan';
import { conflictError } from 'instance-plan/adapter';
import { expectRejection, snapshotStore } from './support/core-fixtures';

const never = () => new Promise<never>(() => {});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('a store that stops answering', () => {
  it('a read that never settles is STORAGE_ERROR "timeout" after storeTimeoutMs, naming the operation; the tool answers the reason only', async () => {
    const base = memoryAdapter();
    const setup = new PlanManager({ adapter: base });
    const instance = await setup.createInstance({ organization_id: 'o', agent_type_id: 'a' });
    const stalled: StorageAdapter = { ...base, get: never, getPlanWithInstance: never };
    const manager = new PlanManager({ adapter: stalled, storeTimeoutMs: 30 });
    const error = await expectRejection(manager.getInstance(instance.id), 'STORAGE_ERROR');
    expect(error.details).toEqual({ reason: 'timeout', operation: 'get', timeout_ms: 30 });
    expect(error.message).toBe('The store did not answer (get) within 30 ms');
    const answer = await manager.forInstance(instance.id).handle({ action: 'execute_step', plan_id: 'p', step_id: 's', step_status: 'in_progress' });
    expect(answer).toEqual({
      success: false,
      error: { code: 'STORAGE_ERROR', reason: 'timeout', may_have_landed: false, message: 'The store could not do this (reason: timeout); nothing was changed. Try again later.' },
    });
  });

  it('a commit that never settles may have landed: the answer says so', async () => {
    const base = memoryAdapter();
    const manager = new PlanManager({ adapter: { ...base, commit: never }, storeTimeoutMs: 30 });
    const error = await expectRejection(manager.createInstance({ organization_id: 'o', agent_type_id: 'a' }), 'STORAGE_ERROR');
    expect(error.details).toEqual({ reason: 'timeout', operation: 'commit', timeout_ms: 30, may_have_landed: true });
    expect(await snapshotStore(base)).toEqual({ instances: [], plans: [], history: {} });
  });

  it('a transaction that never settles is bounded as a whole; lists and history pages are bounded too', async () => {
    const base = memoryAdapter();
    const setup = new PlanManager({ adapter: base });
    const instance = await setup.createInstance({ organization_id: 'o', agent_type_id: 'a' });
    const stalled: StorageAdapter = { ...base, transact: never, list: never, history: never };
    const manager = new PlanManager({ adapter: stalled, storeTimeoutMs: 25 });
    expect((await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'STORAGE_ERROR')).details).toMatchObject({ reason: 'timeout', operation: 'commit', may_have_landed: true });
    expect((await expectRejection(manager.listInstances(), 'STORAGE_ERROR')).details).toMatchObject({ reason: 'timeout', operation: 'list' });
    expect((await expectRejection(manager.history(instance.id), 'STORAGE_ERROR')).details).toMatchObject({ reason: 'timeout', operation: 'history' });
  });

  it('a slow store within the bound answers as usual, and null removes the bound; bad values are TypeErrors', async () => {
    const base = memoryAdapter();
    const slow: StorageAdapter = { ...base, get: (kind, id) => new Promise((resolve) => setTimeout(() => resolve(base.get(kind, id)), 20)) };
    const manager = new PlanManager({ adapter: slow, storeTimeoutMs: null });
    const instance = await manager.createInstance({ organization_id: 'o', agent_type_id: 'a' });
    expect((await manager.getInstance(instance.id)).id).toBe(instance.id);
    expect((await new PlanManager({ adapter: slow, storeTimeoutMs: 5_000 }).getInstance(instance.id)).id).toBe(instance.id);
    for (const storeTimeoutMs of [0, -1, 1.5, Number.NaN, '100']) {
      expect(() => new PlanManager({ storeTimeoutMs } as never)).toThrow(/storeTimeoutMs must be a whole number of milliseconds of at least 1, or null/);
    }
  });
});

describe('conflicts are retried after a jittered, growing pause', () => {
  /** A store whose first `n` commits lose a race (another writer got there first). */
  function losing(n: number) {
    const base = memoryAdapter();
    let commits = 0;
    const adapter: StorageAdapter = {
      ...base,
      async commit(batch) {
        commits++;
        if (commits <= n) {
          const [write] = batch.writes;
          throw conflictError(write!.kind, write!.record.id, write!.expected_version, (write!.expected_version ?? 0) + 1);
        }
        return base.commit(batch);
      },
    };
    return { adapter, commits: () => commits };
  }

  it('each retry waits a random time up to initialMs · 2^retry, at most maxMs (with the random at its top: 4, 8, 16, 20 ms)', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const { adapter, commits } = losing(4);
    const manager = new PlanManager({ adapter, backoff: { initialMs: 4, maxMs: 20 }, storeTimeoutMs: null });
    const created = manager.createInstance({ organization_id: 'o', agent_type_id: 'a' });
    const seen: number[] = [];
    for (const ms of [0, 3, 1, 7, 1, 15, 1, 19, 1]) {
      await vi.advanceTimersByTimeAsync(ms);
      seen.push(commits());
    }
    // A commit at 0 ms, then one at 4, 12 (4 + 8), 28 (+ 16) and 48 (+ 20, the cap).
    expect(seen).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5]);
    expect((await created).version).toBe(1);
  });

  it('initialMs 0 retries at once; after the retries, CONFLICT names how many attempts; bad settings are TypeErrors', async () => {
    const { adapter, commits } = losing(100);
    const manager = new PlanManager({ adapter, retries: 3, backoff: { initialMs: 0 } });
    const error = await expectRejection(manager.createInstance({ organization_id: 'o', agent_type_id: 'a' }), 'CONFLICT');
    expect(error.details).toMatchObject({ attempts: 4 });
    expect(commits()).toBe(4);
    expect(() => new PlanManager({ backoff: { initialMs: -1 } })).toThrow('backoff.initialMs must be a number of milliseconds of at least 0, got -1');
    expect(() => new PlanManager({ backoff: { initialMs: 10, maxMs: 5 } })).toThrow('backoff.maxMs (5) must be at least backoff.initialMs (10)');
  });
});
