// How often writers racing on the same records still hear CONFLICT: six worker processes, each
// with its own pg Pool and PlanManager, rename three plans at random for a fixed time on one
// PostgreSQL (a throwaway server on 127.0.0.1, or DATABASE_URL), once retrying at once (no
// backoff), once with the defaults, and once more with the manager options in LOAD_OPTIONS (JSON)
// when set. Then every acknowledged rename is looked for in its plan's history: lost must be 0.
// Bounded in time; writes reports/load-conflicts.json.
//   npm run build && node scripts/load/conflicts.mjs [seconds per run, default 10]
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
  // One worker: rename a random plan of the three, as fast as it can, until the deadline.
  const [, , , url, schema, planIds, backoff, seconds, worker] = process.argv;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {}); // a dropped idle connection is the pool's to replace
  const manager = new PlanManager({ adapter: postgresAdapter({ client: pool, schema }), ...(backoff === 'none' ? { backoff: { initialMs: 0 } } : backoff === 'default' ? {} : JSON.parse(backoff)) });
  const plans = JSON.parse(planIds);
  const acknowledged = [];
  const refused = {};
  const deadline = Date.now() + Number(seconds) * 1000;
  for (let n = 0; Date.now() < deadline; n++) {
    const plan_id = plans[Math.floor(Math.random() * plans.length)];
    const title = `w${worker}-${n}`;
    try {
      await manager.updatePlan({ plan_id, title });
      acknowledged.push([plan_id, title]);
    } catch (error) {
      const code = InstancePlanError.is(error) ? error.code : 'THROWN';
            refused[code] = (refused[code] ?? 0) + 1;
    }
  }
  await pool.end();
  process.send({ acknowledged, refused });
  process.exit(0);
}

const seconds = Number(process.argv[2] ?? 10);
if (!(seconds > 0 && seconds <= 120)) throw new Error('seconds per run: 1 to 120');

const results = await withThrowawayPostgres(async (url) => {
  const runs = {};
  for (const options of ['none', 'default', ...(process.env.LOAD_OPTIONS ? [process.env.LOAD_OPTIONS] : [])]) {
    const backoff = options;
    const schema = `load_conflicts_${Object.keys(runs).length}_${process.pid}`;
    await withSchema(url, schema, async (pool) => {
      const { manager, planIds } = await plansToRename(pool, schema, PLANS);
      const script = fileURLToPath(import.meta.url);
      const outcomes = await Promise.all(
        Array.from({ length: WORKERS }, (_, worker) => new Promise((resolve, reject) => {
          const child = fork(script, ['worker', url, schema, JSON.stringify(planIds), backoff, String(seconds), String(worker)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          child.once('message', resolve);
          child.once('exit', (code) => code !== 0 && reject(new Error(`worker ${worker} exited with ${code}`)));
        })),
      );
      // Every acknowledged rename is in its plan's history; every history replays to its plan.
      const acknowledged = outcomes.flatMap((outcome) => outcome.acknowledged);
      const { lost, replaying } = await checkRenames(manager, planIds, acknowledged);
      const refused = {};
      for (const outcome of outcomes) for (const [code, n] of Object.entries(outcome.refused)) refused[code] = (refused[code] ?? 0) + n;
      const operations = acknowledged.length + Object.values(refused).reduce((sum, n) => sum + n, 0);
      runs[backoff] = {
        operations,
        acknowledged: acknowledged.length,
        conflicts: refused.CONFLICT ?? 0,
        conflict_share: Number((((refused.CONFLICT ?? 0) / operations) * 100).toFixed(3)),
        other_refusals: Object.fromEntries(Object.entries(refused).filter(([code]) => code !== 'CONFLICT')),
        lost,
        histories_replaying_to_their_plan: `${replaying}/${PLANS}`,
      };
      console.error(`[load] backoff ${backoff}: ${JSON.stringify(runs[backoff])}`);
    });
  }
  return runs;
});

const report = { date: new Date().toISOString(), workers: WORKERS, plans: PLANS, seconds_per_run: seconds, runs: results };
mkdirSync(new URL('../../reports/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../reports/load-conflicts.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
