// Shared by the PostgreSQL tests: a conformance setup per client, one schema per test.
import type { StorageAdapter } from 'instance-plan';
import { migrate, postgresAdapter, type PostgresAdapter, type PostgresClient } from 'instance-plan/postgres';
import type { ConformanceOptions } from 'instance-plan/testing';

let schemas = 0;

/** A schema name no other test (or run) uses. */
export function freshSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${++schemas}`;
}

export async function dropSchema(client: PostgresClient, schema: string): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * The conformance options for clients on one database: each test migrates a schema of its own
 * through `client`, and `connect` opens the same schema through `other` (another connection, or
 * a pool of its own: as a second process would).
 */
export function pgConformance(name: string, client: PostgresClient, other: PostgresClient = client): Omit<ConformanceOptions, 'describe' | 'it'> {
  return {
    name,
    async create() {
      const schema = freshSchema('conformance');
      await migrate(client, { schema });
      return postgresAdapter({ client, schema });
    },
    connect: (adapter: StorageAdapter) => postgresAdapter({ client: other, schema: (adapter as PostgresAdapter).schema }),
    // Called for every handle of a test: the first drop removes the schema, the others find it gone.
    dispose: (adapter: StorageAdapter) => dropSchema(client, (adapter as PostgresAdapter).schema),
    changeFeed: false,
  };
}
