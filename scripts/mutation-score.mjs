// Adds up the shards' reports (reports/mutation/*.json, written by `npm run mutation:shard`):
// per folder and overall, score = (killed + timed out) / (killed + timed out + survived + no
// coverage), as Stryker counts it. Prints a Markdown table for CONTRIBUTING.md.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const folder = fileURLToPath(new URL('../reports/mutation/', import.meta.url));
const rows = new Map();
const add = (key, status) => {
  const row = rows.get(key) ?? { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  if (status in row) row[status]++;
  rows.set(key, row);
};
const shards = readdirSync(folder).filter((name) => name.endsWith('.json'));
for (const name of shards) {
  const report = JSON.parse(readFileSync(`${folder}${name}`, 'utf8'));
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const group = file.split('/').length > 2 ? file.split('/').slice(0, -1).join('/') : file;
    for (const mutant of mutants) {
      add(group, mutant.status);
      add('**all**', mutant.status);
    }
  }
}
const score = (row) => (100 * (row.Killed + row.Timeout)) / (row.Killed + row.Timeout + row.Survived + row.NoCoverage);
console.log(`Shards read: ${shards.join(', ') || 'none'}\n`);
console.log('| folder | killed | timed out | survived | no coverage | score |\n|---|---|---|---|---|---|');
for (const [key, row] of [...rows].sort(([a], [b]) => (a === '**all**' ? 1 : b === '**all**' ? -1 : a < b ? -1 : 1))) {
  console.log(`| ${key} | ${row.Killed} | ${row.Timeout} | ${row.Survived} | ${row.NoCoverage} | ${score(row).toFixed(1)}% |`);
}
