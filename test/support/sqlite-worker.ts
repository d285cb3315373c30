// One worker process of test/sqlite.processes.test.ts: its own better-sqlite3 handle on the
// shared file, its own PlanManager. It prints "ready", waits for "go" on stdin, then either
// races (moves its steps and appends, printing one JSON line of what succeeded at the end) or
// toggles one step forever, printing the version of every change the store acknowledged, until
// it is killed. Bundled by the test with esbuild (it imports the library's TypeScript source).
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { InstancePlanError, PlanManager, type StorageAdapter } from '../../src/index';
import { migrate, sqliteAdapter, type SqliteDatabase } from '../../src/adapters/sqlite/index';
import { stepWorker, type StepWorkerConfig } from './step-worker';

export interface SqliteWorkerConfig {
  scenario: 'race' | 'crash' | 'lease' | 'migrate' | 'step';
  /** step: the lease owner and time to live, and where it hangs (see step-worker.ts). */
  step?: Omit<StepWorkerConfig, 'plan_id' | 'instance_id'>;
  file: string;
  worker: number;
  plan_id: string;
  /** race: the steps this worker moves (in_progress, then completed); crash: the one it toggles. */
  steps: string[];
  /** race: how many steps it appends. */
  appends: number;
  /** lease: the instance leased, for how long the worker runs, and each lease's time to live. */
  instance_id?: string;
  duration_ms?: number;
  ttl_ms?: number;
}

export interface SqliteLeaseResult {
  worker: number;
  /** The token of every holding this worker acquired. */
  tokens: number[];
  /** Writes that landed under a lease: the title appended. */
  titles: string[];
  /** Writes made after a stall with the clock stopped at the stall's start, refused by the store's fencing. */
  stale_refused: number;
  /** Such writes that landed (nobody had taken the instance meanwhile). */
  stale_landed: string[];
  /** Writes under a lease that ran out before they committed (a slow machine): refused, never stored. */
  late_refused: number;
  held: number;
}

export interface SqliteRaceResult {
  worker: number;
  successes: { op: string; version: number; title?: string; step_id?: string }[];
  conflicts: number;
}

const config = JSON.parse(process.argv[2]!) as SqliteWorkerConfig;
const database = new Database(config.file) as unknown as SqliteDatabase;
const inner = sqliteAdapter({ database, busyTimeoutMs: 30_000 });
let conflicts = 0;
// Counts the commits refused with CONFLICT (each retried by the manager).
const adapter: StorageAdapter = {
  get: (kind, id) => inner.get(kind, id),
  list: (kind, query) => inner.list(kind, query),
  history: (id) => inner.history(id),
  getPlanWithInstance: (id) => inner.getPlanWithInstance!(id),
  commit: (batch) => inner.commit(batch).catch((error: unknown) => {
    if (InstancePlanError.is(error, 'CONFLICT')) conflicts++;
    throw error;
  }),
};
// Odd workers change through the adapter's one-transaction path, even ones read then commit, so
// the race meets both: conflicts (retried) happen only between the latter.
if (config.worker % 2 === 1) adapter.transact = (work) => inner.transact!(work);
const manager = new PlanManager({ adapter, retries: 10_000 });

async function race(): Promise<SqliteRaceResult> {
  const successes: SqliteRaceResult['successes'] = [];
  for (let i = 0; i < Math.max(config.steps.length, config.appends); i++) {
    const stepId = config.steps[i];
    if (stepId !== undefined) {
      successes.push({ op: 'start', step_id: stepId, version: (await manager.executeStep({ plan_id: config.plan_id, step_id: stepId, step_status: 'in_progress' })).version });
      const done = await manager.executeStep({ plan_id: config.plan_id, step_id: stepId, step_status: 'completed', step_output: `w${config.worker}` });
      successes.push({ op: 'complete', step_id: stepId, version: done.version });
    }
    if (i < config.appends) {
      const title = `w${config.worker}-append-${i}`;
      successes.push({ op: 'append', title, version: (await manager.updatePlan({ plan_id: config.plan_id, steps: [{ title, type: 'review' }] })).version });
    }
  }
  return { worker: config.worker, successes, conflicts };
}

async function crash(): Promise<never> {
  const stepId = config.steps[0]!;
  for (let i = 0; ; i++) {
    const to = i % 2 === 0 ? 'in_progress' : 'failed';
    const plan = await manager.executeStep({ plan_id: config.plan_id, step_id: stepId, step_status: to, ...(to === 'failed' ? { step_output: `attempt ${i}` } : {}) });
    // Acknowledged: printed only once the commit returned.
    process.stdout.write(`${plan.version}\n`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Acquire, append twice under the lease, then release (even rounds) or stall past the lease's
 * expiry and append once more through a manager whose clock stopped at the stall's start, as a
 * paused process would: only the store's fencing can refuse that write.
 */
async function leaseRace(): Promise<SqliteLeaseResult> {
  const owner = `w${config.worker}`;
  const result: SqliteLeaseResult = { worker: config.worker, tokens: [], titles: [], stale_refused: 0, stale_landed: [], late_refused: 0, held: 0 };
  const deadline = Date.now() + config.duration_ms!;
  for (let round = 0; Date.now() < deadline; round++) {
    let lease;
    try {
      lease = await manager.acquireLease(config.instance_id!, { owner, ttl_ms: config.ttl_ms! });
    } catch (error) {
      if (!InstancePlanError.is(error, 'LEASE_HELD')) throw error;
      result.held++;
      await sleep(3);
      continue;
    }
    result.tokens.push(lease.token);
    const worker = manager.withLease(lease);
    let expired = false;
    for (let k = 0; k < 2 && !expired; k++) {
      const title = `${owner}-t${lease.token}-${k}`;
      try {
        await worker.updatePlan({ plan_id: config.plan_id, steps: [{ title, type: 'review' }] });
        result.titles.push(title);
      } catch (error) {
        // On a loaded machine the lease can run out between two writes: the write is refused
        // and must not be stored (the test checks that), and this holding is over.
        if (!InstancePlanError.is(error, 'LEASE_LOST')) throw error;
        result.late_refused++;
        expired = true;
      }
    }
    if (expired) continue;
    if (round % 2 === 0) {
      await manager.releaseLease(worker.lease!);
      continue;
    }
    const stalledAt = new Date();
    await sleep(config.ttl_ms! + 30);
    const paused = new PlanManager({ adapter, retries: 10_000, clock: () => stalledAt }).withLease(worker.lease!);
    const title = `${owner}-t${lease.token}-stale`;
    try {
      await paused.updatePlan({ plan_id: config.plan_id, steps: [{ title, type: 'review' }] });
      result.stale_landed.push(title);
    } catch (error) {
      if (!InstancePlanError.is(error, 'LEASE_LOST')) throw error;
      result.stale_refused++;
    }
  }
  return result;
}

const lines = createInterface({ input: process.stdin });
console.log('ready');
lines.once('line', () => {
  lines.close();
  const scenarios = {
    race,
    lease: leaseRace,
    crash,
    migrate: async () => migrate(database),
    // Each acknowledged change on its own line; at the hang it waits for a line on stdin (or a kill).
    step: () =>
      stepWorker(
        manager,
        { ...config.step!, plan_id: config.plan_id, instance_id: config.instance_id! },
        (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
        () => new Promise<void>((resolve) => process.stdin.once('data', () => resolve()).resume()),
      ).then(() => ({ done: true })),
  };
  scenarios[config.scenario]().then(
    (result) => {
      console.log(JSON.stringify(result));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
