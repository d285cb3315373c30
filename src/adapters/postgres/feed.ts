import type { CommitBatch, CommittedChange, HistoryEvent, StoredKind } from '../contract';
import { deepFreeze } from '../freeze';
import type { PostgresClient } from './client';

/**
 * A connection kept for LISTEN: a connected `pg.Client` (or one checked out of a pool and kept),
 * whose `notification` events the adapter hears; or a PGlite, through its `listen()`. Not a
 * Pool: notifications arrive on the one connection that listens. Its `error` events stay yours.
 */
export type PostgresListenClient =
  | { query(text: string): Promise<unknown>; on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown }
  | { listen(channel: string, callback: (payload: string) => void): Promise<unknown> };

/** What a commit announces: who (`o`, and its commit `n`), which records, and the events when they fit. */
interface Announcement {
  s: string;
  o: string;
  n: number;
  r: [StoredKind, string, number][];
  /** The history events, or their record ids and seqs (`k`) when they would not fit in the payload. */
  e?: HistoryEvent[];
  k?: [string, number][];
}

/** A piece of an announcement too large for one notification: the `i`th of `of`, in order. */
interface Piece {
  s: string;
  o: string;
  n: number;
  i: number;
  of: number;
  c: string;
}

/** NOTIFY payloads must stay under 8000 bytes: above this the events are read from the table instead. */
const MAX_PAYLOAD_BYTES = 7_000;
/** Characters of announcement per piece: even escaped six times over (a control character) a piece fits. */
const PIECE_CHARS = 1_100;

const encoder = new (globalThis as unknown as { TextEncoder: new () => { encode(text: string): Uint8Array } }).TextEncoder();

/** The channel the commits on `schema` are announced on: lower case (a channel LISTENed unquoted is folded), at most 63 bytes; the schema is in each payload too. */
export const channelOf = (schema: string) => `ip_changes_${schema.toLowerCase()}`.slice(0, 63);

/**
 * The payloads announcing `batch`, commit `n` of adapter `origin`, sent in order in its
 * transaction: one with the events when it fits a notification; else one with where to read
 * them; else (a batch of many records, as a recovery of many plans) that one in pieces.
 */
export function announcementOf(schema: string, origin: string, n: number, batch: CommitBatch): string[] {
  const r = batch.writes.map(({ kind, record }) => [kind, record.id, record.version] as [StoredKind, string, number]);
  const fits = (text: string) => encoder.encode(text).length <= MAX_PAYLOAD_BYTES;
  const whole = JSON.stringify({ s: schema, o: origin, n, r, e: batch.events } satisfies Announcement);
  if (fits(whole)) return [whole];
  const keys = JSON.stringify({ s: schema, o: origin, n, r, k: batch.events.map((event) => [event.record_id, event.seq]) } satisfies Announcement);
  if (fits(keys)) return [keys];
  const of = Math.ceil(keys.length / PIECE_CHARS);
  return Array.from({ length: of }, (_, i) => JSON.stringify({ s: schema, o: origin, n, i, of, c: keys.slice(i * PIECE_CHARS, (i + 1) * PIECE_CHARS) } satisfies Piece));
}

const isKind = (kind: unknown): kind is StoredKind => kind === 'instance' || kind === 'plan' || kind === 'lease';

/** The announcement a payload holds, or undefined when it is not one (anyone who can connect may notify). */
function readAnnouncement(value: unknown): Announcement | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { s, o, n, r, e, k } = value as Partial<Announcement>;
  if (typeof s !== 'string' || typeof o !== 'string' || typeof n !== 'number' || !Array.isArray(r)) return undefined;
  if (!r.every((entry) => Array.isArray(entry) && isKind(entry[0]) && typeof entry[1] === 'string' && typeof entry[2] === 'number')) return undefined;
  if (e !== undefined && !(Array.isArray(e) && e.every((event) => typeof event === 'object' && event !== null && typeof event.record_id === 'string' && typeof event.seq === 'number' && Array.isArray(event.changes)))) return undefined;
  if (k !== undefined && !(Array.isArray(k) && k.every((key) => Array.isArray(key) && typeof key[0] === 'string' && typeof key[1] === 'number'))) return undefined;
  return { s, o, n, r, ...(e && { e }), ...(k && { k }) };
}

export interface PostgresFeed {
  /** The channel's name. */
  readonly channel: string;
  /**
   * What to send with a batch's commit, in its transaction; `settled` says whether the commit
   * answered (its notification then brings the change back, in commit order with everyone's).
   */
  announce(batch: CommitBatch, n: number): { payloads: string[]; settled(): void };
  subscribe(listener: (change: CommittedChange) => void): () => void;
  /** Settles when this adapter listens: every commit after it is heard, its own included. */
  readonly listening: Promise<void>;
}

/**
 * The change feed across processes: every commit sends `pg_notify` in its own transaction (so a
 * refused or rolled-back batch announces nothing), and every adapter with a listen connection
 * hears the commits of all of them on the same schema, its own included, in the order they
 * committed (PostgreSQL delivers notifications so). Its own changes it takes from its batches;
 * the others' events, when too large for a notification, are read back from the history.
 */
export function postgresFeed(schema: string, origin: string, listenClient: PostgresListenClient, client: PostgresClient, events: string): PostgresFeed {
  const channel = channelOf(schema);
  type Listener = (change: CommittedChange) => void;
  const listeners = new Set<Listener>();
  let delivery = Promise.resolve();
  /**
   * This adapter's commits in flight, by number. Its notification delivers one, once the commit
   * has answered, to the subscribers there were then: one who subscribed after a commit returned
   * does not hear it, however late its notification comes.
   */
  const own = new Map<number, { change: CommittedChange; audience: Promise<Set<Listener>> }>();

  const deliver = (change: CommittedChange, audience: ReadonlySet<Listener> = listeners) => {
    deepFreeze(change);
    for (const listener of [...audience]) {
      if (!listeners.has(listener)) continue;
      try {
        listener(change);
      } catch {
        // A listener's fault is its own: it never fails a commit or starves the others.
      }
    }
  };

  /** The pieces of announcements in hand, by origin and commit (one transaction's come together, in order). */
  const pieces = new Map<string, string[]>();
  /** The whole announcement a payload holds or completes, or undefined (not one, or a piece of one). */
  const assembled = (payload: string): Announcement | undefined => {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      return undefined;
    }
    const piece = value as Partial<Piece>;
    if (typeof piece.c !== 'string') return readAnnouncement(value);
    if (typeof piece.o !== 'string' || typeof piece.n !== 'number' || typeof piece.i !== 'number' || typeof piece.of !== 'number' || piece.of > 10_000) return undefined;
    const key = `${piece.o} ${piece.n}`;
    const got = piece.i === 0 ? [] : pieces.get(key);
    if (!got || got.length !== piece.i) {
      pieces.delete(key);
      return undefined;
    }
    got.push(piece.c);
    if (got.length < piece.of) {
      pieces.set(key, got);
      if (pieces.size > 100) pieces.delete(pieces.keys().next().value!);
      return undefined;
    }
    pieces.delete(key);
    try {
      return readAnnouncement(JSON.parse(got.join('')));
    } catch {
      return undefined;
    }
  };

  /** The change a notification announces, and who hears it (its events read back when they were left out). */
  const heard = async (payload: string): Promise<[CommittedChange, ReadonlySet<Listener>] | undefined> => {
    const announced = assembled(payload);
    if (!announced || announced.s !== schema) return undefined;
    const mine = announced.o === origin ? own.get(announced.n) : undefined;
    if (mine) {
      own.delete(announced.n);
      return [mine.change, await mine.audience];
    }
    // Another adapter's, or one of ours forgotten (see announce): the payload says what changed.
    const records = announced.r.map(([kind, id, version]) => ({ kind, id, version }));
    if (announced.e) return [{ records, events: announced.e }, listeners];
    const keys = announced.k ?? [];
    if (keys.length === 0) return [{ records, events: [] }, listeners];
    const { rows } = await client.query(
      `SELECT e.event::text AS event FROM ${events} e JOIN unnest($1::text[], $2::bigint[]) AS k(record_id, seq) ON e.record_id = k.record_id AND e.seq = k.seq ORDER BY e.position`,
      [keys.map(([id]) => id), keys.map(([, seq]) => seq)],
    );
    return [{ records, events: (rows as { event: string }[]).map((row) => JSON.parse(row.event) as HistoryEvent) }, listeners];
  };

  const onPayload = (payload: string | undefined) => {
    if (payload === undefined) return;
    // In the order notifications come (commit order), each once its events are in hand.
    delivery = delivery.then(async () => {
      try {
        const found = await heard(payload);
        if (found) deliver(...found);
      } catch {
        // A change whose events cannot be read back (the store is down) is not announced.
      }
    });
  };

  const listening = (async () => {
    if ('listen' in listenClient) {
      await listenClient.listen(channel, onPayload);
    } else {
      listenClient.on('notification', (message) => {
        if (message.channel === channel) onPayload(message.payload);
      });
      await listenClient.query(`LISTEN "${channel}"`);
    }
  })();
  // A failure to listen leaves the feed deaf, not the process down: it is in `listening`.
  listening.catch(() => undefined);

  return {
    channel,
    listening,
    announce(batch, n) {
      // Kept until their notification comes; a deaf listen connection must not make this grow.
      if (own.size >= 10_000) own.delete(own.keys().next().value!);
      let settle!: (audience: Set<Listener>) => void;
      const audience = new Promise<Set<Listener>>((resolve) => (settle = resolve));
      own.set(n, { change: { records: batch.writes.map(({ kind, record }) => ({ kind, id: record.id, version: record.version })), events: [...batch.events] }, audience });
      return {
        payloads: announcementOf(schema, origin, n, batch),
        settled() {
          // Heard by those subscribed now. A commit whose answer failed may have landed all the
          // same: a rolled-back one sends no notification, so one that comes proves it committed.
          settle(new Set(listeners));
        },
      };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
