import type { CommitBatch, HistoryEvent, StorageAdapter, StoredKind } from '../adapters/contract';
import { memoryAdapter } from '../adapters/memory';
import { historyOf, replayableFrom } from './copy';
import { storageError } from '../refusals';
import { Instance, Lease, Plan, type StoredRecord } from '../schemas/records';
import { upgradeInstance, upgradeInstanceEvent } from './upgrade';

/**
 * A store as text: JSON lines that any store's content can be written to and read back from,
 * to keep, to move between machines, or to load into another adapter (`copyStore`). The first
 * line names the format and its version; then each instance or plan, each followed by its
 * retained history events, and each instance's lease:
 *
 *   {"format":"instance-plan dump","version":2}
 *   {"kind":"instance","record":{...}}
 *   {"kind":"event","event":{...}}
 *   {"kind":"lease","record":{...}}
 *   {"kind":"plan","record":{...}}
 *   ...
 *   {"kind":"end","records":5}
 *
 * The last line counts the records (instances, plans and leases), so a dump cut short is told
 * from a whole one.
 * The version is that of the records' shape: a dump of an earlier version is read and brought
 * forward; one newer than this library is refused, naming both versions.
 */
export const DUMP_FORMAT = 'instance-plan dump';

/**
 * The version of the records' shape this library writes: 1 is the shape of 0.1.0; 2 adds the
 * instance's `status_reason`, `max_turns` and `max_tokens` (see upgrade.ts).
 */
export const DUMP_VERSION = 2;

type Line =
  | { format: string; version: number }
  | { kind: 'instance' | 'plan' | 'lease'; record: StoredRecord }
  | { kind: 'event'; event: HistoryEvent }
  | { kind: 'end'; records: number };

/** Writes every record of `adapter` (newest first, a page at a time), its retained events and leases, as the lines above. */
export async function* dumpStore(adapter: StorageAdapter, options: { pageSize?: number } = {}): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 100;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new TypeError(`dumpStore: pageSize must be a whole number of at least 1, got ${String(pageSize)}`);
  yield JSON.stringify({ format: DUMP_FORMAT, version: DUMP_VERSION });
  let written = 0;
  for (const kind of ['instance', 'plan'] as const) {
    for (let offset = 0; ; offset += pageSize) {
      const { records, total } = await adapter.list(kind, { where: {}, limit: pageSize, offset });
      for (const record of records) {
        written++;
        yield JSON.stringify({ kind, record });
        for (const event of await replayableHistory(adapter, record)) yield JSON.stringify({ kind: 'event', event });
        if (kind === 'instance') {
          const lease = await adapter.get('lease', record.id);
          if (lease) {
            written++;
            yield JSON.stringify({ kind: 'lease', record: lease });
          }
        }
      }
      if (records.length === 0 || offset + records.length >= total) break;
    }
  }
  yield JSON.stringify({ kind: 'end', records: written });
}

/**
 * A record's retained events, up to its version, a page at a time: from its creation, or from a
 * snapshot. A history that managers of different retentions pruned may start without one; it is
 * written from its latest snapshot, where replay starts anyway.
 */
async function replayableHistory(adapter: StorageAdapter, record: StoredRecord): Promise<HistoryEvent[]> {
  return replayableFrom(await historyOf(adapter, record.id, 0, record.version, 1_000), 0);
}

const refused = (message: string, details: Record<string, unknown>) => storageError(message, undefined, details);

/**
 * Reads a dump (its lines, as strings: split a file on newlines) into a new memory adapter, or into
 * `into` (an empty store: a record it holds already is a `CONFLICT`; to bring a store up to date
 * from a dump, `copyStore(await loadDump(lines), store)`), one commit per record with its events. A line that is not part of a dump is refused,
 * naming the line; so is a dump newer than this library, naming both versions.
 */
export async function loadDump(lines: Iterable<string> | AsyncIterable<string>, into: StorageAdapter = memoryAdapter()): Promise<StorageAdapter> {
  let number = 0;
  let header = false;
  let ended = false;
  let records = 0;
  /** The shape the dump's records have: those of an earlier one are brought forward as they are read. */
  let shape = DUMP_VERSION;
  /** The record being read, with its events so far and the line it started on. */
  let pending: { batch: CommitBatch; line: number } | undefined;
  const flush = async () => {
    if (!pending) return;
    checkHistoryOf(pending.batch, pending.line);
    await into.commit(pending.batch);
    pending = undefined;
  };
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    if (ended) throw refused(`line ${number} of the dump comes after its end line`, { reason: 'malformed', line: number });
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      throw refused(`line ${number} of the dump is not JSON`, { reason: 'malformed', line: number });
    }
    if (!header) {
      if (typeof line !== 'object' || line === null || !('format' in line) || line.format !== DUMP_FORMAT || !Number.isSafeInteger(line.version) || line.version < 1) {
        throw refused(`line 1 of the dump must be {"format":"${DUMP_FORMAT}","version":n}: this is not a dump of instance-plan`, { reason: 'not_a_dump', line: number });
      }
      if (line.version > DUMP_VERSION) {
        throw refused(`the dump is of version ${line.version}, newer than this library's ${DUMP_VERSION}: read it with a newer instance-plan`, {
          reason: 'version_too_new',
          stored_version: line.version,
          code_version: DUMP_VERSION,
        });
      }
      header = true;
      shape = line.version;
      continue;
    }
    const kind = (line as { kind?: unknown }).kind;
    const given = line as { record?: unknown; event?: unknown; records?: unknown };
    if (kind === 'event' && pending && pending.batch.writes[0]!.kind !== 'lease' && isObject(given.event)) {
      const event = given.event as HistoryEvent;
      if (typeof event.type !== 'string' || !Array.isArray(event.changes)) {
        throw refused(`line ${number} of the dump is not a whole history event (its type or its changes are missing)`, { reason: 'malformed', line: number });
      }
      pending.batch.events.push(shape < 2 ? upgradeInstanceEvent(event) : event);
      continue;
    }
    if (kind === 'instance' && shape < 2) given.record = upgradeInstance(given.record);
    if ((kind === 'instance' || kind === 'plan' || kind === 'lease') && isObject(given.record)) {
      if (!SCHEMAS[kind].safeParse(given.record).success) {
        throw refused(`line ${number} of the dump is not a whole ${kind} record (a field is missing, unknown or of the wrong type)`, { reason: 'malformed', line: number });
      }
      await flush();
      records++;
      pending = { batch: { writes: [{ kind: kind as StoredKind, record: given.record as StoredRecord, expected_version: null }], events: [] }, line: number };
      continue;
    }
    if (kind === 'end' && Number.isSafeInteger(given.records)) {
      await flush();
      if (given.records !== records) {
        throw refused(`the dump's end line counts ${String(given.records)} records, but ${records} came before it: the dump is damaged`, { reason: 'malformed', line: number });
      }
      ended = true;
      continue;
    }
    throw refused(`line ${number} of the dump is neither a record, an event of the record before it, nor the end line`, { reason: 'malformed', line: number });
  }
  if (!header) throw refused('the dump is empty: its first line must name the format', { reason: 'not_a_dump', line: 0 });
  if (!ended) throw refused(`the dump ends at line ${number} without its end line: it was cut short; nothing after the last whole record was read`, { reason: 'truncated', line: number });
  return into;
}

const SCHEMAS = { instance: Instance, plan: Plan, lease: Lease } as const;

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A record's events must be its own, in order, up to its version, from its creation or a snapshot. */
function checkHistoryOf(batch: CommitBatch, line: number): void {
  const { record, kind } = batch.writes[0]!;
  if (kind === 'lease') return;
  const events = batch.events;
  const fine =
    typeof record.id === 'string' &&
    Number.isSafeInteger(record.version) &&
    events.length > 0 &&
    events.every((event, i) => event.record_id === record.id && event.seq === events[0]!.seq + i) &&
    events.at(-1)!.seq === record.version &&
    (events[0]!.seq === 1 || events[0]!.snapshot !== undefined);
  if (!fine) {
    throw refused(`the ${kind} on line ${line} of the dump is not followed by its history (its own events, in order, up to its version, from its creation or a snapshot)`, {
      reason: 'malformed',
      line,
    });
  }
}
