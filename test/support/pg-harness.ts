// Shared by the PostgreSQL tests: a conformance setup per client, one schema per test.
import { expect } from 'vitest';
import type { InstancePlanError, StorageAdapter } from 'instance-plan';
import { migrate, postgresAdapter, type PostgresAdapter, type PostgresClient, type PostgresListenClient } from 'instance-plan/postgres';
import type { ConformanceOptions } from 'instance-plan/testing';
import { expectRejection } from './core-fixtures';

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
    hidesOutOfScope: true,
  };
}

/**
 * As pgConformance, with the change feed across connections (LISTEN/NOTIFY): each handle gets a
 * listen connection of its own from `listener`, closed when the handle is disposed.
 */
export function pgFeedConformance(
  name: string,
  client: PostgresClient,
  other: PostgresClient,
  listener: () => Promise<{ listen: PostgresListenClient; close(): Promise<void> }>,
): Omit<ConformanceOptions, 'describe' | 'it'> {
  const closers = new WeakMap<StorageAdapter, () => Promise<void>>();
  const open = async (on: PostgresClient, schema: string) => {
    const { listen, close } = await listener();
    const adapter = postgresAdapter({ client: on, schema, listen });
    await adapter.listening;
    closers.set(adapter, close);
    return adapter;
  };
  return {
    ...pgConformance(name, client, other),
    async create() {
      const schema = freshSchema('feed');
      await migrate(client, { schema });
      return open(client, schema);
    },
    connect: (adapter: StorageAdapter) => open(other, (adapter as PostgresAdapter).schema),
    async dispose(adapter: StorageAdapter) {
      await closers.get(adapter)?.();
      await dropSchema(client, (adapter as PostgresAdapter).schema);
    },
    changeFeed: true,
  };
}

/** Runs `body` with a fresh schema on `db` (migrated unless told otherwise), and drops it afterwards. */
export function schemaRunner(db: PostgresClient, prefix: string) {
  return async (body: (schema: string) => Promise<void>, options: { migrated?: boolean; schema?: string } = {}) => {
    const schema = options.schema ?? freshSchema(prefix);
    if (options.migrated !== false) await migrate(db, { schema });
    try {
      await body(schema);
    } finally {
      await dropSchema(db, schema);
    }
  };
}

/** Expects a `STORAGE_ERROR` of the given `details.reason`. */
export async function expectFault(promise: Promise<unknown>, reason: string): Promise<InstancePlanError> {
  const error = await expectRejection(promise, 'STORAGE_ERROR');
  expect(error.details.reason, error.message).toBe(reason);
  return error;
}

/** A client that passes statements to `client`, remembering each and how many rows it answered. */
export function watched(client: PostgresClient) {
  const calls: { text: string; params: unknown[]; rows: number }[] = [];
  const watcher: PostgresClient = {
    async query(text, params = []) {
      const result = await client.query(text, params);
      calls.push({ text, params, rows: result.rows.length });
      return result;
    },
  };
  return { client: watcher, calls };
}

/** An error as the pg driver raises it: a message and a SQLSTATE (or socket) `code`, plus any other fields. */
export const pgError = (code: string, message = `error ${code}`, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });
