// What the PostgreSQL load runs share: a migrated schema of their own on the server (dropped
// afterwards), the plans their workers rename, and the check that no acknowledged rename was lost.
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { PlanManager, replay } from '../../dist/index.js';
import { migrate, postgresAdapter } from '../../dist/adapters/postgres.js';

/** Runs `fn(pool)` with a pool on `schema`, freshly migrated, and drops the schema afterwards. */
export async function withSchema(url, schema, fn) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {}); // a dropped idle connection is the pool's to replace
  try {
    await migrate(pool, { schema });
    return await fn(pool);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.end();
  }
}

/** A manager on the schema, with one instance and `count` empty plans for workers to rename. */
export async function plansToRename(pool, schema, count) {
  const manager = new PlanManager({ adapter: postgresAdapter({ client: pool, schema }) });
  const instance = await manager.createInstance({ organization_id: 'load', agent_type_id: 'racer' });
  const planIds = [];
  for (let i = 0; i < count; i++) planIds.push((await manager.createPlan({ instance_id: instance.id, title: `plan ${i}`, steps: [] })).id);
  return { manager, planIds };
}

/**
 * Of the acknowledged renames (`[plan_id, title]`), how many no history holds (`lost`, which
 * must be 0), and how many of the plans' histories replay to the stored plan.
 */
export async function checkRenames(manager, planIds, acknowledged) {
  const written = new Map(planIds.map((id) => [id, new Set()]));
  let replaying = 0;
  for (const id of planIds) {
    const events = await manager.history(id);
    for (const event of events) {
      const title = event.changes.find((change) => change.path.length === 1 && change.path[0] === 'title')?.value;
      if (typeof title === 'string') written.get(id).add(title);
    }
    if (isDeepStrictEqual(replay(events), await manager.getPlan(id))) replaying++;
  }
  return { lost: acknowledged.filter(([id, title]) => !written.get(id).has(title)).length, replaying };
}
