import { expect } from 'vitest';
import { indexedDBAdapter, type IndexedDBAdapter } from 'instance-plan/indexeddb';
import type { ConformanceOptions } from 'instance-plan/testing';
import type { StorageAdapter } from 'instance-plan';

/** A database name no other test uses (tests share one IndexedDB per worker or browser page). */
export const freshName = (label = 'test') => `${label}-${crypto.randomUUID()}`;

/** Deletes a database, waiting until every connection to it has closed. */
export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** The conformance options for the IndexedDB adapter: one database per test, deleted afterwards. */
export function idbConformance(name: string): Omit<ConformanceOptions, 'describe' | 'it'> {
  return {
    name,
    create: () => indexedDBAdapter({ name: freshName('conformance') }),
    connect: (adapter: StorageAdapter) => indexedDBAdapter({ name: (adapter as IndexedDBAdapter).name }),
    dispose: async (adapter: StorageAdapter) => {
      await adapter.close?.();
      await deleteDatabase((adapter as IndexedDBAdapter).name);
    },
  };
}

/** Expects `message` to name the database and each version (numbers looked for outside the name). */
export function expectNamed(message: string, database: string, versions: number[]) {
  expect(message).toContain(database);
  const rest = message.replaceAll(database, '');
  for (const version of versions) expect(rest).toMatch(new RegExp(`(?<![\\w.-])${version}(?![\\w-]|\\.\\d)`));
}

/** Runs `body` with a fresh database name, and deletes the database afterwards. */
export async function withDatabase(label: string, body: (name: string) => Promise<void>) {
  const name = freshName(label);
  try {
    await body(name);
  } finally {
    await deleteDatabase(name);
  }
}
