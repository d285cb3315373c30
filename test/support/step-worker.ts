// The part of a worker that the crash tests kill or stall in the middle of a step, shared by the
// SQLite and PostgreSQL worker processes and the IndexedDB Web Worker. It takes the instance's
// lease, then works through the plan's steps in order: reports each step in_progress, and
// completes it, saying what the store acknowledged (steps already completed are skipped). At step `hang_at` it waits after starting
// (the test kills or stops it there); a completion refused by the lease is reported, and ends it.
import type { PlanManager } from '../../src/index';

export interface StepWorkerConfig {
  instance_id: string;
  plan_id: string;
  owner: string;
  ttl_ms: number;
  /** The step (by position) at which the worker waits between starting it and completing it. */
  hang_at: number;
}

/** One line the worker says: each acknowledged change, or the refusal that ended it. */
export type StepWorkerLine =
  | { acquired: number }
  | { started: number; version: number }
  | { completed: number; version: number }
  | { refused: string; reason: unknown };

/** `hang` resolves when the worker may go on from step `hang_at` (never, for a worker about to be killed). */
export async function stepWorker(manager: PlanManager, config: StepWorkerConfig, say: (line: StepWorkerLine) => void, hang: () => Promise<void>): Promise<void> {
  const lease = await manager.acquireLease(config.instance_id, { owner: config.owner, ttl_ms: config.ttl_ms });
  say({ acquired: lease.token });
  const worker = manager.withLease(lease);
  const { steps } = await worker.getPlan(config.plan_id);
  for (const [index, step] of steps.entries()) {
    if (step.status === 'completed') continue;
    say({ started: index, version: (await worker.executeStep({ plan_id: config.plan_id, step_id: step.id, step_status: 'in_progress' })).version });
    if (index === config.hang_at) await hang();
    try {
      const done = await worker.executeStep({ plan_id: config.plan_id, step_id: step.id, step_status: 'completed', step_output: `done by ${config.owner}` });
      say({ completed: index, version: done.version });
    } catch (error) {
      const { code, details } = error as { code?: string; details?: { reason?: unknown } };
      if (code !== 'LEASE_LOST') throw error;
      say({ refused: code, reason: details?.reason });
      return;
    }
  }
}
