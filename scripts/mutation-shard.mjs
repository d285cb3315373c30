// Runs `npm run mutation` over one part of src/ (a shard), so that a full run can be spread over
// several sittings: a run of all 3,000-odd mutants takes hours on two cores, and Stryker writes
// its results only when a run ends. Each shard keeps its own incremental file, committed in
// mutation/incremental-<shard>.json so that the next run (on another machine, in a fresh clone)
// tests only the mutants whose code or tests changed, and its JSON report in
// reports/mutation/<shard>.json (not committed: a run that reuses everything remakes it in a few
// minutes); `npm run mutation:score` adds up the reports there.
// Usage: npm run mutation:shard -- <shard> [concurrency]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SHARDS = {
  core: ['src/machines/**/*.ts', 'src/schemas/**/*.ts', 'src/errors.ts', 'src/refusals.ts'],
  'manager-a': ['src/manager/leases.ts', 'src/manager/recovery.ts', 'src/manager/plans.ts', 'src/manager/execute-step.ts', 'src/manager/mutate.ts'],
  'manager-b': [
    'src/manager/**/*.ts',
    ...['leases', 'recovery', 'plans', 'execute-step', 'mutate', 'instances', 'budget', 'human-input', 'open-question'].map((name) => `!src/manager/${name}.ts`),
  ],
  // The instance's own operations, questions and budgets.
  'manager-c': ['src/manager/instances.ts', 'src/manager/budget.ts', 'src/manager/human-input.ts', 'src/manager/open-question.ts'],
  // The two were one shard of 1,125 mutants, too many for a sitting.
  adapters: ['src/adapters/*.ts'],
  stores: ['src/stores/**/*.ts'],
  indexeddb: ['src/adapters/indexeddb/**/*.ts'],
  postgres: ['src/adapters/postgres/**/*.ts'],
  sqlite: ['src/adapters/sqlite/**/*.ts'],
};

const [shard, concurrency = '2'] = process.argv.slice(2);
if (!Object.hasOwn(SHARDS, shard ?? '')) {
  console.error(`usage: npm run mutation:shard -- <shard> [concurrency]; the shards: ${Object.keys(SHARDS).join(', ')}`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const base = JSON.parse(readFileSync(`${root}stryker.config.json`, 'utf8'));
const config = {
  ...base,
  mutate: SHARDS[shard],
  concurrency: Number(concurrency),
  incrementalFile: `mutation/incremental-${shard}.json`,
  jsonReporter: { fileName: `reports/mutation/${shard}.json` },
  reporters: ['clear-text', 'progress', 'json'],
};
mkdirSync(`${root}reports`, { recursive: true });
const file = `${root}reports/stryker.${shard}.json`;
writeFileSync(file, JSON.stringify(config, null, 2));
const run = spawnSync('npx', ['stryker', 'run', file], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
