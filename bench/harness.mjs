// A small, honest timing harness: warm up, then time many rounds of a batch of calls and
// report the median time per call. Every figure in RESULTS.md is a ratio of two medians
// measured in the same process run, so the machine's speed cancels out.
import { performance } from 'node:perf_hooks';

/**
 * Median microseconds per call of `fn` (sync or async).
 * @param {() => unknown} fn
 * @param {{ batch?: number, rounds?: number, warmup?: number }} [options]
 */
export async function measure(fn, { batch = 200, rounds = 30, warmup = 2 } = {}) {
  for (let i = 0; i < warmup * batch; i++) await fn();
  const perCall = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    perCall.push(((performance.now() - start) * 1000) / batch);
  }
  return median(perCall);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export const fmt = {
  us: (value) => `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value)} µs`,
  ratio: (value) => `${value.toFixed(2)}×`,
  perSecond: (us) => `${Math.round(1e6 / us).toLocaleString('en-US')}/s`,
  kb: (bytes) => `${(bytes / 1024).toFixed(1)} KB`,
  mb: (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`,
};

/**
 * Median microseconds per call of several functions, measured in interleaved rounds (a round
 * of each in turn, `rounds` times), so a machine busy with something else slows them alike
 * and the ratios between them stay honest.
 * @param {Record<string, { fn: () => unknown, batch: number }>} subjects
 */
export async function measureTogether(subjects, { rounds = 30, warmup = 2 } = {}) {
  const names = Object.keys(subjects);
  for (const name of names) for (let i = 0; i < warmup * subjects[name].batch; i++) await subjects[name].fn();
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const { fn, batch } = subjects[name];
      const start = performance.now();
      for (let i = 0; i < batch; i++) await fn();
      samples[name].push(((performance.now() - start) * 1000) / batch);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name])]));
}
