// Another scope's id costs what an unknown id costs, so that timing does not tell them apart: a
// scoped manager's reads name its scope, and the memory, SQLite and PostgreSQL adapters decide
// in the store that another scope's record is absent. So for every call that takes an id, a
// foreign id and an unknown one make the same adapter calls with the same answers (nothing of
// the foreign record leaves the store), and the caller hears the same NOT_FOUND. The figures of
// timing itself come from `npm run load:id-timing` (a script: no timed assertion here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager, type StorageAdapter } from '../src';
import { migrate as migratePostgres, postgresAdapter } from '../src/adapters/postgres';
import { migrate as migrateSqlite, sqliteAdapter, type SqliteDatabase } from '../src/adapters/sqlite';

const folder = mkdtempSync(join(tmpdir(), 'instance-plan-foreign-ids-'));
const pglite = new PGlite();
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await pglite.close();
});

/** The adapter, recording each call with its answer (undefined, or which record came back). */
function recording(adapter: StorageAdapter) {
  const calls: string[] = [];
  const recorded = new Proxy(adapter, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || (name !== 'get' && name !== 'getPlanWithInstance')) return value;
      return async (...args: unknown[]) => {
        const answer = await value.apply(target, args);
        calls.push(`${String(name)}${name === 'get' ? ` ${String(args[0])}` : ''} -> ${answer === undefined ? 'nothing' : 'a record'}`);
        return answer;
      };
    },
  });
  return { adapter: recorded, calls };
}

let schemas = 0;
const adapters: [string, () => Promise<StorageAdapter>][] = [
  ['memory', async () => memoryAdapter()],
  [
    'SQLite',
    async () => {
      const database = new Database(join(folder, `foreign-${++schemas}.db`)) as unknown as SqliteDatabase;
      migrateSqlite(database);
      return sqliteAdapter({ database });
    },
  ],
  [
    'PostgreSQL (PGlite)',
    async () => {
      const schema = `foreign_ids_${++schemas}`;
      await migratePostgres(pglite, { schema });
      return postgresAdapter({ client: pglite, schema });
    },
  ],
];

describe.each(adapters)('%s: a foreign id and an unknown one', (_name, create) => {
  it('make the same adapter calls with the same answers, and are refused with the same NOT_FOUND', async () => {
    const { adapter, calls } = recording(await create());
    const owner = new PlanManager({ adapter, scope: { organization_id: 'owner' } });
    const instance = await owner.createInstance({ organization_id: 'owner', agent_type_id: 'a' });
    await owner.transitionInstance(instance.id, { status: 'running' });
    const details = { notes: 'x'.repeat(4_000) };
    const plan = await owner.createPlan({ instance_id: instance.id, title: 'big', steps: Array.from({ length: 50 }, (_, i) => ({ title: `step ${i}`, type: 'process' as const, details })) });
    const prober = new PlanManager({ adapter, scope: { organization_id: 'prober' } });
    const bySite = new PlanManager({ adapter, scope: { site_id: 'elsewhere' } });
    const step = plan.steps[0]!.id;
    const probes: [string, (id: string) => Promise<unknown>, string, string][] = [
      ['getPlan', (id) => prober.getPlan(id), plan.id, 'plan-unknown'],
      ['getPlan, scoped by site', (id) => bySite.getPlan(id), plan.id, 'plan-unknown'],
      ['updatePlan', (id) => prober.updatePlan({ plan_id: id, title: 'mine' }), plan.id, 'plan-unknown'],
      ['executeStep', (id) => prober.executeStep({ plan_id: id, step_id: step, step_status: 'in_progress' }), plan.id, 'plan-unknown'],
      ['getInstance', (id) => prober.getInstance(id), instance.id, 'instance-unknown'],
      ['transitionInstance', (id) => prober.transitionInstance(id, { status: 'paused' }), instance.id, 'instance-unknown'],
      ['recordTurn', (id) => prober.recordTurn(id, { tokens: 1 }), instance.id, 'instance-unknown'],
      ['the tool', (id) => prober.handle({ action: 'update', plan_id: id, title: 'mine' }).then((result) => { throw result; }), plan.id, 'plan-unknown'],
    ];
    for (const [name, call, foreign, unknown] of probes) {
      const heard = async (id: string) => {
        calls.length = 0;
        let refusal: unknown;
        try {
          await call(id);
        } catch (error) {
          refusal = InstancePlanError.is(error) ? error.toJSON() : error;
        }
        return { calls: [...calls], refusal: JSON.parse(JSON.stringify(refusal).replaceAll(id, '<id>')) };
      };
      const [a, b] = [await heard(foreign), await heard(unknown)];
      expect(a, name).toEqual(b);
      expect(a.calls.every((line) => line.endsWith('-> nothing')), `${name}: ${a.calls.join(', ')}`).toBe(true);
      expect(JSON.stringify(a.refusal), name).toContain('NOT_FOUND');
    }
    // Nothing of it changed.
    expect((await owner.getPlan(plan.id)).version).toBe(plan.version);
  });
});
