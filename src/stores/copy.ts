import type { CommitBatch, HistoryEvent, StorageAdapter, StoredKind } from '../adapters/contract';
import { InstancePlanError } from '../errors';
import { replay } from '../manager/history';
import { copyDiverged, copyWouldGoBack, storageError } from '../refusals';
import type { Lease, RecordKind, StoredRecord } from '../schemas/records';
import { canonicalJson } from './canonical';

/**
 * Copies every record of a store, with its retained history and its lease, into another store:
 * any adapter to any other, a page at a time. Each record lands in one commit with its events,
 * so the target never holds a record without its history. A record the target already holds at
 * the same version is skipped, and one it holds at an older version is brought up to date (its
 * missing events added): so a copy interrupted halfway is resumed by running it again, and a
 * second run after the source changed copies just the changes. With `verify` (the default) each
 * record copied is read back and its history replayed on the target.
 */

export interface CopyOptions {
  /** Records read per page of the source (default 100). */
  pageSize?: number;
  /** Events read per page of a record's history (default 1,000). */
  historyPageSize?: number;
  /** Read each copied record back and replay its history on the target (default true). */
  verify?: boolean;
  /** Told after each record. */
  onProgress?(progress: CopyProgress): void;
}

export interface CopyProgress {
  kind: StoredKind;
  id: string;
  /** What happened to it: written (new on the target), updated (brought up to date), or skipped (already there). */
  outcome: 'written' | 'updated' | 'skipped';
  /** Records of this kind handled so far, and how many the source listed. */
  done: number;
  total: number;
}

export interface CopyReport {
  instances: CopyCounts;
  plans: CopyCounts;
  leases: CopyCounts;
  /** Events written to the target. */
  events: number;
}

export interface CopyCounts {
  written: number;
  updated: number;
  skipped: number;
}

const counts = (): CopyCounts => ({ written: 0, updated: 0, skipped: 0 });

function whole(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`copyStore: ${name} must be a whole number of at least 1, got ${String(value)}`);
  return value;
}

/** Every retained event of a record after `after_seq` and up to `until` (its version as read), a page at a time. */
export async function historyOf(adapter: StorageAdapter, id: string, after: number, until: number, pageSize: number): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for (let cursor = after; cursor < until; ) {
    const page = await adapter.history(id, { after_seq: cursor, limit: pageSize });
    const wanted = page.filter((event) => event.seq > cursor && event.seq <= until);
    if (wanted.length === 0) break;
    events.push(...wanted);
    cursor = wanted.at(-1)!.seq;
  }
  return events;
}

/**
 * Events that follow seq `since` (0: from nothing), as replay can use them: a history pruned by
 * managers of different retentions may start later without a snapshot; it replays from its latest
 * snapshot, so it is cut there (what precedes that cannot be replayed).
 */
export function replayableFrom(events: HistoryEvent[], since: number): HistoryEvent[] {
  if (!events[0] || events[0].seq === since + 1 || events[0].snapshot !== undefined) return events;
  let latest = events.length - 1;
  while (latest > 0 && events[latest]!.snapshot === undefined) latest--;
  return latest > 0 ? events.slice(latest) : events;
}

/** Copies `from` into `to` (see above); answers what it did. Refuses to take any record back (`CONFLICT`). */
export async function copyStore(from: StorageAdapter, to: StorageAdapter, options: CopyOptions = {}): Promise<CopyReport> {
  const pageSize = whole('pageSize', options.pageSize, 100);
  const historyPageSize = whole('historyPageSize', options.historyPageSize, 1_000);
  const verify = options.verify ?? true;
  const report: CopyReport = { instances: counts(), plans: counts(), leases: counts(), events: 0 };

  const copyRecord = async (kind: RecordKind, record: StoredRecord): Promise<CopyProgress['outcome']> => {
    const held = await to.get(kind, record.id);
    if (held && held.version === record.version) return 'skipped';
    if (held && held.version > record.version) throw copyWouldGoBack(kind, record.id, record.version, held.version);
    const since = held?.version ?? 0;
    if (held) await checkSameLineage(from, to, kind, record, held);
    const events = replayableFrom(await historyOf(from, record.id, since, record.version, historyPageSize), since);
    const first = events[0]?.seq;
    // A history that starts later than the target needs must start at a snapshot (events were pruned).
    if (first !== since + 1 && events[0]?.snapshot === undefined) {
      throw storageError(`copyStore: the source's history of ${kind} ${JSON.stringify(record.id)} starts at seq ${first ?? 'none'} without a snapshot, so it cannot be replayed from there; nothing of it was written`, undefined, { kind, id: record.id, reason: 'history_incomplete' });
    }
    const batch: CommitBatch = { writes: [{ kind, record, expected_version: held?.version ?? null }], events };
    // The target's own older events would leave a gap before the snapshot: they go in the same commit.
    if (held && first !== since + 1) batch.prune = [{ record_id: record.id, before_seq: first! }];
    await to.commit(batch);
    report.events += events.length;
    if (verify) await verifyRecord(to, kind, record, historyPageSize);
    return held ? 'updated' : 'written';
  };

  for (const kind of ['instance', 'plan'] as const) {
    const tally = kind === 'instance' ? report.instances : report.plans;
    // Newest first, page by page: records added to the source meanwhile shift the pages later, so
    // some are seen twice (the second time skipped) and none is missed.
    let done = 0;
    for (let offset = 0; ; offset += pageSize) {
      const { records, total } = await from.list(kind, { where: {}, limit: pageSize, offset });
      for (const record of records) {
        const outcome = await copyRecord(kind, record);
        tally[outcome]++;
        if (kind === 'instance') await copyLease(from, to, record.id, report);
        options.onProgress?.({ kind, id: record.id, outcome, done: ++done, total });
      }
      if (records.length === 0 || offset + records.length >= total) break;
    }
  }
  return report;
}

/**
 * A target behind the source must hold a version the source went through, not one of its own:
 * the event that made the target's version must be the source's event of that seq (when the
 * source still has it; a pruned source cannot tell, and is trusted).
 */
async function checkSameLineage(from: StorageAdapter, to: StorageAdapter, kind: RecordKind, record: StoredRecord, held: StoredRecord): Promise<void> {
  const page = { after_seq: held.version - 1, limit: 1 };
  const [theirs] = (await from.history(record.id, page)).filter((event) => event.seq === held.version);
  const [ours] = (await to.history(record.id, page)).filter((event) => event.seq === held.version);
  if (theirs && ours && canonicalJson({ ...theirs, snapshot: undefined }) !== canonicalJson({ ...ours, snapshot: undefined })) {
    throw copyDiverged(kind, record.id, held.version);
  }
}

/** The lease of an instance (leases are not listed: found by the instance's id), unless the target has it already. */
async function copyLease(from: StorageAdapter, to: StorageAdapter, instanceId: string, report: CopyReport): Promise<void> {
  const lease = (await from.get('lease', instanceId)) as Lease | undefined;
  if (!lease) return;
  const held = (await to.get('lease', instanceId)) as Lease | undefined;
  if (held && held.version === lease.version) {
    report.leases.skipped++;
    return;
  }
  if (held && held.version > lease.version) throw copyWouldGoBack('lease', instanceId, lease.version, held.version);
  await to.commit({ writes: [{ kind: 'lease', record: lease, expected_version: held?.version ?? null }], events: [] });
  report.leases[held ? 'updated' : 'written']++;
}

/** Reads a copied record back from the target: it must be the source's, and its history must replay to it. */
async function verifyRecord(to: StorageAdapter, kind: RecordKind, record: StoredRecord, historyPageSize: number): Promise<void> {
  const stored = await to.get(kind, record.id);
  const events = await historyOf(to, record.id, 0, record.version, historyPageSize);
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  if (!same(stored, record) || !same(replay(events), record)) {
    throw new InstancePlanError('STORAGE_ERROR', `copyStore: ${kind} ${JSON.stringify(record.id)} read back from the target is not what was copied (or its history does not replay to it)`, {
      reason: 'verification_failed',
      kind,
      id: record.id,
    });
  }
}
