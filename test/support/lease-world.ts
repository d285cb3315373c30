// Shared by the lease tests: a store that records every batch, and a running instance with a
// free-ordering plan, worked on by managers whose clocks the test moves.
import { memoryAdapter, PlanManager, type Lease, type PlanManagerOptions, type StorageAdapter } from 'instance-plan';
import { type CommitBatch } from 'instance-plan/adapter';

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
export const iso = (ms: number) => new Date(ms).toISOString();

/** An adapter that keeps every batch it is asked to commit (refused ones too), and can run something just before one. */
export function recording(inner: StorageAdapter = memoryAdapter()) {
  const batches: CommitBatch[] = [];
  let before: (() => Promise<unknown>) | undefined;
  const adapter: StorageAdapter = {
    get: (kind, id) => inner.get(kind, id),
    list: (kind, query) => inner.list(kind, query),
    history: (id) => inner.history(id),
    commit: async (batch) => {
      batches.push(structuredClone(batch));
      const run = before;
      before = undefined;
      await run?.();
      return inner.commit(batch);
    },
    subscribe: (listener) => inner.subscribe!(listener),
  };
  /** Runs `action` once, right before the next batch reaches the store (a racing writer). */
  const beforeNextCommit = (action: () => Promise<unknown>) => {
    before = action;
  };
  return { adapter, batches, beforeNextCommit };
}

/** A store with a running instance and a free-ordering plan of `steps`; managers "a" and "b" with their own clocks. */
export async function leaseWorld(steps: string[] = ['One', 'Two', 'Three', 'Four']) {
  const { adapter, batches, beforeNextCommit } = recording();
  const clocks = new Map<string, number>();
  const manager = (name: string, options: Omit<PlanManagerOptions, 'adapter' | 'clock'> = {}) => {
    clocks.set(name, T0);
    return new PlanManager({ adapter, clock: () => new Date(clocks.get(name)!), ...options });
  };
  const a = manager('a');
  const b = manager('b');
  const instance = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
  await a.transitionInstance(instance.id, { status: 'running' });
  const plan = await a.createPlan({
    instance_id: instance.id,
    title: 'Research',
    ordering: 'free',
    steps: steps.map((title) => ({ title, type: 'process' as const })),
  });
  /** Moves every clock (or one) forward. */
  const advance = (ms: number, name?: string) => {
    for (const key of name ? [name] : [...clocks.keys()]) clocks.set(key, clocks.get(key)! + ms);
  };
  const now = (name: string) => iso(clocks.get(name)!);
  return { adapter, batches, beforeNextCommit, a, b, manager, advance, now, instance, plan, step: (i: number) => plan.steps[i]!.id };
}

/** The lease record of an answer of acquireLease: without the `recovered` report beside it. */
export const stored = <L extends Lease>({ recovered: _, ...lease }: L & { recovered?: unknown }): Lease => lease;
