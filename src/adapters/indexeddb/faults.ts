import { storageError } from '../contract';

/**
 * What went wrong underneath, in `details.reason` of every `STORAGE_ERROR` this adapter throws,
 * so an app can react (offer to free space, ask the user to reload) without parsing messages.
 */
export type FaultReason =
  | 'quota_exceeded'
  | 'aborted'
  | 'closed'
  | 'upgrade_blocked'
  | 'version_too_new'
  | 'upgrade_failed'
  | 'not_an_instance_plan_database'
  | 'failed';

const ADVICE: Record<FaultReason, string> = {
  quota_exceeded:
    'the storage quota is exceeded. Nothing of this change was written; free space (delete old plans) or ask for persistent storage (navigator.storage.persist()).',
  aborted: 'the transaction was aborted (by the browser, or because the context is shutting down). Nothing of this change was written; retry.',
  closed: 'the database connection was closed or closing when the call began; the next call opens it again, unless the adapter itself was closed.',
  upgrade_blocked: 'the schema upgrade is blocked by another open connection.',
  version_too_new: 'the stored database is newer than this code.',
  upgrade_failed: 'the schema upgrade failed; the database was left at its previous version.',
  not_an_instance_plan_database: 'the database exists but was not created by instance-plan.',
  failed: 'IndexedDB reported an error.',
};

/** Our own errors (CONFLICT, or a STORAGE_ERROR already explained) pass through unchanged. */
export function isInstancePlanError(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'InstancePlanError';
}

/**
 * Turns a fault of IndexedDB into `STORAGE_ERROR` with the most telling cause attached. A quota
 * fault usually reaches the code as an `AbortError` of a request, the `QuotaExceededError`
 * sitting on the transaction; so the transaction's error is consulted too.
 */
export function storageFault(operation: string, error: unknown, transactionError?: unknown) {
  if (isInstancePlanError(error)) return error;
  const candidates = [transactionError, error, (error as { cause?: unknown } | null)?.cause];
  const quota = candidates.find((candidate) => nameOf(candidate) === 'QuotaExceededError');
  const reason: FaultReason = quota
    ? 'quota_exceeded'
    : nameOf(error) === 'InvalidStateError'
      ? 'closed'
      : ['AbortError', 'TransactionInactiveError'].includes(nameOf(error) ?? '') || nameOf(transactionError) === 'AbortError'
        ? 'aborted'
        : 'failed';
  const cause = quota ?? error;
  return fault(reason, `IndexedDB ${operation} failed: ${ADVICE[reason]} (${describe(cause)})`, cause);
}

/** A `STORAGE_ERROR` of a known kind; `extra` adds details such as the versions involved. */
export function fault(reason: FaultReason, message: string, cause: unknown, extra: Record<string, unknown> = {}) {
  return storageError(message, cause, { ...extra, reason });
}

function nameOf(value: unknown): string | undefined {
  const name = (value as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function describe(error: unknown): string {
  if (error === undefined || error === null) return 'no error given';
  const name = nameOf(error);
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? `${name ?? 'Error'}: ${message}` : (name ?? String(error));
}
