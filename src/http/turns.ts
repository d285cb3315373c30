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

/**
 * Turns for callers: each caller (one bearer token) has one request at a time holding its turn
 * (the handler gives turns to large requests only: their parse, the manager's call, the answer),
 * and the caller's next one starts only after a turn of the event loop from the end of the last.
 * A runtime runs one request's synchronous work at a time anyway; what the turns change is who goes
 * next: without them, a caller whose eight large requests arrive together has all eight run back
 * to back while another caller's small one waits behind them; with them, the other caller's
 * request is read between any two of the first one's.
 */
export class CallerTurns {
  /** Per token: whether one of its requests holds the turn, and those waiting for it; dropped a turn after its last turn ends. */
  readonly #callers = new Map<string, { busy: boolean; waiting: (() => void)[] }>();

  /** Lets other callers go between two pieces of one request's work: resolves a turn of the event loop later. */
  pause(): Promise<void> {
    return nextTurn();
  }

  /** Resolves when it is this caller's turn; the function it gives ends the turn (once). */
  async take(token: string): Promise<() => void> {
    let caller = this.#callers.get(token);
    if (caller === undefined) {
      caller = { busy: true, waiting: [] };
      this.#callers.set(token, caller);
    } else {
      // Handed the turn by the one before (which keeps it busy for us), or taking it as it rests.
      if (caller.busy) await new Promise<void>((resolve) => caller!.waiting.push(resolve));
      caller.busy = true;
      // A turn of the event loop on this request's own timer (a Worker runs a request's timers only).
      await nextTurn();
    }
    const held = caller;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const next = held.waiting.shift();
      if (next !== undefined) return next();
      held.busy = false;
      afterATurn(() => {
        if (!held.busy && this.#callers.get(token) === held) this.#callers.delete(token);
      });
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

