// Whether timing tells another scope's real id from an id never used. A manager scoped to one
// organization probes ids of another organization's records (a small plan, a 200-step plan, an
// instance) and unknown ids of the same shape, interleaved in random order, 1,500 probes each,
// through the calls that read by id (getPlan, updatePlan, executeStep, getInstance). Every probe is
// NOT_FOUND; what is reported is the median time of each kind, their difference, and how often
// an attacker taking the median of 15 or 30 probes per id picks the real one of a pair (50% is
// chance). On PostgreSQL (a throwaway server on 127.0.0.1, or DATABASE_URL) and the memory adapter.
// Bounded; writes reports/id-timing.json.
//   npm run build && node scripts/load/id-timing.mjs [probes, default 1500]
import { mkdirSync, writeFileSync } from 'node:fs';
import { InstancePlanError, PlanManager, memoryAdapter } from '../../dist/index.js';
import { postgresAdapter } from '../../dist/adapters/postgres.js';
import { withThrowawayPostgres } from '../../bench/postgres.mjs';
import { withSchema } from './postgres-runs.mjs';

const probes = Number(process.argv[2] ?? 1500);
if (!(probes >= 100 && probes <= 10_000)) throw new Error('probes: 100 to 10,000');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** How often the median of `k` probes of each id ranks the real id slower, over disjoint samples. */
function attackerAccuracy(real, unknown, k) {
  let right = 0;
  let trials = 0;
  for (let start = 0; start + k <= Math.min(real.length, unknown.length); start += k) {
    const a = median(real.slice(start, start + k));
    const b = median(unknown.slice(start, start + k));
    right += a > b ? 1 : a === b ? 0.5 : 0;
    trials++;
  }
  return Number(((right / trials) * 100).toFixed(1));
}

async function probe(call) {
  const started = performance.now();
  try {
    await call();
  } catch (error) {
    if (!InstancePlanError.is(error) || error.code !== 'NOT_FOUND') throw error;
    return performance.now() - started;
  }
  throw new Error('a probe was not refused NOT_FOUND');
}

async function measure(adapter) {
  const owner = new PlanManager({ adapter, scope: { organization_id: 'owner' } });
  const prober = new PlanManager({ adapter, scope: { organization_id: 'prober' } });
  const instance = await owner.createInstance({ organization_id: 'owner', agent_type_id: 'a' });
  await owner.transitionInstance(instance.id, { status: 'running' });
  const small = await owner.createPlan({ instance_id: instance.id, title: 'small', steps: [{ title: 'one', type: 'process' }] });
  const details = { notes: 'x'.repeat(4_880) };
  const big = await owner.createPlan({ instance_id: instance.id, title: 'big', steps: Array.from({ length: 200 }, (_, i) => ({ title: `step ${i}`, type: 'process', details })) });
  // Unknown ids of the same length and alphabet as the real ones.
  const unknownLike = (id) => id.slice(0, -6) + Math.random().toString(36).slice(2, 8).padEnd(6, '0');
  const cases = {
    'getPlan (small plan)': [small.id, (id) => prober.getPlan(id)],
    'getPlan (200 steps)': [big.id, (id) => prober.getPlan(id)],
    'updatePlan (200 steps)': [big.id, (id) => prober.updatePlan({ plan_id: id, title: 'mine now' })],
    'executeStep (200 steps)': [big.id, (id) => prober.executeStep({ plan_id: id, step_id: big.steps[0].id, step_status: 'in_progress' })],
    getInstance: [instance.id, (id) => prober.getInstance(id)],
  };
  const results = {};
  for (const [name, [realId, call]] of Object.entries(cases)) {
    // Made before timing, only the call is timed; and each probe gets a string of its own, as
    // ids parsed from requests are (a string used again has its hash cached: faster to look up).
    const unknownIds = Array.from({ length: probes + 100 }, () => unknownLike(realId).split('').join(''));
    const realIds = Array.from({ length: probes }, () => realId.split('').join(''));
    for (let i = 0; i < 100; i++) await probe(() => call(i % 2 ? realId : unknownIds[probes + i])); // warm up
    const real = [];
    const unknown = [];
    for (let i = 0; i < probes; i++) {
      const realFirst = Math.random() < 0.5;
      for (const isReal of realFirst ? [true, false] : [false, true]) {
        const id = isReal ? realIds[i] : unknownIds[i];
        const time = await probe(() => call(id));
        (isReal ? real : unknown).push(time);
      }
    }
    const [m1, m0] = [median(real), median(unknown)];
    results[name] = {
      real_median_ms: Number(m1.toFixed(4)),
      unknown_median_ms: Number(m0.toFixed(4)),
      difference_ms: Number((m1 - m0).toFixed(4)),
      attacker_accuracy_pct: { k15: attackerAccuracy(real, unknown, 15), k30: attackerAccuracy(real, unknown, 30) },
    };
    console.error(`[id-timing] ${name}: ${JSON.stringify(results[name])}`);
  }
  return results;
}

const memory = await measure(memoryAdapter());
const schema = `id_timing_${process.pid}`;
const postgres = await withThrowawayPostgres((url) => withSchema(url, schema, (pool) => measure(postgresAdapter({ client: pool, schema }))));

const report = { date: new Date().toISOString(), node: process.version, probes_per_kind: probes, memory, postgres };
mkdirSync(new URL('../../reports/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../reports/id-timing.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
