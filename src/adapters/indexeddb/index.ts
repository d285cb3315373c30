// instance-plan/indexeddb: the IndexedDB storage adapter, for browsers and extensions.

import { createAdapter, type IndexedDBAdapter, type IndexedDBAdapterOptions } from './adapter';
import { MIGRATIONS } from './schema';

/**
 * Stores instances, plans and their history in IndexedDB, for browsers and extensions: every
 * tab, popup, side panel and service worker that opens the same `name` shares the records.
 *
 * - A commit is one `readwrite` transaction: all expected versions are checked and every record
 *   and event written, or the transaction is aborted and nothing is.
 * - Lists walk indexes (one per filter field, sorted newest first) and read only the page.
 * - Every commit is announced on the BroadcastChannel `instance-plan:<name>`, so `subscribe`
 *   (and `PlanManager#subscribe`) hears the changes made in other contexts too.
 * - The connection opens on first use, steps aside when another wants to upgrade the schema,
 *   and reopens on the next call. Faults are `STORAGE_ERROR` with `details.reason` and the cause.
 *
 * @example
 * import { PlanManager } from 'instance-plan';
 * import { indexedDBAdapter } from 'instance-plan/indexeddb';
 * const manager = new PlanManager({ adapter: indexedDBAdapter({ name: 'my-extension' }) });
 */
export function indexedDBAdapter(options: IndexedDBAdapterOptions = {}): IndexedDBAdapter {
  return createAdapter(options, MIGRATIONS);
}

export type { Durability, IndexedDBAdapter, IndexedDBAdapterOptions } from './adapter';
export type { IndexedDBFactory } from './platform';
export type { FaultReason } from './faults';
export { channelName } from './feed';
export { SCHEMA_VERSION } from './schema';
