// Nothing acknowledged is lost while the store and the workers fail. Six worker processes, each
// with its own pg Pool (with its 'error' listener, as docs/scaling.md sets it up) and PlanManager,
// rename three plans at random on one PostgreSQL (a throwaway server on 127.0.0.1, or
// DATABASE_URL) while this script ends every server connection but its own with
// pg_terminate_backend every 2 s and kills a random worker with SIGKILL every 3 s (starting
// another). A worker reports each acknowledged rename before its next call, so a SIGKILL loses at
// most a rename it never heard acknowledged. Then every acknowledged rename is looked for in its
// plan's history, and every history must replay to its plan. A worker that dies of anything but
// our SIGKILL (an unhandled 'error' event, say) is counted too. Bounded; writes reports/load-faults.json.
//   npm run build && node scripts/load/faults.mjs [seconds, default 20]
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { InstancePlanError, PlanManager } from '../../dist/index.js';
import { postgresAdapter } from '../../dist/adapters/postgres.js';
import { withThrowawayPostgres } from '../../bench/postgres.mjs';
import { checkRenames, plansToRename, withSchema } from './postgres-runs.mjs';

const WORKERS = 6;
const PLANS = 3;

if (process.argv[2] === 'worker') {
  const [, , , url, schema, planIds, worker] = process.argv;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {}); // a dropped idle connection is the pool's to replace
  const manager = new PlanManager({ adapter: postgresAdapter({ client: pool, schema }) });
  const plans = JSON.parse(planIds);
  for (let n = 0; ; n++) {
    const plan_id = plans[Math.floor(Math.random() * plans.length)];
    const title = `w${worker}-${process.pid}-${n}`;
    try {
      await manager.updatePlan({ plan_id, title });
      await new Promise((resolve) => process.send({ acknowledged: [plan_id, title] }, resolve));
    } catch (error) {
      const code = InstancePlanError.is(error) ? `${error.code}${error.details?.reason ? `:${error.details.reason}` : ''}` : 'THROWN';
      process.send({ refused: code });
    }
  }
}

const seconds = Number(process.argv[2] ?? 20);
if (!(seconds >= 5 && seconds <= 300)) throw new Error('seconds: 5 to 300');

const schema = `load_faults_${process.pid}`;
const report = await withThrowawayPostgres((url) =>
  withSchema(url, schema, async (pool) => {
    const { manager, planIds } = await plansToRename(pool, schema, PLANS);

    const acknowledged = [];
    const refused = {};
    const figures = { workers_started: 0, killed_by_us: 0, died_otherwise: 0, backends_terminated: 0 };
    const script = fileURLToPath(import.meta.url);
    const live = new Set();
    const killed = new WeakSet();
    let stopping = false;
    const start = (worker) => {
      const child = fork(script, ['worker', url, schema, JSON.stringify(planIds), String(worker)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      figures.workers_started++;
      live.add(child);
      child.on('message', (message) => {
        if (message.acknowledged) acknowledged.push(message.acknowledged);
        else refused[message.refused] = (refused[message.refused] ?? 0) + 1;
      });
      child.on('exit', () => {
        live.delete(child);
        if (!killed.has(child)) figures.died_otherwise++;
        if (!stopping) start(worker);
      });
    };
    for (let i = 0; i < WORKERS; i++) start(i);

    const terminator = setInterval(() => {
      pool
        .query('SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = $1) t', ['client backend'])
        .then((result) => (figures.backends_terminated += result.rows[0].n))
        .catch(() => {});
    }, 2_000);
    const killer = setInterval(() => {
      const victims = [...live];
      const victim = victims[Math.floor(Math.random() * victims.length)];
      if (!victim) return;
      killed.add(victim);
      figures.killed_by_us++;
      victim.kill('SIGKILL');
    }, 3_000);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    stopping = true;
    clearInterval(terminator);
    clearInterval(killer);
    for (const child of live) {
      killed.add(child);
      child.kill('SIGKILL');
    }
    while (live.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));

    // Every acknowledged rename is in its plan's history; every history replays to its plan.
    const { lost, replaying } = await checkRenames(manager, planIds, acknowledged);
    return {
      date: new Date().toISOString(),
      seconds,
      workers: WORKERS,
      plans: PLANS,
      ...figures,
      acknowledged: acknowledged.length,
      refused,
      lost,
      histories_replaying_to_their_plan: `${replaying}/${PLANS}`,
    };
  }),
);

mkdirSync(new URL('../../reports/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../reports/load-faults.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
if (report.lost !== 0 || report.died_otherwise !== 0) process.exitCode = 1;
