// One worker process of the races in test/postgres.server.test.ts: its own pg Pool, its own
// PlanManager, started together with the others. It prints "ready", waits for "go" on stdin,
// runs its part, and prints one JSON line with everything it saw succeed or fail.
// Bundled by the test with esbuild (it imports the library's TypeScript source).
import { createInterface } from 'node:readline';
import pg from 'pg';
import { InstancePlanError, PlanManager, type Lease, type StorageAdapter } from '../../src/index';
import { migrate, postgresAdapter } from '../../src/adapters/postgres/index';
import { stepWorker, type StepWorkerConfig } from './step-worker';

export interface PlanRaceConfig {
  scenario: 'plan';
  url: string;
  schema: string;
  worker: number;
  plan_id: string;
  /** The steps this worker moves (in_progress, then completed). */
  steps: string[];
  /** How many steps it appends. */
  appends: number;
}

export interface LeaseRaceConfig {
  scenario: 'lease';
  url: string;
  schema: string;
  worker: number;
  instance_id: string;
  plan_id: string;
  duration_ms: number;
  ttl_ms: number;
}

/** Works a plan's steps under a lease, hanging at one (see step-worker.ts): the crash tests kill or stop it there. */
export interface StepConfig {
  scenario: 'step';
  url: string;
  schema: string;
  step: StepWorkerConfig;
}

export type WorkerConfig = PlanRaceConfig | LeaseRaceConfig | StepConfig;

export interface PlanSuccess {
  op: 'execute' | 'append';
  step_id?: string;
  to?: string;
  title?: string;
  version: number;
}

export interface PlanRaceResult {
  worker: number;
  successes: PlanSuccess[];
  conflicts: number;
}

export interface LeaseRaceResult {
  worker: number;
  /** Every lease this worker got or extended, as the store answered (acquire, renew, release). */
  leases: { op: 'acquire' | 'renew' | 'release'; lease: Lease }[];
  /** Writes that landed under a lease: the title appended and the plan version it made. */
  writes: { token: number; title: string; version: number }[];
  /** Writes refused because the lease was taken over while the worker stalled. */
  stale_refused: { token: number; reason: unknown; current_token: unknown }[];
  /** Writes attempted after a stall that still landed (nobody had taken the instance meanwhile). */
  stale_landed: number;
  held: number;
  conflicts: number;
}

/** Counts the commits the store refused with CONFLICT (each one retried by the manager). */
function counting(adapter: StorageAdapter) {
  const counter = { conflicts: 0 };
  const wrapped: StorageAdapter = {
    get: (kind, id) => adapter.get(kind, id),
    list: (kind, query) => adapter.list(kind, query),
    history: (id) => adapter.history(id),
    commit: async (batch) => {
      try {
        await adapter.commit(batch);
      } catch (error) {
        if (InstancePlanError.is(error, 'CONFLICT')) counter.conflicts++;
        throw error;
      }
    },
  };
  return { adapter: wrapped, counter };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function planRace(config: PlanRaceConfig, adapter: StorageAdapter, counter: { conflicts: number }): Promise<PlanRaceResult> {
  const manager = new PlanManager({ adapter, retries: 10_000 });
  // Interleave this worker's moves and appends, so every kind of write meets every other.
  const ops: (() => Promise<PlanSuccess>)[] = [];
  for (let i = 0; i < Math.max(config.steps.length, config.appends); i++) {
    const stepId = config.steps[i];
    if (stepId !== undefined) {
      ops.push(async () => ({ op: 'execute', step_id: stepId, to: 'in_progress', version: (await manager.executeStep({ plan_id: config.plan_id, step_id: stepId, step_status: 'in_progress' })).version }));
      ops.push(async () => {
        const plan = await manager.executeStep({ plan_id: config.plan_id, step_id: stepId, step_status: 'completed', step_output: `w${config.worker}:${stepId}` });
        return { op: 'execute', step_id: stepId, to: 'completed', version: plan.version };
      });
    }
    if (i < config.appends) {
      const title = `w${config.worker}-append-${i}`;
      ops.push(async () => ({ op: 'append', title, version: (await manager.updatePlan({ plan_id: config.plan_id, steps: [{ title, type: 'review' }] })).version }));
    }
  }
  const successes: PlanSuccess[] = [];
  for (const op of ops) successes.push(await op());
  return { worker: config.worker, successes, conflicts: counter.conflicts };
}

/**
 * Acquire, write a few times under the lease (renewing once), then one of three endings: release,
 * let it run out, or stall past its expiry and write once more with a clock stopped at the
 * stall's start, as a paused process would, so only the store's fencing can refuse that write.
 */
async function leaseRace(config: LeaseRaceConfig, adapter: StorageAdapter, counter: { conflicts: number }): Promise<LeaseRaceResult> {
  const owner = `w${config.worker}`;
  const manager = new PlanManager({ adapter, retries: 10_000 });
  const result: LeaseRaceResult = { worker: config.worker, leases: [], writes: [], stale_refused: [], stale_landed: 0, held: 0, conflicts: 0 };
  const deadline = Date.now() + config.duration_ms;
  let round = 0;
  while (Date.now() < deadline) {
    let lease: Lease;
    try {
      lease = await manager.acquireLease(config.instance_id, { owner, ttl_ms: config.ttl_ms });
    } catch (error) {
      if (!InstancePlanError.is(error, 'LEASE_HELD')) throw error;
      result.held++;
      await sleep(2 + Math.random() * 8);
      continue;
    }
    result.leases.push({ op: 'acquire', lease });
    const worker = manager.withLease(lease);
    const write = async (view: PlanManager, n: number | string) => {
      const title = `${owner}#t${lease.token}#${n}`;
      const plan = await view.updatePlan({ plan_id: config.plan_id, steps: [{ title, type: 'process' }] });
      result.writes.push({ token: lease.token, title, version: plan.version });
    };
    try {
      await write(worker, 0);
      result.leases.push({ op: 'renew', lease: await worker.renewLease(worker.lease!) });
      await write(worker, 1);
    } catch (error) {
      // A write that takes longer than the lease (a slow machine) loses it: that is fencing too.
      if (!InstancePlanError.is(error, 'LEASE_LOST')) throw error;
      continue;
    }
    const ending = round++ % 3;
    if (ending === 0) {
      result.leases.push({ op: 'release', lease: await worker.releaseLease(worker.lease!) });
    } else if (ending === 2) {
      const stalledAt = new Date();
      await sleep(config.ttl_ms * 2);
      const frozen = new PlanManager({ adapter, retries: 10_000, clock: () => stalledAt }).withLease(worker.lease!);
      try {
        await write(frozen, 'after-stall');
        result.stale_landed++;
      } catch (error) {
        if (!InstancePlanError.is(error, 'LEASE_LOST')) throw error;
        result.stale_refused.push({ token: lease.token, reason: error.details.reason, current_token: error.details.current_token });
      }
    } else {
      await sleep(config.ttl_ms);
    }
  }
  result.conflicts = counter.conflicts;
  return result;
}

async function main() {
  const config = JSON.parse(process.argv[2]!) as WorkerConfig;
  const pool = new pg.Pool({ connectionString: config.url, max: 2 });
  try {
    // Every worker migrates at start, as a deployment would: concurrently, and harmlessly.
    await migrate(pool, { schema: config.schema });
    const { adapter, counter } = counting(postgresAdapter({ client: pool, schema: config.schema }));
    process.stdout.write('ready\n');
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) if (line.trim() === 'go') break;
    if (config.scenario === 'step') {
      // Each acknowledged change on its own line; at the hang it waits for a line on stdin (or a kill).
      const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
      await stepWorker(new PlanManager({ adapter }), config.step, say, () => new Promise<void>((resolve) => process.stdin.once('data', () => resolve()).resume()));
      return;
    }
    const result = config.scenario === 'plan' ? await planRace(config, adapter, counter) : await leaseRace(config, adapter, counter);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`pg-worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
