import { timers } from './timers';

/** The pause before retries after a conflict: up to `initialMs`, doubling each retry, at most `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export function resolveBackoff(given: { initialMs?: number; maxMs?: number } = {}): Backoff {
  const initialMs = given.initialMs ?? 2;
  const maxMs = given.maxMs ?? 64;
  for (const [name, value] of [['initialMs', initialMs], ['maxMs', maxMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`backoff.${name} must be a number of milliseconds of at least 0, got ${String(value)}`);
  }
  if (maxMs < initialMs) throw new TypeError(`backoff.maxMs (${maxMs}) must be at least backoff.initialMs (${initialMs})`);
  return { initialMs, maxMs };
}

/**
 * Waits before retry number `retry` (0 for the first): a random time between 0 and
 * min(maxMs, initialMs · 2^retry), "full jitter", so that writers that collided once do not
 * collide again in step. No pause at all when `initialMs` is 0.
 */
export function pause(backoff: Backoff, retry: number, random: () => number = Math.random): Promise<void> | undefined {
  if (backoff.initialMs === 0) return undefined;
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** retry);
  const ms = random() * ceiling;
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
