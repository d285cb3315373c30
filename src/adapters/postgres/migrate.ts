import { checkOptions, quoted, type PostgresClient } from './client';
import { fault, reasonOf, storageFault } from './faults';
import { MIGRATIONS, VERSION_TABLE, type Migration } from './schema';

export interface MigrateOptions {
  /** The PostgreSQL schema holding the tables, created when missing. Default `'instance_plan'`. */
  schema?: string;
}

/** The advisory lock class migrations take (any constant; "IP" in ASCII), with the schema's hash as the key. */
const LOCK_CLASS = 0x4950;

/**
 * Creates or upgrades the tables of instance-plan in `schema` to the version this code knows,
 * and answers that version. Safe to run on every start, from several processes at once: it is
 * one statement (one transaction) that takes an advisory lock, reads `schema_version`, and runs
 * only the migrations the schema lacks. A schema migrated by newer code is left untouched and
 * refused with `STORAGE_ERROR` (`reason: 'version_too_new'`).
 *
 * @example
 * import pg from 'pg';
 * import { migrate, postgresAdapter } from 'instance-plan/postgres';
 * const client = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(client);
 * const manager = new PlanManager({ adapter: postgresAdapter({ client }) });
 */
export function migrate(client: PostgresClient, options: MigrateOptions = {}): Promise<{ version: number }> {
  const { schema } = checkOptions('migrate', { ...options, client });
  return runMigrations(client, schema, MIGRATIONS);
}

/** `migrate` along a given upgrade path (the tests pass longer ones). */
export async function runMigrations(client: PostgresClient, schema: string, migrations: readonly Migration[]): Promise<{ version: number }> {
  const s = quoted(schema);
  const target = migrations.length;
  // plpgsql runs the DDL; a DO block takes no parameters, so everything in it is checked text:
  // the schema name matches SCHEMA_NAME, the rest is ours.
  const steps = migrations.map((migration, i) => `IF stored < ${i + 1} THEN ${migration(s)}\n  END IF;`).join('\n  ');
  const sql = `DO $migrate$
DECLARE stored integer;
BEGIN
  PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, ${hash(schema)});
  CREATE SCHEMA IF NOT EXISTS ${s};
  CREATE TABLE IF NOT EXISTS ${s}.${VERSION_TABLE} (version integer NOT NULL);
  SELECT version INTO stored FROM ${s}.${VERSION_TABLE};
  IF stored IS NULL THEN
    INSERT INTO ${s}.${VERSION_TABLE} (version) VALUES (0);
    stored := 0;
  END IF;
  IF stored > ${target} THEN
    RAISE EXCEPTION USING ERRCODE = 'IP426', MESSAGE = 'instance-plan: schema is newer than this code',
      DETAIL = json_build_object('stored_version', stored, 'code_version', ${target})::text;
  END IF;
  ${steps}
  UPDATE ${s}.${VERSION_TABLE} SET version = ${target};
END
$migrate$`;
  try {
    await client.query(sql);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'IP426') throw tooNew(schema, error, target);
    // The database's own faults keep their reason; anything else is a migration that failed.
    const reason = reasonOf(error);
    if (reason !== 'failed' && reason !== 'not_migrated') throw storageFault(`migrate of schema ${JSON.stringify(schema)}`, error);
    const said = (error as { message?: unknown } | null)?.message ?? String(error);
    throw fault('upgrade_failed', `Migrating PostgreSQL schema ${JSON.stringify(schema)} to version ${target} failed, so it stays at its previous version: ${String(said)}`, error, {
      schema,
      code_version: target,
    });
  }
  return { version: target };
}

/** The version `schema` is at: 0 when it has no tables of ours. */
export async function storedVersion(client: PostgresClient, schema: string): Promise<number> {
  try {
    const { rows } = await client.query(`SELECT version FROM ${quoted(schema)}.${VERSION_TABLE}`);
    return Number((rows[0] as { version?: unknown } | undefined)?.version ?? 0);
  } catch (error) {
    // 42P01: no such table; 3F000: no such schema.
    const code = (error as { code?: unknown }).code;
    if (code === '42P01' || code === '3F000') return 0;
    throw error;
  }
}

export function tooNew(schema: string, cause: unknown, code: number, stored?: number) {
  const detail = (cause as { detail?: unknown } | undefined)?.detail;
  const found = stored ?? (typeof detail === 'string' ? (JSON.parse(detail) as { stored_version?: number }).stored_version : undefined);
  return fault(
    'version_too_new',
    `PostgreSQL schema ${JSON.stringify(schema)} is at version ${found ?? '(unknown)'}, but this code knows versions up to ${code}: ` +
      'a newer version of instance-plan has migrated it. Update this code; it cannot use a newer schema.',
    cause,
    { schema, stored_version: found ?? null, code_version: code },
  );
}

/** A 32-bit FNV-1a hash of the schema name: the advisory lock key, so migrations of other schemas do not wait. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
