import { timers } from '../manager/timers';

/**
 * After a turn of the event loop: what arrived meanwhile (other callers' requests) is read first.
 * `setImmediate` where the runtime has it (Node, Bun): a zero timer scheduled from a timer that ran
 * late can run in the same pass, without reading anything in between.
 */
const afterATurn: (callback: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return typeof immediate === 'function' ? (callback) => void immediate(callback) : (callback) => void timers.setTimeout(callback, 0);
})();

/** Resolves after a turn of the event loop (see afterATurn). */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => afterATurn(resolve));
}

/** One request's turn: pauses between its pieces of work, and its end (once). */
export interface Turn {
  /** Lets others go between two pieces of this request's work (see CallerTurns). */
  pause(): Promise<void>;
  /** Ends the turn; the caller's next request may start (once is enough: later calls do nothing). */
  end(): void;
}

const clock = (globalThis as { performance?: { now(): number } }).performance;
const monotonicNow = clock ? () => clock.now() : () => Date.now();

/** How long after the last small request large requests keep sharing the time with small ones. */
const SHARING_MS = 1_000;
/** While sharing, a large request rests this many times as long as each piece of its work took, */
const REST_FACTOR = 8;
/** but never longer than this: a piece's time includes its wait on the store, which may be long (a lock, a slow query). */
const MAX_REST_MS = 50;

/**
 * Turns for callers: each caller (one bearer token) has one request at a time holding its turn
 * (the handler gives turns to large requests only: their parse, the manager's call, the answer),
 * and the caller's next one starts only after a turn of the event loop from the end of the last.
 * A runtime runs one request's synchronous work at a time anyway; what the turns change is who goes
 * next: without them, a caller whose eight large requests arrive together has all eight run back
 * to back while another caller's small one waits behind them; with them, the other caller's
 * request is read between any two of the first one's.
 *
 * While small requests are being served (one came within the last second), a caller's large
 * requests also rest after each piece of their work eight times as long as the piece took: one
 * caller's large work then takes at most about a ninth of the time, and the rest is left to everyone
 * else (the small requests that come meanwhile are answered without waiting behind it). Eight, not
 * one: a large request costs more outside its pieces than in them. What it stores stays in the
 * heap, and the collections that walk it pause everyone; measured (`npm run load:hostile`, 1 MB
 * plans), twice left a small request's p99 at 4.5 times its p99 alone, eight at 1.6 to 2.3 times.
 * A rest is at most 50 ms: a piece's time includes its wait on
 * the store. With no small request about, large requests run at full speed.
 */
export class CallerTurns {
  /** Per token: whether one of its requests holds the turn, those waiting for it, and how long its last piece took; dropped a turn after its last turn ends. */
  readonly #callers = new Map<string, { busy: boolean; waiting: (() => void)[]; spent: number }>();
  readonly #now: () => number;
  /** When the last small request came (see noteSmall). */
  #smallAt = Number.NEGATIVE_INFINITY;

  /** `now`: milliseconds of a monotonic clock (default `performance.now`, in every runtime served). */
  constructor(now: () => number = monotonicNow) {
    this.#now = now;
  }

  /** A small request came: large requests share the time with small ones for the next second. */
  noteSmall(): void {
    this.#smallAt = this.#now();
  }

  /** A turn of the event loop, or, while small requests are about, REST_FACTOR times as long as the piece that just ended took (at most MAX_REST_MS). */
  #rest(spent: number): Promise<void> {
    const rest = this.#now() - this.#smallAt < SHARING_MS ? Math.min(spent * REST_FACTOR, MAX_REST_MS) : 0;
    if (rest < 1) return nextTurn();
    return new Promise<void>((resolve) => void timers.setTimeout(resolve, rest));
  }

  /** Resolves when it is this caller's turn. */
  async take(token: string): Promise<Turn> {
    let caller = this.#callers.get(token);
    if (caller === undefined) {
      caller = { busy: true, waiting: [], spent: 0 };
      this.#callers.set(token, caller);
    } else {
      // Handed the turn by the one before (which keeps it busy for us), or taking it as it rests.
      if (caller.busy) await new Promise<void>((resolve) => caller!.waiting.push(resolve));
      caller.busy = true;
      // A turn of the event loop (or the rest of the last piece) on this request's own timer: a Worker runs a request's timers only.
      await this.#rest(caller.spent);
    }
    const held = caller;
    let started = this.#now();
    let ended = false;
    return {
      pause: async () => {
        const spent = this.#now() - started;
        await this.#rest(spent);
        started = this.#now();
      },
      end: () => {
        if (ended) return;
        ended = true;
        held.spent = this.#now() - started;
        const next = held.waiting.shift();
        if (next !== undefined) return next();
        held.busy = false;
        afterATurn(() => {
          if (!held.busy && this.#callers.get(token) === held) this.#callers.delete(token);
        });
      },
    };
  }
}

/**
 * Turns for this runtime's callers, or none where one request cannot hand the turn to another:
 * in a Cloudflare Worker each request runs in its own context, and a promise one request resolves
 * for another that is waiting on it is never continued (the waiting request never answers).
 * There, requests run as they come, as before turns.
 */
export function callerTurns(): CallerTurns | undefined {
  const worker = globalThis as { navigator?: { userAgent?: unknown }; WebSocketPair?: unknown };
  // navigator.userAgent says so from compatibility date 2022-03-21 on; WebSocketPair is the Workers runtime's own.
  return worker.navigator?.userAgent === 'Cloudflare-Workers' || typeof worker.WebSocketPair === 'function' ? undefined : new CallerTurns();
}

