// The PostgreSQL adapter against a real server, when DATABASE_URL names one (.ci/run starts one
// on 127.0.0.1 and sets it): the conformance suite over two pg Pools, then races between several
// Node processes, each with its own pool, on one plan and on one lease, then executeStep's
// throughput next to a bare compare-and-set UPDATE of the same plan row. The locking tests hold
// a transaction open to show who waits for whom: migrations of different schemas do not wait for
// each other, those of one schema take turns, and lease checks wait for lease writes.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PlanManager, replay, type CommittedChange, type HistoryEvent, type Plan } from 'instance-plan';
import { createFetchHandler } from 'instance-plan/http';
import { migrate, postgresAdapter, SCHEMA_VERSION } from 'instance-plan/postgres';
import { adapterConformance } from 'instance-plan/testing';
import { commitParams, commitStatement, prepareCommit } from '../src/adapters/postgres/commit';
import { createBatch, leaseRecord, planRecord, updateOf } from '../src/testing/conformance/fixtures';
import { dropSchema, freshSchema, pgConformance, pgFeedConformance } from './support/pg-harness';
import { sseReader } from './support/sse-reader';
import type { LeaseRaceResult, PlanRaceResult, WorkerConfig } from './support/pg-worker';
import { crashAndRecover, processHandle, type StepWorkerProcess } from './support/crash-recovery';
import { expectWhat010Wrote, postgresDumpInto } from './support/fixtures-0.1.0';

const url = process.env.DATABASE_URL;
const skipped = url ? '' : ' (skipped: DATABASE_URL is not set; .ci/run starts a server and sets it)';
// Said where a developer sees it: a whole skipped file shows only a count.
if (!url) console.warn(`test/postgres.server.test.ts: the real-server tests are skipped: DATABASE_URL is not set. Run them with: .ci/with-postgres npx vitest run test/postgres.server.test.ts`);

// The pools exist only with a server; the suite below is registered either way, so a run
// without one lists what it skipped and why.
const pools = url ? [new pg.Pool({ connectionString: url, max: 4 }), new pg.Pool({ connectionString: url, max: 4 })] : [];
afterAll(async () => {
  for (const pool of pools) await pool.end();
});

describe.skipIf(!url)(`PostgreSQL server${skipped}`, () => {
  adapterConformance({ ...pgConformance('PostgreSQL adapter (server, two pools)', pools[0]!, pools[1]!), describe, it });
  // Each handle listens on a connection of its own, as each process would.
  adapterConformance({
    ...pgFeedConformance('PostgreSQL adapter with LISTEN/NOTIFY (server, two pools)', pools[0]!, pools[1]!, async () => {
      const listen = new pg.Client({ connectionString: url });
      listen.on('error', () => {});
      await listen.connect();
      return { listen, close: () => listen.end() };
    }),
    describe,
    it,
  });
});

const root = fileURLToPath(new URL('../', import.meta.url));
const workerFile = `${root}node_modules/.cache/instance-plan/pg-worker.mjs`;

/** The history events of the `change` messages of a change stream, as they come. */
function streamedChanges(body: ReadableStream<Uint8Array>) {
  const reader = sseReader(body);
  const events: HistoryEvent[] = [];
  void (async () => {
    for (let message = await reader.next().catch(() => undefined); message; message = await reader.next().catch(() => undefined)) {
      if (message.event === 'change') events.push(...(message.data as CommittedChange).events);
    }
  })();
  return { events: () => events, cancel: () => reader.cancel() };
}

/** Starts one worker per config, lets them all go at once, and collects what each reports. */
async function race<R>(configs: WorkerConfig[]): Promise<R[]> {
  const children = configs.map((config) => {
    const child = spawn(process.execPath, [workerFile, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { child, lines, exited, stderr: () => stderr };
  });
  const timer = setTimeout(() => children.forEach(({ child }) => child.kill()), 90_000);
  try {
    for (const { lines, stderr } of children) {
      const first = await lines.next();
      if (first.value !== 'ready') throw new Error(`a worker did not start: ${String(first.value)} ${stderr()}`);
    }
    for (const { child } of children) child.stdin.end('go\n');
    const results: R[] = [];
    for (const { lines, exited, stderr } of children) {
      const line = await lines.next();
      const code = await exited;
      if (code !== 0 || typeof line.value !== 'string') throw new Error(`a worker failed (exit ${code}): ${stderr()}`);
      results.push(JSON.parse(line.value) as R);
    }
    return results;
  } finally {
    clearTimeout(timer);
    for (const { child } of children) if (child.exitCode === null) child.kill();
  }
}

/** The figures the closing note of issue 7 asks for, printed where CI shows them. */
function report(title: string, figures: Record<string, unknown>) {
  console.log(`[postgres figures] ${title}: ${JSON.stringify(figures)}`);
}

describe.skipIf(!url)(`PostgreSQL server faults${skipped}`, () => {
  it('a schema written by 0.1.0 (its pg_dump) is migrated to this version and reads back exactly what 0.1.0 wrote', async () => {
    const schema = freshSchema('from_0_1_0');
    const client = await pools[0]!.connect();
    try {
      await client.query(postgresDumpInto(schema));
    } finally {
      client.release(true); // the dump set this connection's search_path: do not hand it back to the pool
    }
    try {
      expect(await migrate(pools[0]!, { schema })).toEqual({ version: SCHEMA_VERSION });
      await expectWhat010Wrote(postgresAdapter({ client: pools[0]!, schema }));
    } finally {
      await dropSchema(pools[0]!, schema);
    }
  });

  it('under a stricter default isolation a race is a serialization failure: STORAGE_ERROR "serialization", nothing written', async () => {
    // The adapter expects READ COMMITTED, PostgreSQL's default; a database set to REPEATABLE READ
    // reports a concurrent update of the same row as SQLSTATE 40001 instead.
    const schema = freshSchema('isolation');
    await migrate(pools[0]!, { schema });
    const strict = [0, 1].map(() => new pg.Client({ connectionString: url, options: '-c default_transaction_isolation=repeatable\\ read' }));
    try {
      for (const client of strict) await client.connect();
      const plan = planRecord({ id: 'plan-1' });
      const [first, second] = strict.map((client) => postgresAdapter({ client, schema }));
      await first!.commit(createBatch(['plan', plan]));
      await second!.get('plan', 'plan-1'); // the schema check, out of the way of the race
      // Hold the row in a transaction of our own, so both commits queue behind it, then let go.
      const holder = await pools[0]!.connect();
      await holder.query('BEGIN');
      await holder.query(`UPDATE "${schema}".plans SET version = version WHERE id = 'plan-1'`);
      const racing = [first!.commit(updateOf('plan', plan, { title: 'A' }).batch), second!.commit(updateOf('plan', plan, { title: 'B' }).batch)];
      // Settled from the start: both may fail while the holder's COMMIT is still on its way back.
      const settled = Promise.allSettled(racing);
      // Both commits must have begun (and be waiting for the row) before the holder lets go.
      for (let waited = 0; ; waited += 20) {
        const { rows } = await pools[1]!.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if ((rows[0] as { n: number }).n >= 2) break;
        if (waited > 10_000) throw new Error('the two commits never queued behind the held row');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await holder.query('COMMIT');
      holder.release();
      const outcomes = await settled;
      const reasons = outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as { details?: { reason?: string } }).details?.reason : 'landed'));
      expect(reasons.sort()).toEqual(['serialization', 'serialization']);
      expect((await first!.get('plan', 'plan-1'))?.version).toBe(1);
      expect(await first!.history('plan-1')).toHaveLength(1);
    } finally {
      for (const client of strict) await client.end().catch(() => undefined);
      await dropSchema(pools[0]!, schema);
    }
  });
});

describe.skipIf(!url)(`PostgreSQL server locking${skipped}`, () => {
  /** Waits until `count` sessions wait for a lock of the given kind (a row, or an advisory lock). */
  async function waiting(count: number, event: 'advisory' | 'transactionid' | 'tuple') {
    for (let waited = 0; ; waited += 20) {
      const { rows } = await pools[1]!.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = $1`, [event]);
      if ((rows[0] as { n: number }).n >= count) return;
      if (waited > 10_000) throw new Error(`no session waited for a lock (${event}) within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('migrations of two different schemas run at once without waiting for each other; two of the same schema take turns, and the second finds the work done', async () => {
    const [held, other] = [freshSchema('migrate_held'), freshSchema('migrate_other')];
    // A migration of `held`, inside a transaction kept open: until COMMIT it holds whatever the
    // migration locks, as a slow migration in another process would.
    const holder = await pools[0]!.connect();
    try {
      await holder.query('BEGIN');
      expect(await migrate(holder, { schema: held })).toEqual({ version: SCHEMA_VERSION });
      // Another schema migrates to the end meanwhile: it does not wait for the open migration.
      const timeout = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 15_000).unref());
      const alone = await Promise.race([migrate(pools[1]!, { schema: other }), timeout]);
      expect(alone, `migrating "${other}" waited for the open migration of "${held}"`).toEqual({ version: SCHEMA_VERSION });
      const adapter = postgresAdapter({ client: pools[1]!, schema: other });
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      expect(await adapter.get('plan', 'plan-1')).toEqual(plan);
      // The same schema again: this one waits for the open migration (on its advisory lock) ...
      const again = migrate(pools[1]!, { schema: held });
      again.catch(() => undefined);
      await waiting(1, 'advisory');
      await holder.query('COMMIT');
      // ... and once it is committed, finds the schema at the current version and changes nothing.
      expect(await again).toEqual({ version: SCHEMA_VERSION });
      expect((await pools[1]!.query(`SELECT version FROM "${held}".schema_version`)).rows).toEqual([{ version: SCHEMA_VERSION }]);
      const afterwards = postgresAdapter({ client: pools[1]!, schema: held });
      await afterwards.commit(createBatch(['plan', plan]));
      expect(await afterwards.list('plan', { where: {}, limit: 5, offset: 0 })).toEqual({ records: [plan], total: 1 });
    } catch (error) {
      await holder.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      holder.release();
      await dropSchema(pools[0]!, held);
      await dropSchema(pools[0]!, other);
    }
  });

  it('a write checked against a lease not created yet waits for the acquisition in progress, and is then refused (LEASE_HELD)', async () => {
    const schema = freshSchema('locking');
    await migrate(pools[0]!, { schema });
    const manager = new PlanManager({ adapter: postgresAdapter({ client: pools[1]!, schema }) });
    try {
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'racer' });
      const plan = await manager.createPlan({ instance_id: instance.id, title: 'Checked', steps: [] });
      // An acquisition, inside a transaction held open: the lease row exists for nobody else yet.
      const lease = leaseRecord({ id: instance.id, expires_at: new Date(Date.now() + 60_000).toISOString() });
      const holder = await pools[0]!.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(commitStatement(`"${schema}"`), commitParams(prepareCommit({ writes: [{ kind: 'lease', record: lease, expected_version: null }], events: [] })));
        const write = manager.updatePlan({ plan_id: plan.id, title: 'written without the lease' });
        write.catch(() => undefined);
        await waiting(1, 'advisory');
        await holder.query('COMMIT');
        const error = await write.then(
          () => undefined,
          (caught: unknown) => caught as { code?: string; details?: unknown },
        );
        expect(error?.code).toBe('LEASE_HELD');
      } finally {
        holder.release();
      }
      expect(await manager.getPlan(plan.id)).toEqual(plan);
    } finally {
      await dropSchema(pools[0]!, schema);
    }
  });

  it('a lease takeover waits for a holder\'s write in progress: the write lands first, the holder\'s next one is refused', async () => {
    const schema = freshSchema('locking');
    await migrate(pools[0]!, { schema });
    let now = Date.now();
    const adapter = postgresAdapter({ client: pools[1]!, schema });
    const a = new PlanManager({ adapter, clock: () => new Date(now) });
    try {
      const instance = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'racer' });
      const plan = await a.createPlan({ instance_id: instance.id, title: 'Held', steps: [] });
      const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
      // The holder's write, held open inside a transaction after its check locked the lease row.
      const next = updateOf('plan', plan, { title: 'by the holder' });
      const holder = await pools[0]!.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(
          commitStatement(`"${schema}"`),
          commitParams(prepareCommit({ ...next.batch, checks: [{ kind: 'lease', id: instance.id, expected_version: worker.lease!.version }] })),
        );
        now += 1_000;
        const takeover = new PlanManager({ adapter, clock: () => new Date(now) }).acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 60_000 });
        takeover.catch(() => undefined);
        await waiting(1, 'transactionid');
        await holder.query('COMMIT');
        expect((await takeover).token).toBe(2);
      } finally {
        holder.release();
      }
      expect((await a.getPlan(plan.id)).title).toBe('by the holder');
      now -= 1_000; // the holder's clock says its lease still runs: only the store can refuse it
      await expect(worker.updatePlan({ plan_id: plan.id, title: 'too late' })).rejects.toMatchObject({ code: 'LEASE_LOST', details: { reason: 'taken' } });
    } finally {
      await dropSchema(pools[0]!, schema);
    }
  });
});

describe.skipIf(!url)(`several Node processes on one PostgreSQL${skipped}`, () => {
  const schema = freshSchema('race');
  let manager: PlanManager;

  beforeAll(async () => {
    mkdirSync(`${root}node_modules/.cache/instance-plan`, { recursive: true });
    await build({
      entryPoints: [`${root}test/support/pg-worker.ts`],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: workerFile,
      external: ['pg'],
      logLevel: 'silent',
    });
    await migrate(pools[0]!, { schema });
    manager = new PlanManager({ adapter: postgresAdapter({ client: pools[0]!, schema }) });
  });
  afterAll(async () => {
    if (url) await dropSchema(pools[0]!, schema);
  });

  it('race on one plan: every update each process saw succeed is in the history, none lost', async () => {
    const processes = 6;
    const stepsEach = 8;
    const appendsEach = 8;
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'racer' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({
      instance_id: instance.id,
      title: 'Raced',
      ordering: 'free',
      steps: Array.from({ length: processes * stepsEach }, (_, i) => ({ title: `Step ${i}`, type: 'process' as const })),
    });
    const started = Date.now();
    const results = await race<PlanRaceResult>(
      Array.from({ length: processes }, (_, worker) => ({
        scenario: 'plan',
        url: url!,
        schema,
        worker,
        plan_id: plan.id,
        steps: plan.steps.filter((_, i) => i % processes === worker).map((step) => step.id),
        appends: appendsEach,
      })),
    );
    const elapsed = Date.now() - started;
    const successes = results.flatMap((result) => result.successes);
    const operations = processes * (stepsEach * 2 + appendsEach);
    expect(successes).toHaveLength(operations);

    const stored = await manager.getPlan(plan.id);
    const history = await manager.history(plan.id);
    expect(stored.version).toBe(1 + operations);
    expect(history.map((event) => event.seq)).toEqual(Array.from({ length: 1 + operations }, (_, i) => i + 1));
    expect(replay(history)).toEqual(stored);
    // Each success names the version it made; that version's event must be exactly that change.
    expect(new Set(successes.map((success) => success.version)).size).toBe(operations);
    const lost = successes.filter((success) => !madeBy(history[success.version - 1], success));
    expect(lost).toEqual([]);
    for (const [worker, result] of results.entries()) {
      for (const success of result.successes.filter((each) => each.to === 'completed')) {
        expect(stored.steps.find((step) => step.id === success.step_id)).toMatchObject({ status: 'completed', output: `w${worker}:${success.step_id}` });
      }
    }
    const appended = stored.steps.slice(processes * stepsEach).map((step) => step.title).sort();
    expect(appended).toEqual(results.flatMap((result) => result.successes.filter((s) => s.op === 'append').map((s) => s.title!)).sort());
    const conflicts = results.reduce((sum, result) => sum + result.conflicts, 0);
    expect(conflicts, 'the processes must actually have collided').toBeGreaterThan(0);
    report('plan race', { processes, operations, conflicts_retried: conflicts, updates_lost: lost.length, elapsed_ms: elapsed });
  });

  it('LISTEN/NOTIFY: a subscriber in this process hears every commit of the others, once each and in commit order; so does a change stream over HTTP', async () => {
    const processes = 3;
    const listen = new pg.Client({ connectionString: url });
    listen.on('error', () => {});
    await listen.connect();
    try {
      const adapter = postgresAdapter({ client: pools[1]!, schema, listen });
      await adapter.listening;
      const listener = new PlanManager({ adapter });
      const instance = await listener.createInstance({ organization_id: 'org-1', agent_type_id: 'listened' });
      await listener.transitionInstance(instance.id, { status: 'running' });
      const plan = await listener.createPlan({ instance_id: instance.id, title: 'Listened', ordering: 'free', steps: Array.from({ length: processes * 2 }, (_, i) => ({ title: `Step ${i}`, type: 'process' as const })) });
      const heard: CommittedChange[] = [];
      const stop = listener.subscribe((change) => heard.push(change));
      // And a change stream over HTTP, on the same manager: what a remote client would follow.
      const handler = createFetchHandler(listener, { authenticate: () => ({ organization_id: 'org-1' }) });
      const response = await handler(new Request('http://localhost/events', { headers: { authorization: 'Bearer k' } }));
      const streamed = streamedChanges(response.body as ReadableStream<Uint8Array>);

      const results = await race<PlanRaceResult>(
        Array.from({ length: processes }, (_, worker) => ({ scenario: 'plan', url: url!, schema, worker, plan_id: plan.id, steps: plan.steps.filter((_, i) => i % processes === worker).map((step) => step.id), appends: 2 })),
      );
      const operations = results.flatMap((result) => result.successes).length;
      const history = await listener.history(plan.id);
      const expected = history.filter((event) => event.seq > 1);
      expect(expected).toHaveLength(operations);
      const planEvents = () => heard.flatMap((change) => change.events).filter((event) => event.record_id === plan.id);
      await vi.waitFor(() => expect(planEvents().length).toBeGreaterThanOrEqual(operations), { timeout: 10_000 });
      // Every commit of the other processes, once, in commit order, with its events as stored.
      expect(planEvents()).toEqual(expected);
      for (const change of heard.filter((each) => each.records.some((record) => record.id === plan.id))) {
        expect(change.records.find((record) => record.id === plan.id)!.version).toBe(change.events.find((event) => event.record_id === plan.id)!.seq);
      }
      await vi.waitFor(() => expect(streamed.events().filter((event) => event.record_id === plan.id).length).toBeGreaterThanOrEqual(operations), { timeout: 10_000 });
      expect(streamed.events().filter((event) => event.record_id === plan.id)).toEqual(expected);
      await streamed.cancel();
      stop();
      report('change feed across processes', { processes, commits_heard: planEvents().length, commits_made: operations, streamed_over_http: operations });
    } finally {
      await listen.end();
    }
  });

  it('race on one lease: one owner at a time, tokens grow with each, and a stalled owner\'s writes are refused once another took over', async () => {
    const processes = 4;
    const ttl = 150;
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'racer' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Leased', ordering: 'free', steps: [] });
    const results = await race<LeaseRaceResult>(
      Array.from({ length: processes }, (_, worker) => ({ scenario: 'lease', url: url!, schema, worker, instance_id: instance.id, plan_id: plan.id, duration_ms: 4_000, ttl_ms: ttl })),
    );
    // Holdings by token: who got each, and until when it held (its last acquire, renew or release).
    const holdings = new Map<number, { owner: string; from: string; until: string }>();
    for (const result of results) {
      for (const { op, lease } of result.leases) {
        const holding = holdings.get(lease.token);
        if (op === 'acquire') {
          expect(holding, `token ${lease.token} acquired twice`).toBeUndefined();
          holdings.set(lease.token, { owner: lease.owner!, from: lease.updated_at, until: lease.expires_at });
        } else {
          expect(holding?.owner).toBe(`w${result.worker}`);
          if (lease.expires_at > holding!.until || op === 'release') holding!.until = lease.expires_at;
        }
      }
    }
    const tokens = [...holdings.keys()].sort((a, b) => a - b);
    expect(tokens).toEqual(Array.from({ length: tokens.length }, (_, i) => i + 1));
    // Each new holding began (by its acquirer's clock) only once the one before had ended.
    for (const token of tokens.slice(1)) expect(holdings.get(token)!.from >= holdings.get(token - 1)!.until, `token ${token} began before ${token - 1} ended`).toBe(true);

    // The plan's history, in commit order: every write under a lease, by its holder, tokens never going back.
    const stored = await manager.getPlan(plan.id);
    const titles = stored.steps.map((step) => step.title);
    const writes = results.flatMap((result) => result.writes);
    expect(titles.slice().sort()).toEqual(writes.map((write) => write.title).sort());
    const order = titles.map((title) => {
      const [owner, token = ''] = title.split('#');
      expect(holdings.get(Number(token.slice(1)))?.owner, title).toBe(owner);
      return Number(token.slice(1));
    });
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const history = await manager.history(plan.id);
    expect(replay(history)).toEqual(stored);
    for (const write of writes) expect(stored.steps[write.version - 2]?.title).toBe(write.title);

    const refused = results.flatMap((result) => result.stale_refused);
    expect(refused.length, 'some stalled owner must have been taken over (and refused)').toBeGreaterThan(0);
    for (const each of refused) expect(each.reason).toBe('taken');
    for (const each of refused) expect(Number(each.current_token)).toBeGreaterThan(each.token);
    const lease = await postgresAdapter({ client: pools[0]!, schema }).get('lease', instance.id);
    expect(lease?.token).toBe(tokens.at(-1));
    report('lease race', {
      processes,
      holdings: tokens.length,
      writes_under_lease: writes.length,
      stale_writes_refused: refused.length,
      stale_writes_landed_untaken: results.reduce((sum, result) => sum + result.stale_landed, 0),
      acquisitions_refused_held: results.reduce((sum, result) => sum + result.held, 0),
      conflicts_retried: results.reduce((sum, result) => sum + result.conflicts, 0),
    });
  });

  it('a worker killed with SIGKILL mid-step, and one stopped with SIGSTOP: the next holder recovers, the step is failed then retried, the late write is refused', async () => {
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'crashing' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Crashed', steps: ['One', 'Two', 'Three'].map((title) => ({ title, type: 'process' as const })) });
    const later = new PlanManager({ adapter: postgresAdapter({ client: pools[1]!, schema }), clock: () => new Date(Date.now() + 60_000) });
    const start = (owner: string, hang_at: number) => processHandle(spawnWorker(owner, hang_at));
    const spawnWorker = (owner: string, hang_at: number): StepWorkerProcess => {
      const config: WorkerConfig = { scenario: 'step', url: url!, schema, step: { instance_id: instance.id, plan_id: plan.id, owner, ttl_ms: 30_000, hang_at } };
      const child = spawn(process.execPath, [workerFile, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const lines: string[] = [];
      const ready = new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => (line === 'ready' ? resolve() : lines.push(line)));
        child.on('exit', (code) => reject(new Error(`worker ${owner} exited (${code}) before it was ready: ${stderr}`)));
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      return { child, ready, exited, lines, stderr: () => stderr };
    };
    report('recovery after SIGKILL and SIGSTOP', await crashAndRecover({ manager, later, instance, plan, start }));
  }, 120_000);

  it('executeStep throughput next to a bare UPDATE ... WHERE version of the same plan row', async () => {
    const operations = 400;
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'bench' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const steps = Array.from({ length: 10 }, (_, i) => ({ title: `Step ${i}`, type: 'tool_call' as const, details: { tool: 'search', arguments: { query: `q${i}` } } }));
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Bench', ordering: 'free', steps });
    // A step going in_progress writes the plan and the instance; failing it writes the plan.
    let started = performance.now();
    let current: Plan = plan;
    for (let i = 0; i < operations; i++) {
      const step = plan.steps[(i >> 1) % plan.steps.length]!;
      current = await manager.executeStep(
        i % 2 === 0 ? { plan_id: plan.id, step_id: step.id, step_status: 'in_progress' } : { plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: `attempt ${i}: timed out` },
      );
    }
    const managerMs = performance.now() - started;
    expect(current.version).toBe(1 + operations);

    // The same row, the same payload, one compare-and-set UPDATE per operation and nothing else.
    const table = `"${schema}".plans`;
    let version = current.version;
    started = performance.now();
    for (let i = 0; i < operations; i++) {
      const record = JSON.stringify({ ...current, version: version + 1 });
      const result = await pools[0]!.query(`UPDATE ${table} SET record = $3::json, version = $4 WHERE id = $1 AND version = $2`, [plan.id, version, record, version + 1]);
      expect(result.rowCount).toBe(1);
      version++;
    }
    const bareMs = performance.now() - started;
    const perSecond = (ms: number) => Math.round((operations / ms) * 1000);
    report('throughput (one client, sequential)', {
      operations,
      plan_json_bytes: JSON.stringify(current).length,
      executeStep_ops_per_s: perSecond(managerMs),
      bare_update_ops_per_s: perSecond(bareMs),
      executeStep_ms_each: Number((managerMs / operations).toFixed(3)),
      bare_update_ms_each: Number((bareMs / operations).toFixed(3)),
    });
  });
});

/** Whether `event` is the change `success` reports: the same step move, or the append of that title. */
function madeBy(event: HistoryEvent | undefined, success: PlanRaceResult['successes'][number]): boolean {
  if (!event || event.seq !== success.version) return false;
  if (success.op === 'execute') return event.type === 'plan.step_executed' && event.step?.id === success.step_id && event.step?.to === success.to;
  return event.type === 'plan.updated' && event.changes.some((patch) => (patch.value as { title?: string } | undefined)?.title === success.title);
}
