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

/**
 * Turns for callers: each caller (one bearer token) has one request at a time doing its work
 * (parsing, the manager's call, the answer), and the next one of the same caller starts only
 * after a turn of the event loop from the end of the last. A runtime runs one request's synchronous work at a time anyway;
 * what the turns change is who goes next: without them, a caller whose eight large requests
 * arrive together has all eight run back to back while another caller's small one waits behind
 * them; with them, the other caller's request is read and answered between any two of the first
 * one's.
 */
export class CallerTurns {
  /** The requests waiting for their caller's turn, by token; a token with nothing running is not kept. */
  readonly #waiting = new Map<string, (() => void)[]>();

  /** Resolves when it is this caller's turn; the function it gives ends the turn (once). */
  async take(token: string): Promise<() => void> {
    const queue = this.#waiting.get(token);
    if (queue === undefined) this.#waiting.set(token, []);
    else await new Promise<void>((resolve) => queue.push(resolve));
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      // The caller's turn ends a turn of the event loop later, whether or not another of its
      // requests is waiting yet: one that arrives meanwhile (the next body read in the same pass)
      // waits for it too.
      afterATurn(() => {
        const next = this.#waiting.get(token)!.shift();
        if (next === undefined) this.#waiting.delete(token);
        else next();
      });
    };
  }
}
