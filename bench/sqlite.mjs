// The SQLite adapter (better-sqlite3, a file in WAL mode): executeStep against a raw prepared
// compare-and-set UPDATE of the same row (same process, same handle, same pragmas), interleaved;
// and listPlans as the store grows. Medians in µs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { PlanManager } from '../dist/index.js';
import { migrate, sqliteAdapter } from '../dist/adapters/sqlite.js';
import { measureTogether } from './harness.mjs';
import { profileShares } from './profile.mjs';
import { listGrowth, toggler } from './memory.mjs';
import { runningPlan } from './postgres.mjs';

async function withFile(fn) {
  const folder = mkdtempSync(join(tmpdir(), 'instance-plan-bench-sqlite-'));
  try {
    return await fn(join(folder, 'bench.db'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export async function executeStepVersusRawUpdate({ rounds = 20 } = {}) {
  return withFile(async (file) => {
    const database = new Database(file);
    migrate(database);
    const adapter = sqliteAdapter({ database });
    const manager = new PlanManager({ adapter });
    const { plan } = await runningPlan(manager);
    const inputs = toggler(plan, 4);
    // The raw row: a copy of the plan's row under another id, updated with its own record.
    database.prepare(`INSERT INTO plans SELECT 'bench-raw', id_key, created_key, instance_id, status, plan_type, site_id, user_id, agent_id, version, record FROM plans WHERE id = ?`).run(plan.id);
    const record = JSON.stringify(await manager.getPlan(plan.id));
    const update = database.prepare('UPDATE plans SET record = ?, version = version + 1 WHERE id = ? AND version = ?');
    let version = database.prepare("SELECT version FROM plans WHERE id = 'bench-raw'").get().version;
    const raw = () => {
      if (update.run(record, 'bench-raw', version).changes !== 1) throw new Error('the raw UPDATE changed no row');
      version += 1;
    };
    // The statements of one change, raw (no JSON, no manager): BEGIN IMMEDIATE, the plan with
    // its instance, the version check, the UPDATE, the event, COMMIT; on a row of its own.
    database.prepare(`INSERT INTO plans SELECT 'bench-same', id_key, created_key, instance_id, status, plan_type, site_id, user_id, agent_id, version, record FROM plans WHERE id = ?`).run(plan.id);
    const join = database.prepare('SELECT p.record AS plan, i.record AS instance FROM plans p LEFT JOIN instances i ON i.id = p.instance_id WHERE p.id = ?');
    const check = database.prepare('SELECT instance_id, status, version FROM plans WHERE id = ?');
    const event = database.prepare('INSERT INTO events (record_id, seq, event) VALUES (?, ?, ?)');
    const eventText = JSON.stringify({ seq: 0, record_id: 'bench-same', type: 'plan.step_executed', changes: [{ op: 'replace', path: ['steps', 4, 'status'], value: 'failed' }] });
    let sameVersion = database.prepare("SELECT version FROM plans WHERE id = 'bench-same'").get().version;
    const sameStatements = () => {
      database.exec('BEGIN IMMEDIATE');
      join.get('bench-same');
      check.get('bench-same');
      if (update.run(record, 'bench-same', sameVersion).changes !== 1) throw new Error('the raw change changed no row');
      event.run('bench-same', sameVersion + 1, eventText);
      database.exec('COMMIT');
      sameVersion += 1;
    };
    let calls = 0;
    const medians = await measureTogether(
      {
        raw: { fn: raw, batch: 500 },
        sameStatements: { fn: sameStatements, batch: 300 },
        executeStep: { fn: () => (calls++, manager.executeStep(inputs())), batch: 200 },
      },
      { rounds },
    );
    const stored = await manager.getPlan(plan.id);
    if (stored.version !== plan.version + calls) throw new Error(`executeStep: ${calls} calls moved the plan from ${plan.version} to ${stored.version}`);
    const journal = database.pragma('journal_mode', { simple: true });
    const synchronous = database.pragma('synchronous', { simple: true });
    database.close();
    return { ...medians, journal, synchronous };
  });
}

/** All of executeStep's time (better-sqlite3, a 10-step plan) by the source file or package it is spent in. */
export async function profileExecuteStep() {
  return withFile(async (file) => {
    const database = new Database(file);
    try {
      migrate(database);
      const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
      const { plan } = await runningPlan(manager);
      const inputs = toggler(plan, 4);
      return await profileShares(() => manager.executeStep(inputs()), { calls: 5_000, warmup: 1_000 });
    } finally {
      database.close();
    }
  });
}

/** listPlans({ instance_id, limit: 20 }) over 1,000 to 100,000 stored plans (a fifth match). */
export async function sqliteListGrowth() {
  return withFile(async (file) => {
    let n = 0;
    const handles = [];
    try {
      return await listGrowth(() => {
        const database = new Database(`${file}.${++n}`);
        handles.push(database);
        migrate(database);
        return sqliteAdapter({ database });
      });
    } finally {
      for (const handle of handles) handle.close();
    }
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify({ executeStep: await executeStepVersusRawUpdate(), list: await sqliteListGrowth() }, null, 2));
}
