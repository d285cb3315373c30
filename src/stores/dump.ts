import type { CommitBatch, HistoryEvent, StorageAdapter, StoredKind } from '../adapters/contract';
import { memoryAdapter } from '../adapters/memory';
import { storageError } from '../refusals';
import type { StoredRecord } from '../schemas/records';

/**
 * A store as text: JSON lines that any store's content can be written to and read back from,
 * to keep, to move between machines, or to load into another adapter (`copyStore`). The first
 * line names the format and its version; then each instance or plan, each followed by its
 * retained history events, and each instance's lease:
 *
 *   {"format":"instance-plan dump","version":1}
 *   {"kind":"instance","record":{...}}
 *   {"kind":"event","event":{...}}
 *   {"kind":"lease","record":{...}}
 *   {"kind":"plan","record":{...}}
 *   ...
 *
 * The version is that of the records' shape: a dump of an earlier version is read and brought
 * forward; one newer than this library is refused, naming both versions.
 */
export const DUMP_FORMAT = 'instance-plan dump';

/** The version of the records' shape this library writes (the shape of 0.1.0 is version 1). */
export const DUMP_VERSION = 1;

type Line = { format: string; version: number } | { kind: 'instance' | 'plan' | 'lease'; record: StoredRecord } | { kind: 'event'; event: HistoryEvent };

/** Writes every record of `adapter` (newest first, a page at a time), its retained events and leases, as the lines above. */
export async function* dumpStore(adapter: StorageAdapter, options: { pageSize?: number } = {}): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 100;
  yield JSON.stringify({ format: DUMP_FORMAT, version: DUMP_VERSION });
  for (const kind of ['instance', 'plan'] as const) {
    for (let offset = 0; ; offset += pageSize) {
      const { records, total } = await adapter.list(kind, { where: {}, limit: pageSize, offset });
      for (const record of records) {
        yield JSON.stringify({ kind, record });
        for (let after = 0; after < record.version; ) {
          const page = (await adapter.history(record.id, { after_seq: after, limit: 1_000 })).filter((event) => event.seq > after && event.seq <= record.version);
          if (page.length === 0) break;
          for (const event of page) yield JSON.stringify({ kind: 'event', event });
          after = page.at(-1)!.seq;
        }
        if (kind === 'instance') {
          const lease = await adapter.get('lease', record.id);
          if (lease) yield JSON.stringify({ kind: 'lease', record: lease });
        }
      }
      if (records.length === 0 || offset + records.length >= total) break;
    }
  }
}

const refused = (message: string, details: Record<string, unknown>) => storageError(message, undefined, details);

/**
 * Reads a dump (its lines, as strings: split a file on newlines) into a new memory adapter, or into
 * `into`, one commit per record with its events. A line that is not part of a dump is refused,
 * naming the line; so is a dump newer than this library, naming both versions.
 */
export async function loadDump(lines: Iterable<string> | AsyncIterable<string>, into: StorageAdapter = memoryAdapter()): Promise<StorageAdapter> {
  let number = 0;
  let header = false;
  let pending: CommitBatch | undefined;
  const flush = async () => {
    if (pending) await into.commit(pending);
    pending = undefined;
  };
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      throw refused(`line ${number} of the dump is not JSON`, { reason: 'malformed', line: number });
    }
    if (!header) {
      if (typeof line !== 'object' || line === null || !('format' in line) || line.format !== DUMP_FORMAT || !Number.isSafeInteger(line.version)) {
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
      continue;
    }
    const kind = (line as { kind?: unknown }).kind;
    if (kind === 'event' && pending && 'event' in line && typeof line.event === 'object' && line.event !== null) {
      pending.events.push(line.event);
      continue;
    }
    if ((kind === 'instance' || kind === 'plan' || kind === 'lease') && 'record' in line && typeof line.record === 'object' && line.record !== null) {
      await flush();
      pending = { writes: [{ kind: kind as StoredKind, record: line.record, expected_version: null }], events: [] };
      continue;
    }
    throw refused(`line ${number} of the dump is neither a record nor an event of the record before it`, { reason: 'malformed', line: number });
  }
  if (!header) throw refused('the dump is empty: its first line must name the format', { reason: 'not_a_dump', line: 0 });
  await flush();
  return into;
}
