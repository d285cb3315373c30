import type { StoredKind } from '../contract';

/**
 * How records live in PostgreSQL: one table per kind, each row the record as `json` (kept
 * exactly as written: `jsonb` would refuse "\u0000" inside an agent's output and reorder keys)
 * beside the columns lists and compare-and-set need. Names are relative to the adapter's schema.
 */
export const TABLES = { instance: 'instances', plan: 'plans', lease: 'leases' } as const satisfies Record<StoredKind, string>;
export const EVENTS = 'events';
export const VERSION_TABLE = 'schema_version';
export const COMMIT_FUNCTION = 'commit_batch';

/** The advisory lock class of lease ids (any constant; "IQ" in ASCII), with the id's hash as the key. */
const LEASE_LOCK_CLASS = 0x4951;

/** One step of the schema, as SQL statements for a plpgsql block. `s` is the quoted schema name. */
export type Migration = (s: string) => string;

/**
 * The upgrade path. Migration `i` takes the schema from version `i` to `i + 1`; the version this
 * code expects is the number of migrations. A migration that has shipped is never edited, only
 * followed by a new one (a database may be at any earlier version).
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1: the tables, an index per list filter, and the commit function.
  (s) => `
    -- id_key and created_key: the strings' UTF-16 code units (keys.ts), so ORDER BY matches the contract.
    CREATE TABLE ${s}.instances (
      id text PRIMARY KEY,
      id_key bytea NOT NULL,
      created_key bytea NOT NULL,
      organization_id text,
      status text,
      agent_type_id text,
      task_id text,
      version bigint NOT NULL,
      record json NOT NULL
    );
    CREATE INDEX instances_newest ON ${s}.instances (created_key DESC, id_key);
    CREATE INDEX instances_by_organization_id ON ${s}.instances (organization_id, created_key DESC, id_key);
    CREATE INDEX instances_by_status ON ${s}.instances (status, created_key DESC, id_key);
    CREATE INDEX instances_by_agent_type_id ON ${s}.instances (agent_type_id, created_key DESC, id_key);
    CREATE INDEX instances_by_task_id ON ${s}.instances (task_id, created_key DESC, id_key);

    CREATE TABLE ${s}.plans (
      id text PRIMARY KEY,
      id_key bytea NOT NULL,
      created_key bytea NOT NULL,
      instance_id text,
      status text,
      plan_type text,
      site_id text,
      user_id text,
      agent_id text,
      version bigint NOT NULL,
      record json NOT NULL
    );
    CREATE INDEX plans_newest ON ${s}.plans (created_key DESC, id_key);
    CREATE INDEX plans_by_instance_id ON ${s}.plans (instance_id, created_key DESC, id_key);
    CREATE INDEX plans_by_status ON ${s}.plans (status, created_key DESC, id_key);
    CREATE INDEX plans_by_plan_type ON ${s}.plans (plan_type, created_key DESC, id_key);
    CREATE INDEX plans_by_site_id ON ${s}.plans (site_id, created_key DESC, id_key);
    CREATE INDEX plans_by_user_id ON ${s}.plans (user_id, created_key DESC, id_key);
    CREATE INDEX plans_by_agent_id ON ${s}.plans (agent_id, created_key DESC, id_key);

    -- Read by id only; owner, token and expires_at are columns for people looking at the table.
    CREATE TABLE ${s}.leases (
      id text PRIMARY KEY,
      owner text,
      token bigint NOT NULL,
      expires_at text NOT NULL,
      version bigint NOT NULL,
      record json NOT NULL
    );

    CREATE TABLE ${s}.events (
      position bigserial PRIMARY KEY,
      record_id text NOT NULL,
      seq bigint NOT NULL,
      event json NOT NULL
    );
    CREATE INDEX events_by_record ON ${s}.events (record_id, seq, position);

    ${commitFunction(s)}
  `,
  // 2: bounded history: the commit also drops, per record, the events older than a given seq.
  (s) => `
    CREATE FUNCTION ${s}.commit_batch(items json, records text[], event_ids text[], event_seqs bigint[], events text[], prune_ids text[], prune_before bigint[])
    RETURNS void LANGUAGE plpgsql AS $commit$
    BEGIN
      PERFORM ${s}.commit_batch(items, records, event_ids, event_seqs, events);
      -- The batch's own events are at or after before_seq, so they stay.
      DELETE FROM ${s}.events AS e
      USING unnest(prune_ids, prune_before) AS p(record_id, before_seq)
      WHERE e.record_id = p.record_id AND e.seq < p.before_seq;
    END
    $commit$;
  `,
  // 3: records of shape 2: an instance has status_reason, max_turns and max_tokens (null), in its
  // row and wherever its history holds the whole record (the creation event's value, a
  // snapshot). Done on the JSON text, which the adapter writes with JSON.stringify: PostgreSQL's
  // json functions (and jsonb) refuse strings a json column keeps, such as \u0000 and lone
  // surrogates. The fields go first in each whole instance: at the start of its row, and after
  // "value":{ or "snapshot":{ in its events, which nothing else in an instance's history can read
  // (its patches hold plain values, and a quote inside a string is escaped); an instance's events
  // are those of its id that begin as the adapter writes one (a plan may share the id). An
  // instance row, creation event or snapshot left without them (text of another layout) fails
  // the migration, which then changes nothing.
  (s) => `
    UPDATE ${s}.instances SET record = regexp_replace(record::text, '^\\{', '{${SHAPE_2_FIELDS},')::json
      WHERE strpos(record::text, '"status_reason":') = 0;
    UPDATE ${s}.events SET event = regexp_replace(event::text, '"(value|snapshot)":\\{', '"\\1":{${SHAPE_2_FIELDS},', 'g')::json
      WHERE record_id IN (SELECT id FROM ${s}.instances) AND event::text ~ '^\\{"seq":[0-9]+,"record_id":"([^"\\\\]|\\\\.)*","record_kind":"instance"'
        AND strpos(event::text, '"status_reason":') = 0;
    IF EXISTS (SELECT 1 FROM ${s}.instances WHERE strpos(record::text, '"status_reason":') = 0)
      OR EXISTS (
        SELECT 1 FROM ${s}.events WHERE record_id IN (SELECT id FROM ${s}.instances) AND strpos(event::text, '"status_reason":') = 0
          AND (seq = 1 OR strpos(event::text, '"snapshot"') > 0) AND strpos(event::text, '"record_kind":"plan"') = 0
      ) THEN
      RAISE EXCEPTION 'instance-plan: an instance of an unknown layout cannot be brought to the records'' shape 2';
    END IF;
  `,
  // 4: the commit with pruning in one function body (migration 2's called migration 1's, and
  // deleted even with nothing to drop): the same writes, one call less per change.
  (s) => commitFunction(s, { prune: true }),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** What migration 3 adds to every whole instance, as JSON text. */
const SHAPE_2_FIELDS = '"status_reason":null,"max_turns":null,"max_tokens":null';

/**
 * The batch commit, as one function call: one statement is one transaction on whatever
 * connection runs it, so a pool may run it anywhere, and it costs one round trip. Items are
 * checks and writes, sorted by kind and id (commit.ts), so concurrent commits lock rows in the
 * same order and cannot deadlock. Each write is an INSERT (expected version null) or an
 * UPDATE ... WHERE id = ... AND version = ...; the first that matches no row, and the first check
 * whose version differs, raises SQLSTATE IP409 with the versions, which rolls back everything.
 */
function commitFunction(s: string, { prune = false }: { prune?: boolean } = {}): string {
  // One write per table: each column with the expression that fills it from the item.
  const text = (field: string): [string, string] => [field, `item->>'${field}'`];
  const keys: [string, string][] = [
    ['id_key', "decode(item->>'id_key', 'hex')"],
    ['created_key', "decode(item->>'created_key', 'hex')"],
  ];
  const write = (table: string, columns: [string, string][]) => `
          IF expected IS NULL THEN
            INSERT INTO ${s}.${table} (id, ${columns.map(([column]) => column).join(', ')}, version, record)
            VALUES (item_id, ${columns.map(([, value]) => value).join(', ')}, (item->>'version')::bigint, rec)
            ON CONFLICT (id) DO NOTHING;
          ELSE
            UPDATE ${s}.${table} SET ${columns.map(([column, value]) => `${column} = ${value}`).join(', ')}, version = (item->>'version')::bigint, record = rec
            WHERE id = item_id AND version = expected;
          END IF;
          written := FOUND;
          IF NOT written THEN SELECT version INTO actual FROM ${s}.${table} WHERE id = item_id; END IF;`;
  // The signature of migration 1 (without pruning), or of migration 2's (with), which migration 4
  // replaces by this one body: no nested call, and no DELETE when there is nothing to drop.
  const signature = prune
    ? `OR REPLACE FUNCTION ${s}.commit_batch(items json, records text[], event_ids text[], event_seqs bigint[], events text[], prune_ids text[], prune_before bigint[])`
    : `FUNCTION ${s}.commit_batch(items json, records text[], event_ids text[], event_seqs bigint[], events text[])`;
  const pruning = prune
    ? `
      -- The batch's own events are at or after before_seq, so they stay.
      IF cardinality(prune_ids) > 0 THEN
        DELETE FROM ${s}.events AS e
        USING unnest(prune_ids, prune_before) AS p(record_id, before_seq)
        WHERE e.record_id = p.record_id AND e.seq < p.before_seq;
      END IF;`
    : '';
  return `
    CREATE ${signature}
    RETURNS void LANGUAGE plpgsql AS $commit$
    DECLARE
      item json;
      kind text;
      item_id text;
      expected bigint;
      actual bigint;
      written boolean;
      rec json;
    BEGIN
      FOR item IN SELECT value FROM json_array_elements(items) LOOP
        kind := item->>'kind';
        item_id := item->>'id';
        expected := (item->>'expected')::bigint;
        actual := NULL;
        IF item->>'op' = 'check' THEN
          -- FOR SHARE: the checked row cannot change until this transaction ends (a lease taken
          -- over waits for the holder's last write, instead of that write landing after it).
          -- A lease that does not exist yet has no row to lock: the advisory lock stands in for
          -- it, and a lease's first INSERT takes it exclusively (below).
          IF kind = 'lease' THEN PERFORM pg_advisory_xact_lock_shared(${LEASE_LOCK_CLASS}, hashtext('${s}/' || item_id)); END IF;
          IF kind = 'instance' THEN SELECT version INTO actual FROM ${s}.instances WHERE id = item_id FOR SHARE;
          ELSIF kind = 'plan' THEN SELECT version INTO actual FROM ${s}.plans WHERE id = item_id FOR SHARE;
          ELSE SELECT version INTO actual FROM ${s}.leases WHERE id = item_id FOR SHARE;
          END IF;
          written := actual IS NOT DISTINCT FROM expected;
        ELSE
          rec := records[(item->>'slot')::int]::json;
          IF kind = 'instance' THEN ${write('instances', [...keys, ...['organization_id', 'status', 'agent_type_id', 'task_id'].map(text)])}
          ELSIF kind = 'plan' THEN ${write('plans', [...keys, ...['instance_id', 'status', 'plan_type', 'site_id', 'user_id', 'agent_id'].map(text)])}
          ELSE
            IF expected IS NULL THEN PERFORM pg_advisory_xact_lock(${LEASE_LOCK_CLASS}, hashtext('${s}/' || item_id)); END IF;
            ${write('leases', [text('owner'), ['token', "(item->>'token')::bigint"], text('expires_at')])}
          END IF;
        END IF;
        IF NOT written THEN
          RAISE EXCEPTION USING ERRCODE = 'IP409', MESSAGE = 'instance-plan: version conflict',
            DETAIL = json_build_object('kind', kind, 'id', item_id, 'expected', expected, 'actual', actual)::text;
        END IF;
      END LOOP;
      INSERT INTO ${s}.events (record_id, seq, event)
      SELECT t.record_id, t.seq, t.event::json
      FROM unnest(event_ids, event_seqs, events) WITH ORDINALITY AS t(record_id, seq, event, n)
      ORDER BY t.n;${pruning}
    END
    $commit$;`;
}
