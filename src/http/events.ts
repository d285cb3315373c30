import { InstancePlanError, type CommittedChange, type PlanManager } from '../index';
import { timers } from '../manager/timers';
import { randomId } from '../random-id';
import { web, type StreamController } from './web';

/** The change stream's settings (`createFetchHandler`'s `events` option). */
export interface EventStreamOptions {
  /** Changes kept for clients that reconnect with `Last-Event-ID`. Default 1000. */
  buffer?: number;
  /** A comment line this often keeps idle connections (and proxies) open, in milliseconds. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Messages one client may leave unread; past them it is sent `reset` and the stream ends (its
   * EventSource reconnects and resumes, or reads again). Default 1000.
   */
  maxPending?: number;
}

interface Entry {
  n: number;
  change: CommittedChange;
}

/**
 * Every change the handler's manager commits or hears, numbered in commit order, the latest
 * `size` kept: what a reconnecting client missed is sent again from here. Numbers are of this
 * log only (`<boot>-<n>`): a client that comes back to another process or after a restart is
 * told to read again, never given changes that are not the ones after its own.
 */
export class ChangeLog {
  /** A short random name for this log's numbering. */
  readonly boot = randomId().replace(/-/g, '').slice(0, 12);
  #entries: Entry[] = [];
  #next = 1;
  readonly #listeners = new Set<(entry: Entry) => void>();

  constructor(manager: PlanManager, readonly size: number) {
    manager.subscribe((change) => {
      const entry = { n: this.#next++, change };
      this.#entries.push(entry);
      if (this.#entries.length > this.size) this.#entries.splice(0, this.#entries.length - this.size);
      for (const listener of this.#listeners) listener(entry);
    });
  }

  /** The id of the latest change (`<boot>-0` before any). */
  get lastId(): string {
    return `${this.boot}-${this.#next - 1}`;
  }

  /** The changes after `lastEventId`, or undefined when they are not all here (another boot, or older than the buffer). */
  since(lastEventId: string): Entry[] | undefined {
    const match = /^([a-z0-9]+)-(\d{1,15})$/.exec(lastEventId);
    if (!match || match[1] !== this.boot) return undefined;
    const n = Number(match[2]);
    if (n >= this.#next) return undefined;
    const oldest = this.#entries[0]?.n ?? this.#next;
    if (n < oldest - 1) return undefined;
    return this.#entries.filter((entry) => entry.n > n);
  }

  listen(listener: (entry: Entry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

const encoder = new web.TextEncoder();

/** One Server-Sent Event; `data` is one line of JSON. */
function message(event: string, data: unknown, id?: string): Uint8Array {
  return encoder.encode(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * The stream of one caller: `ready` (with the id to resume from), then one `change` per commit
 * the caller's manager can see (its records and their history events, filtered to the caller's
 * scope), in commit order; `reset` when the changes since `Last-Event-ID` cannot all be sent
 * (read again, then follow). `onClose` runs once, when the client goes.
 */
export function eventStream(log: ChangeLog, caller: PlanManager, lastEventId: string | null, options: Required<EventStreamOptions>, onClose: () => void): Response {
  /** Known answers by kind and id, at most VISIBILITY_KEPT of them (reading again is always safe). */
  const visibility = new Map<string, boolean>();
  const unscoped = Object.keys(caller.scope).length === 0;
  /**
   * Whether the caller may see a record: read through the caller's scoped manager. A record's scope
   * fields never change, so a definite answer (found, or NOT_FOUND) is kept; a read that failed
   * otherwise (the store is down) is not an answer, and is `undefined`.
   */
  const visible = async (kind: string, id: string): Promise<boolean | undefined> => {
    if (unscoped) return true;
    if (kind !== 'instance' && kind !== 'plan') return false;
    const key = `${kind}:${id}`;
    const known = visibility.get(key);
    if (known !== undefined) return known;
    let answer: boolean;
    try {
      await (kind === 'instance' ? caller.getInstance(id) : caller.getPlan(id));
      answer = true;
    } catch (error) {
      if (!InstancePlanError.is(error, 'NOT_FOUND')) return undefined;
      answer = false;
    }
    if (visibility.size >= VISIBILITY_KEPT) visibility.clear();
    visibility.set(key, answer);
    return answer;
  };
  /** The change as the caller may see it (undefined: nothing of it), or 'unknown' when that could not be decided. */
  const inScope = async ({ records, events }: CommittedChange): Promise<CommittedChange | undefined | 'unknown'> => {
    if (!Array.isArray(records) || !Array.isArray(events)) return 'unknown';
    const seen = new Set<string>();
    for (const record of records) {
      const answer = await visible(record.kind, record.id);
      if (answer === undefined) return 'unknown';
      if (answer) seen.add(record.id);
    }
    if (seen.size === 0) return undefined;
    return { records: records.filter((record) => seen.has(record.id)), events: events.filter((event) => seen.has(event.record_id)) };
  };

  let closed = false;
  let chain = Promise.resolve();
  /** Changes waiting for their visibility to be known. */
  let queued = 0;
  let stopListening = () => {};
  let heartbeat: unknown;
  const close = () => {
    if (closed) return;
    closed = true;
    stopListening();
    timers.clearTimeout(heartbeat);
    onClose();
  };

  const body = new web.ReadableStream({
    start(controller: StreamController) {
      /** A client that falls behind (messages unread, or changes waiting): told so once, and let go, so that it holds no more. */
      const tooSlow = () => {
        if (closed) return;
        try {
          controller.enqueue(message('reset', { reason: 'too_slow', message: 'Changes came faster than this client read them; reconnect to resume, or read the records again.' }));
          controller.close();
        } catch {
          // already closed by the client
        }
        close();
      };
      const send = (chunk: Uint8Array) => {
        if (closed) return;
        if (controller.desiredSize !== null && controller.desiredSize < -options.maxPending) return tooSlow();
        try {
          controller.enqueue(chunk);
        } catch {
          close();
        }
      };
      /** Sends entries in order, each once its records' visibility is known; never more than maxPending waiting. */
      const follow = (entry: Entry) => {
        if (closed) return;
        if (++queued > options.maxPending) return tooSlow();
        chain = chain.then(async () => {
          queued -= 1;
          if (closed) return;
          try {
            const change = await inScope(entry.change);
            if (change === 'unknown') {
              // What the caller may see of this change could not be told: say so rather than guess.
              send(message('reset', { reason: 'store_unavailable', message: 'A change could not be checked against your scope (the store did not answer); read the records again, then follow.' }, `${log.boot}-${entry.n}`));
            } else if (change) {
              send(message('change', change, `${log.boot}-${entry.n}`));
            }
          } catch {
            // One change that cannot be sent (malformed) must not end the stream, nor the process.
          }
        });
      };
      send(encoder.encode('retry: 3000\n\n'));
      const missed = lastEventId === null ? [] : log.since(lastEventId);
      if (missed === undefined) {
        send(message('reset', { reason: 'history_gap', message: `The changes after ${JSON.stringify(lastEventId)} are no longer kept here; read the records again, then follow.` }, log.lastId));
      } else {
        // Resuming, the position stays the client's until the changes it missed are sent.
        const from = lastEventId ?? log.lastId;
        send(message('ready', { last_event_id: from }, from));
        missed.forEach(follow);
      }
      stopListening = log.listen(follow);
      const beat = () => {
        send(encoder.encode(': keep-alive\n\n'));
        if (!closed) heartbeat = timers.setTimeout(beat, options.heartbeatMs);
      };
      heartbeat = timers.setTimeout(beat, options.heartbeatMs);
    },
    cancel() {
      close();
    },
  });
  return new web.Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff' },
  });
}

/** Visibility answers one stream keeps. */
const VISIBILITY_KEPT = 10_000;

