// Replays every load, fault and hostile-input run of the hardening work, one after another, each
// bounded in time, and gathers their figures in reports/soak.json:
//   conflicts     six processes renaming three plans on PostgreSQL (CONFLICT share, lost);
//   faults        the same with pg_terminate_backend every 2 s and a SIGKILLed worker every 3 s;
//   hostile       a normal client's p99 under stalled uploads, unknown-key floods and big plans;
//   hostile-input every hostile input of the findings, in process and over HTTP;
//   id-timing     another scope's real ids against unknown ones, 1,500 probes each.
// Loopback only (throwaway PostgreSQL servers on 127.0.0.1, or DATABASE_URL). About 5 minutes.
//   npm run soak
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RUNS = [
  ['conflicts', ['10'], 'load-conflicts.json'],
  ['faults', ['20'], 'load-faults.json'],
  ['hostile', ['6'], 'load-hostile.json'],
  ['hostile-input', [], 'load-hostile-input.json'],
  ['id-timing', ['1500'], 'id-timing.json'],
];
const here = fileURLToPath(new URL('.', import.meta.url));
const reports = new URL('../../reports/', import.meta.url);
const soak = { date: new Date().toISOString(), node: process.version, runs: {} };
let failed = false;
for (const [name, args, file] of RUNS) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [`${here}${name}.mjs`, ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10 * 60_000 });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (run.status !== 0) failed = true;
  let figures;
  try {
    figures = JSON.parse(readFileSync(new URL(file, reports), 'utf8'));
  } catch {
    figures = null;
  }
  soak.runs[name] = { exit: run.status ?? run.signal, seconds, figures };
  console.error(`[soak] ${name}: exit ${run.status ?? run.signal} in ${seconds} s`);
}
mkdirSync(reports, { recursive: true });
writeFileSync(new URL('soak.json', reports), `${JSON.stringify(soak, null, 2)}\n`);
console.log(`reports/soak.json written${failed ? '; a run failed' : ''}`);
if (failed) process.exitCode = 1;
