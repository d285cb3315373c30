// executeStep on the PostgreSQL adapter against a real server, beside the floor of one bare
// compare-and-set UPDATE round trip on the same table: what the library adds to the round trip
// a hand-written store would make anyway (its reads of the plan and the instance, the commit
// function with its history event, validation, immer). `node bench/postgres.mjs` prints the
// medians as JSON; `DATABASE_URL` names a server to use instead of a throwaway one.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { PlanManager } from '../dist/index.js';
import { migrate, postgresAdapter } from '../dist/adapters/postgres.js';
import { measureTogether } from './harness.mjs';
import { toggler } from './memory.mjs';

const run = promisify(execFile);

/** The newest installed server's binaries (Debian puts them under /usr/lib/postgresql/<version>/bin). */
function serverBin() {
  const found = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql, or set DATABASE_URL)');
  return found;
}

/** A free port on the loopback interface, asked of the kernel. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `fn(url)` with a PostgreSQL server: `DATABASE_URL` when it is set, otherwise a throwaway
 * cluster as .ci/with-postgres makes one (initdb in a temporary directory, 127.0.0.1 and a free
 * port only, trust auth, fsync off), stopped and deleted afterwards, on failure and on Ctrl-C too.
 * fsync off: the benchmark measures CPU and round trips, not this machine's disk; a durable
 * server adds one WAL flush to every write, to the bare UPDATE and to ours alike.
 */
export async function withThrowawayPostgres(fn) {
  if (process.env.DATABASE_URL) return fn(process.env.DATABASE_URL);
  const bin = serverBin();
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
  const root = process.getuid?.() === 0;
  const asServer = (command, args) => (root ? run('runuser', ['-u', 'postgres', '--', `${bin}/${command}`, ...args]) : run(`${bin}/${command}`, args));
  const dir = mkdtempSync('/tmp/instance-plan-bench-pg.');
  chmodSync(dir, 0o755);
  if (root) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, but there is no postgres user to run the server as');
    chownSync(dir, uid, -1);
  }
  const data = `${dir}/data`;
  let started = false;
  // Synchronous, so that it also runs from a signal handler.
  const cleanUp = () => {
    if (started) {
      const stop = [`${bin}/pg_ctl`, '-D', data, '-m', 'fast', '-w', 'stop'];
      spawnSync(root ? 'runuser' : stop[0], root ? ['-u', 'postgres', '--', ...stop] : stop.slice(1), { stdio: 'ignore' });
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const port = await freePort();
    await asServer('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=200`;
    started = true; // from here on a half-started server is stopped too
    try {
      await asServer('pg_ctl', ['-D', data, '-l', `${dir}/server.log`, '-w', '-t', '60', '-o', options, 'start']);
    } catch (error) {
      const log = spawnSync('cat', [`${dir}/server.log`], { encoding: 'utf8' }).stdout;
      throw new Error(`the PostgreSQL server did not start: ${error.message}\n${log}`);
    }
    await asServer('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'instance_plan']);
    return await fn(`postgres://postgres@127.0.0.1:${port}/instance_plan`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanUp();
  }
}

/**
 * A schema of its own for one benchmark, dropped afterwards, so a `DATABASE_URL` that names a
 * real database keeps nothing of it. Answers `fn({ pool, schema, adapter })`'s result.
 */
export async function withBenchSchema(url, fn) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const schema = `bench_${process.pid}_${Date.now().toString(36)}`;
  try {
    await migrate(pool, { schema });
    return await fn({ pool, schema, adapter: postgresAdapter({ client: pool, schema }) });
  } finally {
    try {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await pool.end();
    }
  }
}

const steps = (count) => Array.from({ length: count }, (_, i) => ({ title: `step ${i + 1}`, type: 'tool_call', details: { tool: 'search', arguments: { query: `q${i}` } } }));

/** A running instance with one plan of `size` steps, through `manager`. */
export async function runningPlan(manager, size = 10, instanceFields = { organization_id: 'org', agent_type_id: 'bench' }) {
  const instance = await manager.createInstance(instanceFields);
  await manager.transitionInstance(instance.id, { status: 'running' });
  const plan = await manager.createPlan({ instance_id: instance.id, title: 'bench plan', ordering: 'free', steps: steps(size) });
  return { instance, plan };
}

/**
 * Median µs per call, in the same interleaved rounds:
 * - `bare`: `UPDATE plans SET record = $1, version = version + 1 WHERE id = $2 AND version = $3`
 *   through the same pool, on a row of its own (a copy of a 10-step plan's row, so the record
 *   written is as large as ours), checked to change exactly one row each time;
 * - `executeStep`: `manager.executeStep` on a 10-step plan of a running instance (one step
 *   toggled in_progress <-> failed, each call a committed change: read the plan, read the
 *   instance, one commit-function call that also writes the instance's current_step on the way
 *   to in_progress and stores the history events);
 * - `leaseHolder`: the same through `manager.withLease(lease)` on another instance, so each
 *   commit also checks the lease (`SELECT ... FOR SHARE` in the commit function).
 * - the layers of a change, each alone: `roundTrip` (`SELECT 1`), `read` (the plan with its
 *   instance, one JOIN), `commitOnly` (one commit-function call as a lease holder makes it).
 * Plus `server`, the server's version string.
 */
export async function executeStepVersusBareUpdate({ rounds = 20 } = {}) {
  return withThrowawayPostgres((url) =>
    withBenchSchema(url, async ({ pool, schema, adapter }) => {
      const server = (await pool.query('SELECT version() AS version')).rows[0].version;
      const manager = new PlanManager({ adapter });

      const plain = await runningPlan(manager);
      const plainInputs = toggler(plain.plan, 4);

      const leased = await runningPlan(manager);
      const worker = manager.withLease(await manager.acquireLease(leased.instance.id, { owner: 'bench', ttl_ms: 600_000 }));
      const leasedInputs = toggler(leased.plan, 4);

      // The bare row: a copy of the plain plan's row under another id, written with its record.
      const bareId = 'bench-bare';
      await pool.query(
        `INSERT INTO "${schema}".plans (id, id_key, created_key, instance_id, status, plan_type, site_id, user_id, agent_id, version, record)
         SELECT $1, id_key, created_key, instance_id, status, plan_type, site_id, user_id, agent_id, version, record FROM "${schema}".plans WHERE id = $2`,
        [bareId, plain.plan.id],
      );
      const record = JSON.stringify(await manager.getPlan(plain.plan.id));
      const update = `UPDATE "${schema}".plans SET record = $1, version = version + 1 WHERE id = $2 AND version = $3`;
      let version = (await pool.query(`SELECT version FROM "${schema}".plans WHERE id = $1`, [bareId])).rows[0].version;
      version = Number(version);
      const bare = async () => {
        const { rowCount } = await pool.query(update, [record, bareId, version]);
        if (rowCount !== 1) throw new Error(`the bare UPDATE changed ${rowCount} rows at version ${version}`);
        version += 1;
      };

      // The layers of a change, each alone: the floor of any round trip; the read of a plan with
      // its instance (one JOIN); one commit-function call as a lease holder's (the plan written
      // over the version it expects, its event, the lease checked), on a plan of its own.
      /** A lease holder's commit through `through`, on a plan of its own: one call per change. */
      const leaseHolderCommits = async (through) => {
        const own = await runningPlan(manager);
        let plan = await manager.getPlan(own.plan.id);
        return async () => {
          const next = { ...plan, updated_at: new Date().toISOString(), version: plan.version + 1 };
          const event = { seq: next.version, record_id: next.id, record_kind: 'plan', at: next.updated_at, type: 'plan.updated', from: next.status, to: next.status, changes: [{ op: 'replace', path: ['updated_at'], value: next.updated_at }] };
          await through.commit({ writes: [{ kind: 'plan', record: next, expected_version: plan.version }], events: [event], checks: [{ kind: 'lease', id: own.instance.id, expected_version: null }] });
          plan = next;
        };
      };
      const commitOnly = await leaseHolderCommits(adapter);
      // The same commit from an adapter that does not announce it (notify: false): what pg_notify costs.
      const commitWithoutNotify = await leaseHolderCommits(postgresAdapter({ client: pool, schema, notify: false }));

      // Each call is counted, and afterwards each plan's stored version must have moved by as
      // many: every call measured was a committed change, none a no-op or a silent conflict.
      const calls = { executeStep: 0, leaseHolder: 0 };
      const medians = await measureTogether(
        {
          bare: { fn: bare, batch: 200 },
          executeStep: { fn: () => (calls.executeStep++, manager.executeStep(plainInputs())), batch: 50 },
          leaseHolder: { fn: () => (calls.leaseHolder++, worker.executeStep(leasedInputs())), batch: 50 },
          roundTrip: { fn: () => pool.query('SELECT 1'), batch: 200 },
          read: { fn: () => adapter.getPlanWithInstance(plain.plan.id), batch: 100 },
          commitOnly: { fn: commitOnly, batch: 100 },
          commitWithoutNotify: { fn: commitWithoutNotify, batch: 100 },
        },
        { rounds, warmup: 1 },
      );
      for (const [name, { plan }] of [['executeStep', plain], ['leaseHolder', leased]]) {
        const stored = await manager.getPlan(plan.id);
        if (stored.version !== plan.version + calls[name]) throw new Error(`${name}: ${calls[name]} calls moved the plan from version ${plan.version} to ${stored.version}`);
      }
      return { ...medians, server };
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const result = await executeStepVersusBareUpdate();
  console.log(JSON.stringify({ unit: 'µs (median per call)', ...result, seconds: Math.round((performance.now() - started) / 100) / 10 }, null, 2));
}
