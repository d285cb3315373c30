// Several Node processes on one SQLite file: racing on one plan loses no update, and processes
// killed with SIGKILL in the middle of their commits leave every acknowledged change and no
// partial batch. The figures are printed where CI shows them.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanManager, replay, type Plan } from 'instance-plan';
import { migrate, SCHEMA_VERSION, sqliteAdapter, type SqliteDatabase } from 'instance-plan/sqlite';
import type { SqliteLeaseResult, SqliteRaceResult, SqliteWorkerConfig } from './support/sqlite-worker';
import { crashAndRecover, processHandle } from './support/crash-recovery';

const root = fileURLToPath(new URL('../', import.meta.url));
const workerFile = `${root}node_modules/.cache/instance-plan/sqlite-worker.mjs`;
const folder = mkdtempSync(join(tmpdir(), 'instance-plan-sqlite-processes-'));

beforeAll(async () => {
  mkdirSync(`${root}node_modules/.cache/instance-plan`, { recursive: true });
  await build({ entryPoints: [`${root}test/support/sqlite-worker.ts`], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: workerFile, external: ['better-sqlite3'], logLevel: 'silent' });
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A migrated file with a running instance and a free-order plan of `steps` steps. */
async function freshStore(name: string, steps: number) {
  const file = join(folder, `${name}.db`);
  const database = new Database(file) as unknown as SqliteDatabase & { close(): void };
  migrate(database);
  const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'racer' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'Raced', ordering: 'free', steps: Array.from({ length: steps }, (_, i) => ({ title: `step ${i}`, type: 'process' as const })) });
  return { file, database, manager, instance, plan };
}

function start(config: SqliteWorkerConfig) {
  const child = spawn(process.execPath, [workerFile, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const reader = createInterface({ input: child.stdout });
    reader.on('line', (line) => {
      if (line === 'ready') resolve();
      else lines.push(line);
    });
    child.on('exit', (code) => reject(new Error(`worker ${config.worker} exited (${code}) before it was ready: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child: child as ChildProcessWithoutNullStreams, ready, exited, lines, stderr: () => stderr };
}

/** Every stored event of a record, numbered 1, 2, 3, ... up to its version, replaying to it. */
async function checkHistory(manager: PlanManager, record: { id: string; version: number }) {
  const events = await manager.history(record.id);
  expect(events.map((event) => event.seq)).toEqual(Array.from({ length: record.version }, (_, i) => i + 1));
  expect(replay(events)).toEqual(record);
  return events;
}

describe('several Node processes on one SQLite file', () => {
  it('race on one plan: every change each process saw succeed is in the history, none lost', async () => {
    const processes = 4;
    const stepsEach = 6;
    const appendsEach = 6;
    const { file, database, manager, instance, plan } = await freshStore('race', processes * stepsEach);
    const workers = Array.from({ length: processes }, (_, worker) =>
      start({ scenario: 'race', file, worker, plan_id: plan.id, steps: plan.steps.slice(worker * stepsEach, (worker + 1) * stepsEach).map((step) => step.id), appends: appendsEach }),
    );
    await Promise.all(workers.map((worker) => worker.ready));
    for (const { child } of workers) child.stdin.end('go\n');
    const codes = await Promise.all(workers.map((worker) => worker.exited));
    expect(codes, workers.map((worker) => worker.stderr()).join('\n')).toEqual(workers.map(() => 0));
    const results = workers.map((worker) => JSON.parse(worker.lines.at(-1)!) as SqliteRaceResult);

    const stored: Plan = await manager.getPlan(plan.id);
    const events = await checkHistory(manager, stored);
    await checkHistory(manager, await manager.getInstance(instance.id));
    const successes = results.flatMap((result) => result.successes);
    // Every acknowledged change is a distinct version, present in the history.
    const versions = successes.map((success) => success.version);
    expect(new Set(versions).size).toBe(versions.length);
    for (const version of versions) expect(events[version - 1]!.seq).toBe(version);
    expect(stored.version).toBe(1 + successes.length);
    expect(stored.steps.filter((step) => step.status === 'completed')).toHaveLength(processes * stepsEach);
    expect(stored.steps.filter((step) => step.type === 'review').map((step) => step.title).sort()).toEqual(
      results.flatMap((result) => result.successes.filter((s) => s.op === 'append').map((s) => s.title!)).sort(),
    );
    const conflicts = results.reduce((sum, result) => sum + result.conflicts, 0);
    console.log(`[sqlite figures] race: ${JSON.stringify({ processes, operations: successes.length, conflicts_retried: conflicts, lost: 1 + successes.length - stored.version })}`);
    database.close();
  }, 120_000);

  it('migrate run by several processes at once on a new file: one creates the tables, the others find them', async () => {
    const file = join(folder, 'migrate-race.db');
    const workers = Array.from({ length: 6 }, (_, worker) => start({ scenario: 'migrate', file, worker, plan_id: '', steps: [], appends: 0 }));
    await Promise.all(workers.map((worker) => worker.ready));
    for (const { child } of workers) child.stdin.end('go\n');
    const codes = await Promise.all(workers.map((worker) => worker.exited));
    expect(codes, workers.map((worker) => worker.stderr()).join('\n')).toEqual(workers.map(() => 0));
    const results = workers.map((worker) => JSON.parse(worker.lines.at(-1)!) as { from: number; to: number });
    expect(results.filter((result) => result.from === 0)).toHaveLength(1);
    expect(results.every((result) => result.to === SCHEMA_VERSION)).toBe(true);
    const database = new Database(file);
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    database.close();
  }, 120_000);

  it('a lease handed between processes: tokens grow with every holding, and a stalled holder\'s write is refused once another took over', async () => {
    const processes = 4;
    const { file, database, manager, instance, plan } = await freshStore('lease', 1);
    const workers = Array.from({ length: processes }, (_, worker) =>
      start({ scenario: 'lease', file, worker, plan_id: plan.id, steps: [], appends: 0, instance_id: instance.id, duration_ms: 1_500, ttl_ms: 80 }),
    );
    await Promise.all(workers.map((worker) => worker.ready));
    for (const { child } of workers) child.stdin.end('go\n');
    const codes = await Promise.all(workers.map((worker) => worker.exited));
    expect(codes, workers.map((worker) => worker.stderr()).join('\n')).toEqual(workers.map(() => 0));
    const results = workers.map((worker) => JSON.parse(worker.lines.at(-1)!) as SqliteLeaseResult);

    const tokens = results.flatMap((result) => result.tokens).sort((a, b) => a - b);
    // Every holding got a token of its own, one more than the holding before it.
    expect(tokens).toEqual(Array.from({ length: tokens.length }, (_, i) => i + 1));
    const stored = await manager.getPlan(plan.id);
    await checkHistory(manager, stored);
    const titles = new Set(stored.steps.map((step) => step.title));
    // Every write acknowledged under a lease is stored, the stale ones that landed too; none refused is.
    for (const title of results.flatMap((result) => [...result.titles, ...result.stale_landed])) expect(titles.has(title), title).toBe(true);
    expect(stored.steps).toHaveLength(1 + results.reduce((sum, result) => sum + result.titles.length + result.stale_landed.length, 0));
    const staleRefused = results.reduce((sum, result) => sum + result.stale_refused, 0);
    const staleLanded = results.reduce((sum, result) => sum + result.stale_landed.length, 0);
    expect(staleRefused).toBeGreaterThan(0);
    // A stale write that landed did so before any later holding wrote: steps are appended in commit order.
    const tokenOf = (title: string) => Number(/-t(\d+)-/.exec(title)![1]);
    const order = stored.steps.slice(1).map((step) => step.title);
    for (const stale of results.flatMap((result) => result.stale_landed)) {
      const later = order.findIndex((title) => tokenOf(title) > tokenOf(stale));
      expect(later === -1 || order.indexOf(stale) < later, `${stale} landed after a later holding wrote`).toBe(true);
    }
    console.log(`[sqlite figures] leases: ${JSON.stringify({ processes, holdings: tokens.length, writes: stored.steps.length - 1, stale_refused: staleRefused, stale_landed: staleLanded, late_refused: results.reduce((sum, result) => sum + result.late_refused, 0), held: results.reduce((sum, result) => sum + result.held, 0) })}`);
    database.close();
  }, 120_000);

  it('processes killed with SIGKILL mid-commit leave every acknowledged change and no partial batch', async () => {
    const processes = 4;
    const { file, database, manager, instance, plan } = await freshStore('crash', processes);
    const workers = Array.from({ length: processes }, (_, worker) => start({ scenario: 'crash', file, worker, plan_id: plan.id, steps: [plan.steps[worker]!.id], appends: 0 }));
    await Promise.all(workers.map((worker) => worker.ready));
    for (const { child } of workers) child.stdin.write('go\n');
    // Let them commit for a while, then kill each at a different moment.
    for (const [i, { child }] of workers.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 300 + i * 137));
      child.kill('SIGKILL');
    }
    await Promise.all(workers.map((worker) => worker.exited));
    const acknowledged = workers.flatMap((worker) => worker.lines.map(Number));
    expect(acknowledged.length).toBeGreaterThan(0);

    const check = new Database(file);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    const stored = await manager.getPlan(plan.id);
    await checkHistory(manager, stored);
    await checkHistory(manager, await manager.getInstance(instance.id));
    // Nothing acknowledged is missing: the plan is at least at the newest version anyone was told about.
    expect(stored.version).toBeGreaterThanOrEqual(Math.max(...acknowledged));
    // Every version told to a process is one change in the history (a commit acknowledged is a commit stored).
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    console.log(`[sqlite figures] SIGKILL: ${JSON.stringify({ processes, acknowledged: acknowledged.length, stored_changes: stored.version - 1, lost: acknowledged.filter((v) => v > stored.version).length })}`);
    database.close();
  }, 120_000);

  it('a worker killed with SIGKILL mid-step, and one stopped with SIGSTOP: the next holder recovers, the step is failed then retried, the late write is refused', async () => {
    const { file, database, manager, instance, plan } = await freshStore('recovery', 3);
    const later = new PlanManager({ adapter: sqliteAdapter({ database }), clock: () => new Date(Date.now() + 60_000) });
    const figures = await crashAndRecover({
      manager,
      later,
      instance,
      plan,
      start: (owner, hang_at) => processHandle(start({ scenario: 'step', file, worker: 0, plan_id: plan.id, steps: [], appends: 0, instance_id: instance.id, step: { owner, ttl_ms: 30_000, hang_at } })),
    });
    console.log(`[sqlite figures] recovery: ${JSON.stringify(figures)}`);
    database.close();
  }, 120_000);
});
