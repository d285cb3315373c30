import { INDEXED_FIELDS, type StoredKind } from '../contract';

/**
 * How records live in SQLite: one table per kind, each row the record as JSON text beside the
 * columns lists and compare-and-set need. `id_key` and `created_key` are the strings' UTF-16 code
 * units as hex (see ../text-keys.ts), so `ORDER BY created_key DESC, id_key` is the contract's order; a
 * text collation compares UTF-8 bytes, which puts "\uffff" after "😀".
 */
export const TABLES = { instance: 'instances', plan: 'plans', lease: 'leases' } as const satisfies Record<StoredKind, string>;

/** `PRAGMA application_id` of a database of instance-plan: "IPln" in ASCII. */
export const APPLICATION_ID = 0x49506c6e;

const recordTable = (table: string, fields: readonly string[]) => `
  CREATE TABLE ${table} (
    id TEXT PRIMARY KEY,
    id_key TEXT NOT NULL,
    created_key TEXT NOT NULL,
    ${fields.map((field) => `${field} TEXT,`).join('\n    ')}
    version INTEGER NOT NULL,
    record TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX ${table}_newest ON ${table} (created_key DESC, id_key);
  ${fields.map((field) => `CREATE INDEX ${table}_by_${field} ON ${table} (${field}, created_key DESC, id_key);`).join('\n  ')}`;

/**
 * The upgrade path: migration `i` takes the database from `PRAGMA user_version` `i` to `i + 1`.
 * A migration that has shipped is never edited, only followed by a new one. (Migration 1 was
 * settled before any release carried the adapter: a file written by a commit before it is not
 * a file a release wrote.)
 */
export const MIGRATIONS: readonly string[] = [
  `${recordTable('instances', INDEXED_FIELDS.instance)}
  ${recordTable('plans', INDEXED_FIELDS.plan)}
  CREATE TABLE leases (id TEXT PRIMARY KEY, owner TEXT, token INTEGER NOT NULL, expires_at TEXT NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE events (position INTEGER PRIMARY KEY, record_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL);
  CREATE INDEX events_by_record ON events (record_id, seq, position);
  -- How many records of a kind hold each value of each indexed field ('' and '': all of them),
  -- moved in the transaction of every write, so a list's total is one read however many match.
  CREATE TABLE counts (kind TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, field, value)) WITHOUT ROWID;`,
  // 2: an instance has status_reason, max_turns and max_tokens (null: no reason, no budget), in
  // its row and wherever its history holds the whole record (the creation event, a snapshot).
  `UPDATE instances SET record = ${withInstanceFields('record', '$')} WHERE json_type(record, '$.status_reason') IS NULL;
  UPDATE events SET event = ${withInstanceFields('event', '$.changes[0].value')}
    WHERE json_extract(event, '$.type') = 'instance.created' AND json_type(event, '$.changes[0].value.status_reason') IS NULL;
  UPDATE events SET event = ${withInstanceFields('event', '$.snapshot')}
    WHERE json_extract(event, '$.record_kind') = 'instance' AND json_type(event, '$.snapshot') = 'object' AND json_type(event, '$.snapshot.status_reason') IS NULL;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** `json` (a column of JSON text) with the instance at `path` given the fields of shape 2, null. */
function withInstanceFields(json: string, path: string): string {
  return `json_set(${json}, '${path}.status_reason', NULL, '${path}.max_turns', NULL, '${path}.max_tokens', NULL)`;
}
