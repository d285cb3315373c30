// npx instance-plan: the command line over real stores, run as a user runs it (a child process
// of the CLI bundled from the source): --help lists the verbs, exit codes are 0 done, 1 the store
// failed, 2 not understood; migrate, copy (a progress bar on a terminal, plain lines elsewhere),
// export and import move a store's records, histories and leases whole, SQLite to SQLite and,
// with a server, to PostgreSQL and back.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanManager, replay } from 'instance-plan';
import { migrate, sqliteAdapter } from 'instance-plan/sqlite';
import { run, USAGE } from '../src/cli/main';
import { copyProgress } from '../src/cli/progress';
import { cliBundle } from './support/cli-bundle';

const folder = mkdtempSync(join(tmpdir(), 'instance-plan-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let cli: string;
beforeAll(async () => {
  cli = await cliBundle('cli');
});

/** Runs the CLI as a process: its exit code and what it wrote. */
function cliRun(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: folder, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A SQLite file holding a whole life: an instance, its plan executed, a lease. */
async function filledStore(file: string) {
  const database = new Database(file);
  migrate(database);
  const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
  const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'researcher' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'Research', steps: [{ title: 'Search', type: 'tool_call' }, { title: 'Write', type: 'process' }] });
  await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
  await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'completed', step_output: 'found' });
  await manager.acquireLease(instance.id, { owner: 'worker-1', ttl_ms: 60_000 });
  database.close();
  return { instance, plan: await readPlan(file, plan.id) };
}

async function readPlan(file: string, id: string) {
  const database = new Database(file);
  try {
    const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
    const plan = await manager.getPlan(id);
    expect(replay(await manager.history(id))).toEqual(plan);
    return plan;
  } finally {
    database.close();
  }
}

describe('npx instance-plan', () => {
  it('--help lists the verbs (exit 0); no command, an unknown one or a bad store is not understood (exit 2)', async () => {
    const help = await cliRun(['--help']);
    expect([help.code, help.stdout.trim()]).toEqual([0, USAGE]);
    for (const verb of ['inspect <store>', 'migrate <store>', 'copy <from> <to>', 'export <store>', 'import <store>']) expect(help.stdout).toContain(verb);
    expect((await cliRun(['--version'])).stdout.trim()).toBe('0.0.0-test');
    const none = await cliRun([]);
    expect([none.code, none.stderr]).toEqual([2, `${USAGE}\n`]);
    const unknown = await cliRun(['inspekt', 'sqlite:x.db']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('instance-plan: unknown command "inspekt"');
    const badStore = await cliRun(['export', 'mysql://x']);
    expect([badStore.code, badStore.stderr.split('\n')[0]]).toEqual([2, 'instance-plan: "mysql://x" names no store: write sqlite:<file> (sqlite:./plans.db) or postgres://user@host/database']);
    const missing = await cliRun(['export', 'sqlite:./nowhere.db']);
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([2, 'instance-plan: sqlite:./nowhere.db: no such file (migrate creates one: instance-plan migrate sqlite:./nowhere.db)']);
    expect((await cliRun(['copy', 'sqlite:a.db'])).code).toBe(2);
    expect((await cliRun(['migrate', 'sqlite:a.db', 'extra'])).stderr).toContain('migrate takes 1 argument, got 2: sqlite:a.db extra');
  });

  it('inspect over a PostgreSQL server it cannot reach says so, without the password (exit 1)', async () => {
    const unreachable = await cliRun(['inspect', 'postgres://agent:secret@127.0.0.1:1/plans', '--port', '0']);
    expect([unreachable.code, unreachable.stdout]).toEqual([1, '']);
    expect(unreachable.stderr).toMatch(/^instance-plan inspect: cannot connect to postgres:\/\/agent:\*\*\*@127\.0\.0\.1:1\/plans: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
    expect(unreachable.stderr).not.toContain('secret');
  });

  it('migrate creates a store, then says it is current; a file of another program is refused (exit 1) and left as it was', async () => {
    const first = await cliRun(['migrate', 'sqlite:./new.db']);
    expect([first.code, first.stdout]).toEqual([0, 'sqlite:./new.db migrated from format 0 to 2\n']);
    expect((await cliRun(['migrate', 'sqlite:./new.db'])).stdout).toBe('sqlite:./new.db is at format 2 already\n');
    const other = join(folder, 'notes.db');
    const database = new Database(other);
    database.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    database.close();
    const refused = await cliRun(['migrate', `sqlite:${other}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^instance-plan migrate: SQLite migrate refused: this database belongs to another program .*Nothing was changed\.\n$/);
  });

  it('copy moves every record, its history and its lease; a second copy finds everything there; export and import round-trip', async () => {
    const { plan } = await filledStore(join(folder, 'from.db'));
    const copied = await cliRun(['copy', 'sqlite:./from.db', 'sqlite:./to.db']);
    expect(copied.code, copied.stderr).toBe(0);
    expect(copied.stdout).toBe('copied sqlite:./from.db to sqlite:./to.db: instances 1 written, 0 updated, 0 already there; plans 1 written, 0 updated, 0 already there; leases 1 written, 0 updated, 0 already there; 6 events\n');
    // Not a terminal: plain lines (instances and plans; leases go with their instances).
    expect(copied.stderr).toBe('instances: 1 of 1\nplans: 1 of 1\n');
    expect(await readPlan(join(folder, 'to.db'), plan.id)).toEqual(plan);
    expect((await cliRun(['copy', 'sqlite:./from.db', 'sqlite:./to.db'])).stdout).toContain('plans 0 written, 0 updated, 1 already there');

    const exported = await cliRun(['export', 'sqlite:./from.db']);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({ format: 'instance-plan dump', version: 2 });
    expect(lines.at(-1)).toEqual({ kind: 'end', records: 3 });
    const imported = await cliRun(['import', 'sqlite:./imported.db'], exported.stdout);
    expect([imported.code, imported.stdout]).toEqual([0, 'imported into sqlite:./imported.db\n']);
    expect(await readPlan(join(folder, 'imported.db'), plan.id)).toEqual(plan);
    // A dump cut short is refused, naming what is missing, and the store says so (exit 1).
    const cut = await cliRun(['import', 'sqlite:./cut.db'], exported.stdout.split('\n').slice(0, -2).join('\n'));
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/^instance-plan import: /);
  });

  const url = process.env.DATABASE_URL;
  it.skipIf(!url)('copies SQLite to PostgreSQL and back, whole (with a server: DATABASE_URL)', async () => {
    const { plan } = await filledStore(join(folder, 'to-pg.db'));
    const schema = `cli_${process.pid}`;
    const target = `${url}${url!.includes('?') ? '&' : '?'}schema=${schema}`;
    try {
      expect((await cliRun(['migrate', target])).code).toBe(0);
      const there = await cliRun(['copy', 'sqlite:./to-pg.db', target]);
      expect(there.code, there.stderr).toBe(0);
      const back = await cliRun(['copy', target, 'sqlite:./from-pg.db']);
      expect(back.code, back.stderr).toBe(0);
      expect(await readPlan(join(folder, 'from-pg.db'), plan.id)).toEqual(plan);
      expect(there.stdout).not.toMatch(/:[^@/]+@/); // no password in what it prints
    } finally {
      const pool = new pg.Pool({ connectionString: url });
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});

describe('copy progress', () => {
  it('on a terminal, one bar redrawn in place, ended by a newline; elsewhere a line per tenth', () => {
    const written: string[] = [];
    const terminal = copyProgress({ isTTY: true, columns: 60, write: (text) => written.push(text) });
    for (let done = 1; done <= 4; done++) terminal.onProgress({ kind: 'plan', id: `p${done}`, outcome: 'written', done, total: 4 });
    terminal.done();
    expect(written).toEqual(['\rplans     [#####...............] 1/4', '\rplans     [##########..........] 2/4', '\rplans     [###############.....] 3/4', '\rplans     [####################] 4/4', '\n']);
    const lines: string[] = [];
    const log = copyProgress({ isTTY: false, write: (text) => lines.push(text) });
    for (let done = 1; done <= 100; done++) log.onProgress({ kind: 'instance', id: `i${done}`, outcome: 'written', done, total: 100 });
    expect(lines).toEqual(['instances: 1 of 100\n', ...Array.from({ length: 10 }, (_, i) => `instances: ${(i + 1) * 10} of 100\n`)]);
  });

  it('run() answers the exit code with the given streams (what the executable uses)', async () => {
    const out: string[] = [];
    const io = { stdin: (async function* () {})(), stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => out.push(text) }, version: '1.2.3' };
    expect(await run(['-v'], io)).toBe(0);
    expect(out).toEqual(['1.2.3\n']);
  });
});
