import type { CommitBatch, RecordCheck } from './contract';

/**
 * The shape every adapter checks before it stores anything: a malformed batch is a programming
 * error, refused with a `TypeError` that names the field and what it must be, and nothing is
 * written. Returns the batch's checks (none given: none).
 */
export function checkBatch(batch: CommitBatch): RecordCheck[] {
  need(isObject(batch) && Array.isArray(batch.writes) && Array.isArray(batch.events), 'commit: a batch', '{ writes, events, checks? }');
  const seen = new Set<string>();
  batch.writes.forEach((write, i) => {
    const where = `commit: writes[${i}]`;
    need(isObject(write), where, 'an object');
    checkKeyed(write.kind, write.expected_version, where);
    need(isObject(write.record), `${where}.record`, 'an object');
    const { id, created_at: createdAt, version } = write.record;
    need(typeof id === 'string', `${where}.record.id`, 'a string');
    need(typeof createdAt === 'string', `${where}.record.created_at`, 'a string');
    need(Number.isSafeInteger(version), `${where}.record.version`, 'an integer');
    const key = `${write.kind}\u0000${id}`;
    if (seen.has(key)) throw new TypeError(`a batch writes ${write.kind} ${JSON.stringify(id)} twice`);
    seen.add(key);
  });
  batch.events.forEach((event, i) => {
    // Events are found again by record_id and ordered by seq; one without them would be lost.
    need(isObject(event) && typeof event.record_id === 'string' && Number.isSafeInteger(event.seq), `commit: events[${i}]`, 'an event (string record_id, integer seq)');
  });
  const checks = batch.checks ?? [];
  need(Array.isArray(checks), 'commit: checks', 'an array');
  checks.forEach((check, i) => {
    const where = `commit: checks[${i}]`;
    need(isObject(check), where, 'an object');
    checkKeyed(check.kind, check.expected_version, where);
    need(typeof check.id === 'string', `${where}.id`, 'a string');
  });
  const prune = batch.prune ?? [];
  need(Array.isArray(prune), 'commit: prune', 'an array');
  prune.forEach((entry, i) => {
    need(isObject(entry) && typeof entry.record_id === 'string' && Number.isSafeInteger(entry.before_seq), `commit: prune[${i}]`, 'an object { record_id: string, before_seq: integer }');
  });
  return checks;
}

function checkKeyed(kind: unknown, expected: unknown, where: string): void {
  need(kind === 'instance' || kind === 'plan' || kind === 'lease', `${where}.kind`, `"instance", "plan" or "lease", got ${JSON.stringify(kind)}`);
  need(expected === null || Number.isSafeInteger(expected), `${where}.expected_version`, 'an integer or null');
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

function need(ok: boolean, where: string, must: string): void {
  if (!ok) throw new TypeError(`${where} must be ${must}`);
}
