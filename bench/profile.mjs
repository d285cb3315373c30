// Where a call's time goes, all of it: a CPU profile (V8's sampling profiler, through
// node:inspector) of many calls, each sample's function mapped back to the source file it was
// written in (through dist's source maps) or to the package it comes from. The shares add up
// to the whole, so no layer is left out the way separately timed layers leave out the glue.
import { Session } from 'node:inspector/promises';
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const maps = new Map();

/** The source map of a file of dist, or null. */
function mapOf(path) {
  if (!maps.has(path)) {
    let map = null;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
    } catch {
      // no map beside it: the file is named as it is
    }
    maps.set(path, map);
  }
  return maps.get(path);
}

/** What a profile node's function is part of: a file of src/, a package, or V8's own work. */
function partOf({ url, lineNumber, columnNumber, functionName }) {
  if (!url) return functionName === '(garbage collector)' ? 'garbage collection' : functionName === '(idle)' ? 'idle (waiting)' : 'V8 and native code';
  if (url.startsWith('node:')) return 'Node.js itself';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (inModules) return `${inModules[1]} (package)`;
  const dist = /\/dist\/.*\.c?js$/.test(path);
  if (dist) {
    const source = mapOf(path)?.findEntry(lineNumber, columnNumber)?.originalSource;
    if (source) return source.replace(/^(\.\.\/)+/, '');
  }
  return path.replace(/^.*\/(bench|scripts|dist)\//, '$1/');
}

/**
 * Runs `call` `calls` times under the profiler (after `warmup` calls) and answers each part's
 * share of the samples, largest first: `[{ part, share }]`, shares summing to 1.
 */
export async function profileShares(call, { calls = 20_000, warmup = 2_000, intervalUs = 50 } = {}) {
  for (let i = 0; i < warmup; i++) await call();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    for (let i = 0; i < calls; i++) await call();
    const { profile } = await session.post('Profiler.stop');
    const parentOf = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
    // A native function (no source: SQLite's bindings, a builtin) counts as what called it.
    const nameOf = (node) => {
      if (node.callFrame.url || node.callFrame.functionName.startsWith('(')) return partOf(node.callFrame);
      const caller = parentOf.get(node.id);
      return caller ? `native code called from ${nameOf(caller).replace(/^native code called from /, '')}` : partOf(node.callFrame);
    };
    const part = new Map(profile.nodes.map((node) => [node.id, nameOf(node)]));
    const counts = new Map();
    for (const id of profile.samples) counts.set(part.get(id), (counts.get(part.get(id)) ?? 0) + 1);
    return [...counts]
      .map(([name, count]) => ({ part: name, share: count / profile.samples.length }))
      .sort((a, b) => b.share - a.share);
  } finally {
    session.disconnect();
  }
}

/** The parts with at least `least` of the samples, and the rest summed as one row. */
export function mainParts(shares, least = 0.02) {
  const main = shares.filter((row) => row.share >= least);
  const rest = shares.filter((row) => row.share < least);
  if (rest.length) main.push({ part: `${rest.length} other parts, each under ${Math.round(least * 100)}%`, share: rest.reduce((sum, row) => sum + row.share, 0) });
  return main;
}
