import { storageError } from '../contract';

/** What went wrong underneath, in `details.reason` of every `STORAGE_ERROR` this adapter throws. */
export type SqliteFaultReason =
  | 'busy'
  | 'read_only'
  | 'full'
  | 'corrupt'
  | 'not_an_instance_plan_database'
  | 'not_migrated'
  | 'version_too_new'
  | 'closed'
  | 'unrepresentable'
  | 'failed';

const SAYS: Record<SqliteFaultReason, string> = {
  busy: 'the database stayed locked by another connection past the busy timeout and the retries. Nothing was written; retry later.',
  read_only: 'the database file, or its folder (where SQLite keeps the -wal and -shm files), cannot be written. Nothing was written.',
  full: 'the disk (or the database size limit) is full. Nothing was written; free space.',
  corrupt: 'the database file is damaged. Nothing was written; restore it from a backup.',
  not_an_instance_plan_database: 'the file is not a database of instance-plan.',
  not_migrated: 'the tables of instance-plan are missing or older than this code: run migrate(database) (from instance-plan/sqlite) first.',
  version_too_new: 'the database was written by a newer version of instance-plan than this code.',
  closed: 'the database handle is closed.',
  unrepresentable: 'SQLite text keys cannot hold unpaired surrogates nor U+0000. Nothing was written.',
  failed: 'SQLite reported an error.',
};

// SQLite's primary result codes (an extended code keeps its primary one in the low byte).
// SQLITE_CANTOPEN (14) on a database that opened: the -wal or -shm file could not be made in a
// folder that cannot be written.
const BY_RESULT_CODE: Record<number, SqliteFaultReason> = { 5: 'busy', 6: 'busy', 8: 'read_only', 14: 'read_only', 13: 'full', 11: 'corrupt', 26: 'not_an_instance_plan_database' };
const BY_NAME: [RegExp, SqliteFaultReason][] = [
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_(READONLY|CANTOPEN)/, 'read_only'],
  [/^SQLITE_FULL/, 'full'],
  [/^SQLITE_CORRUPT/, 'corrupt'],
  [/^SQLITE_NOTADB/, 'not_an_instance_plan_database'],
];
const CLOSED = /not open|closed database|database is closed|connection is not open|has closed|finalized/i;

/** The reason a driver error stands for: better-sqlite3 and Bun name the code, node:sqlite numbers it. */
export function reasonOf(error: unknown): SqliteFaultReason {
  const { code, errcode, errno, message } = (error ?? {}) as { code?: unknown; errcode?: unknown; errno?: unknown; message?: unknown };
  if (typeof code === 'string') {
    const named = BY_NAME.find(([pattern]) => pattern.test(code));
    if (named) return named[1];
  }
  const number = typeof errcode === 'number' ? errcode : typeof errno === 'number' ? errno : undefined;
  if (number !== undefined && BY_RESULT_CODE[number & 0xff]) return BY_RESULT_CODE[number & 0xff]!;
  if (typeof message === 'string') {
    if (CLOSED.test(message)) return 'closed';
    if (/database is locked|database table is locked/i.test(message)) return 'busy';
    if (/readonly|read-only|unable to open database file/i.test(message)) return 'read_only';
    if (/disk is full|database or disk is full/i.test(message)) return 'full';
    if (/malformed/i.test(message)) return 'corrupt';
    if (/not a database/i.test(message)) return 'not_an_instance_plan_database';
  }
  return 'failed';
}

/** Any failure of a statement as `STORAGE_ERROR` with its reason; our own errors pass through. */
export function storageFault(operation: string, error: unknown) {
  if ((error as { name?: unknown } | null)?.name === 'InstancePlanError') return error;
  const reason = reasonOf(error);
  return fault(reason, `SQLite ${operation} failed: ${SAYS[reason]}`, error);
}

export function fault(reason: SqliteFaultReason, message: string, cause?: unknown, extra: Record<string, unknown> = {}) {
  return storageError(message, cause, { ...extra, reason });
}
