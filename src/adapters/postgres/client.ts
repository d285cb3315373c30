/**
 * The one thing the adapter needs from a PostgreSQL driver: run one statement with positional
 * parameters (`$1`, `$2`, ...) and hand back its rows. `pg`'s `Pool` and `Client` and
 * `@electric-sql/pglite`'s `PGlite` all have this method, so none of them is imported here.
 *
 * The adapter never sends two statements that must share a connection: every commit is one
 * statement (a call of the function `migrate` installs), so a pool may hand each query to any
 * of its connections.
 */
export interface PostgresClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A schema name the adapter accepts: a plain SQL identifier, so it can be embedded in SQL text safely. */
export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Checks the options every entry point shares; a mistake is a TypeError at construction, not a failed query later. */
export function checkOptions(where: string, options: unknown): { client: PostgresClient; schema: string } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be an object { client, schema? }`);
  const { client, schema = 'instance_plan' } = options as { client?: unknown; schema?: unknown };
  if (typeof (client as PostgresClient | undefined)?.query !== 'function') {
    throw new TypeError(`${where}: client must have a query(text, params) method (a pg Pool or Client, or a PGlite)`);
  }
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `${where}: schema must be a plain SQL identifier (a letter or "_", then letters, digits or "_", at most 63), got ${JSON.stringify(schema)}`,
    );
  }
  return { client: client as PostgresClient, schema };
}

/** `"name"`: an identifier quoted, so its case is kept (names are checked against SCHEMA_NAME first). */
export const quoted = (name: string) => `"${name}"`;
