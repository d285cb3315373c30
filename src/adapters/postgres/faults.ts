import { storageError } from '../contract';

/**
 * What went wrong underneath, in `details.reason` of every `STORAGE_ERROR` this adapter throws,
 * so an app can react (retry, page someone, run `migrate`) without parsing messages.
 */
export type PostgresFaultReason =
  | 'connection'
  | 'serialization'
  | 'deadlock'
  | 'not_migrated'
  | 'version_too_new'
  | 'upgrade_failed'
  | 'too_large'
  | 'insufficient_resources'
  | 'read_only'
  | 'canceled'
  | 'unrepresentable'
  | 'failed';

const ADVICE: Record<PostgresFaultReason, string> = {
  connection: 'the database could not be reached, or the connection broke. If this was a commit, it may or may not have landed: read the record again before retrying.',
  serialization: 'the database refused the transaction under concurrent load (serialization failure). Nothing was written; retry.',
  deadlock: 'the database broke a deadlock by aborting this transaction. Nothing was written; retry.',
  not_migrated: 'the tables of instance-plan are missing or older than this code: run migrate(client) (from instance-plan/postgres) first.',
  version_too_new: 'the tables were migrated by a newer version of instance-plan than this code; update this code.',
  upgrade_failed: 'a migration failed, so the schema stays at its previous version (migrations run in one transaction).',
  too_large: 'a value is too large for PostgreSQL. Nothing was written.',
  insufficient_resources: 'the database is out of a resource (disk, memory, connections). Nothing was written; retry later.',
  read_only: 'the database is read-only (a standby, or default_transaction_read_only). Nothing was written; connect to the primary.',
  canceled: 'the statement was canceled (statement_timeout, or an administrator). Nothing was written; retry.',
  unrepresentable: 'PostgreSQL text cannot hold U+0000 nor unpaired surrogates, and this value is a key or filter column. Nothing was written.',
  failed: 'PostgreSQL reported an error.',
};

const BY_SQLSTATE: [RegExp, PostgresFaultReason][] = [
  [/^08/, 'connection'],
  [/^57P0[123]$/, 'connection'], // admin_shutdown, crash_shutdown, cannot_connect_now
  [/^40001$/, 'serialization'],
  [/^40P01$/, 'deadlock'],
  [/^(42P01|42883|3F000)$/, 'not_migrated'], // undefined table, function, schema
  [/^54/, 'too_large'],
  [/^53/, 'insufficient_resources'],
  [/^25006$/, 'read_only'],
  [/^57014$/, 'canceled'],
];

// Node's socket errors, and what pg and PGlite say when a connection is gone (they carry no SQLSTATE).
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const CONNECTION_MESSAGES = /connection terminated|connection error|timeout exceeded when trying to connect|client was closed|after calling end|is closed|not queryable/i;

/** The reason a driver error stands for, from its SQLSTATE, its socket code or its message. */
export function reasonOf(error: unknown): PostgresFaultReason {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (CONNECTION_CODES.has(code)) return 'connection';
    const known = BY_SQLSTATE.find(([pattern]) => pattern.test(code));
    if (known) return known[1];
  }
  // An AggregateError (several addresses refused) carries the socket codes on its errors.
  const inner = (error as { errors?: unknown } | null)?.errors;
  if (Array.isArray(inner) && inner.some((each) => reasonOf(each) === 'connection')) return 'connection';
  return typeof message === 'string' && CONNECTION_MESSAGES.test(message) ? 'connection' : 'failed';
}

/** Any failure of a query as `STORAGE_ERROR`: the reason, the driver's code and message, the cause. */
export function storageFault(operation: string, error: unknown) {
  if ((error as { name?: unknown } | null)?.name === 'InstancePlanError') return error;
  const reason = reasonOf(error);
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const said = [typeof code === 'string' ? code : undefined, typeof message === 'string' ? message : String(error)].filter(Boolean).join(': ');
  return fault(reason, `PostgreSQL ${operation} failed: ${ADVICE[reason]} (${said})`, error, typeof code === 'string' ? { driver_code: code } : {});
}

/** A `STORAGE_ERROR` of a known reason; `extra` adds details such as the versions involved. */
export function fault(reason: PostgresFaultReason, message: string, cause: unknown, extra: Record<string, unknown> = {}) {
  return storageError(message, cause, { ...extra, reason });
}

export { ADVICE };
