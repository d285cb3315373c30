import type { StorageAdapter } from '../../adapters/contract';
import type { RecordKind } from '../../schemas/records';
import { checkEqual } from './assert';

/** What each test of the suite gets: a fresh, empty store, and a way to reach it twice. */
export interface ConformanceContext {
  adapter: StorageAdapter;
  /** Another handle on the same store (a second connection, as another tab would open); disposed after the test. */
  connect(): Promise<StorageAdapter>;
}

/** How the concern files register their tests: `it` wraps each body with a fresh adapter. */
export interface Harness {
  describe(name: string, body: () => void): void;
  it(name: string, body: (context: ConformanceContext) => Promise<void>): void;
  /** False when the adapter declares it has no change feed (no `subscribe`). */
  changeFeed: boolean;
}

/** Everything a store holds about some records: each record, its history, and the full lists. */
export async function snapshot(adapter: StorageAdapter, ids: { [K in RecordKind]?: string[] }) {
  const records: Record<string, unknown> = {};
  const histories: Record<string, unknown> = {};
  for (const kind of ['instance', 'plan'] as const) {
    for (const id of ids[kind] ?? []) {
      records[`${kind} ${id}`] = await adapter.get(kind, id);
      histories[id] = await adapter.history(id);
    }
  }
  const lists = {
    instance: await adapter.list('instance', { where: {}, limit: 1000, offset: 0 }),
    plan: await adapter.list('plan', { where: {}, limit: 1000, offset: 0 }),
  };
  return { records, histories, lists };
}

/** Checks that a refused operation left the store exactly as `before` (taken with the same ids). */
export async function checkUnchanged(
  adapter: StorageAdapter,
  before: Awaited<ReturnType<typeof snapshot>>,
  ids: { [K in RecordKind]?: string[] },
  what: string,
): Promise<void> {
  checkEqual(await snapshot(adapter, ids), before, `${what} must leave the store unchanged`);
}
