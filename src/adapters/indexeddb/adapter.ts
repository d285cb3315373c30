import { checkKind, checkListQuery } from '../contract';
import type { CommittedChange, HistoryEvent, HistoryPage, ListQuery, ListResult, StorageAdapter, StoreReader, StoredKind, StoredOfKind } from '../contract';
import { checkHistoryPage } from '../history-page';
import type { Instance, RecordKind, RecordOfKind } from '../../schemas/records';
import { deepFreeze } from '../freeze';
import { aborted, commitBatch, openCommit, prepareBatch, rowKey, writeBatch, type KnownRows } from './commit';
import { changeFeed } from './feed';
import { fault, storageFault } from './faults';
import { listRows } from './list';
import { openDatabase } from './open';
import { resolvePlatform, type IndexedDBFactory } from './platform';
import { EVENT_STORE, HISTORY_INDEX, RECORD_STORES, STORES, type Database, type Migration, type RecordRow } from './schema';

export interface IndexedDBAdapterOptions {
  /** The database name. Default `'instance-plan'`. Every context using one name shares its plans. */
  name?: string;
  /** The IndexedDB factory. Default: the `indexedDB` global. Tests may pass `new IDBFactory()` from fake-indexeddb. */
  indexedDB?: IndexedDBFactory;
  /**
   * The durability hint of commit transactions. `'strict'` waits until the data is flushed to
   * disk (survives power loss; slower), `'relaxed'` until the browser holds it (survives the
   * context being killed, not an OS crash). Default `'default'`: the browser's choice.
   */
  durability?: Durability;
}

export type Durability = 'default' | 'strict' | 'relaxed';

/** The IndexedDB adapter: a `StorageAdapter` that always has a change feed and `close`. */
export interface IndexedDBAdapter extends StorageAdapter {
  /** The database name, e.g. to open a second adapter on the same database. */
  readonly name: string;
  subscribe(listener: (change: CommittedChange) => void): () => void;
  /** Closes the connection and the channel. Running transactions finish; later calls fail with `STORAGE_ERROR`. */
  close(): Promise<void>;
}

function checkGet(kind: unknown, id: unknown): void {
  checkKind(kind, STORES);
  if (typeof id !== 'string') throw new TypeError(`get: the id must be a string, got ${typeof id}`);
}

type RowSource = { objectStore(name: string): { get(id: string): Promise<unknown> } };

/** The instance of each plan read lately, by plan id: at most this many, then forgotten all at once. */
const REMEMBERED_PLANS = 1000;
type InstanceOfPlan = Map<string, string>;

function remember(map: InstanceOfPlan, planId: string, instanceId: string): void {
  if (map.size >= REMEMBERED_PLANS && !map.has(planId)) map.clear();
  map.set(planId, instanceId);
}

/** Reads records inside one transaction, frozen; `known` keeps every row read, for the commit's version checks. */
function rowsOf(transaction: RowSource, instanceOfPlan: InstanceOfPlan, known?: KnownRows): Required<StoreReader> {
  const get = async <K extends StoredKind>(kind: K, id: string): Promise<StoredOfKind[K] | undefined> => {
    checkGet(kind, id);
    const row = (await transaction.objectStore(STORES[kind]).get(id)) as RecordRow | undefined;
    known?.set(rowKey(kind, id), row);
    return deepFreeze(row?.record) as StoredOfKind[K] | undefined;
  };
  return {
    get,
    async getPlanWithInstance(planId) {
      // A plan never changes instance, so once its instance is known, the plan, the instance
      // and (inside a commit, which checks it) the instance's lease are read in one round trip.
      const guess = instanceOfPlan.get(planId);
      const reads = guess === undefined ? [] : [get('instance', guess), known && get('lease', guess)];
      const plan = await get('plan', planId);
      if (!plan) return undefined;
      remember(instanceOfPlan, planId, plan.instance_id);
      if (plan.instance_id === guess) return { plan, instance: (await reads[0]) as Instance | undefined };
      const [instance] = await Promise.all([get('instance', plan.instance_id), known && get('lease', plan.instance_id)]);
      return { plan, instance };
    },
  };
}

/**
 * The adapter over a given upgrade path. `indexedDBAdapter` passes the shipped `MIGRATIONS`;
 * the schema-upgrade tests pass longer or broken paths.
 */
export function createAdapter(options: IndexedDBAdapterOptions, migrations: readonly Migration[]): IndexedDBAdapter {
  if (typeof options !== 'object' || options === null) throw new TypeError('indexedDBAdapter: options must be an object');
  const name = options.name ?? 'instance-plan';
  if (typeof name !== 'string' || name === '') throw new TypeError(`indexedDBAdapter: name must be a non-empty string, got ${JSON.stringify(name)}`);
  const durability = options.durability ?? 'default';
  if (!['default', 'strict', 'relaxed'].includes(durability)) {
    throw new TypeError(`indexedDBAdapter: durability must be "default", "strict" or "relaxed", got ${JSON.stringify(durability)}`);
  }
  const { factory, ranges, Channel } = resolvePlatform(options.indexedDB);
  const cmp = (a: unknown, b: unknown) => factory.cmp(a, b);
  const feed = changeFeed(name, Channel);
  const instanceOfPlan: InstanceOfPlan = new Map();
  let connection: Promise<Database> | undefined;
  let closed = false;

  const database = (): Promise<Database> => {
    if (closed) {
      return Promise.reject(
        fault('closed', `IndexedDB adapter for ${JSON.stringify(name)} is closed; create a new adapter to use the database again.`, undefined, {
          database: name,
        }),
      );
    }
    if (!connection) {
      const attempt: Promise<Database> = openDatabase({
        factory,
        name,
        migrations,
        // Closed underneath us (an upgrade elsewhere, or cleared site data): reopen on the next
        // call. Only the current connection can close or fail: an earlier one was let go of
        // exactly because it closed or failed.
        onClose: () => {
          connection = undefined;
        },
      });
      connection = attempt;
      // A failed open is not remembered: the next call tries again (the blocker may be gone).
      attempt.catch(() => {
        connection = undefined;
      });
    }
    return connection;
  };

  /** Runs one operation on the connection; every fault of IndexedDB leaves as `STORAGE_ERROR`. */
  const run = async <T>(operation: string, body: (db: Database) => Promise<T>): Promise<T> => {
    const db = await database();
    try {
      return await body(db);
    } catch (error) {
      throw storageFault(operation, error);
    }
  };

  return {
    name,

    // Input is checked before any connection or transaction: a malformed call stores nothing.
    async get<K extends StoredKind>(kind: K, id: string): Promise<StoredOfKind[K] | undefined> {
      checkGet(kind, id);
      return run('get', async (db) => {
        const row = await db.get(STORES[kind], id);
        return deepFreeze(row?.record) as StoredOfKind[K] | undefined;
      });
    },

    // Both in one readonly transaction: one snapshot.
    async getPlanWithInstance(planId) {
      checkGet('plan', planId);
      return run('get', (db) => rowsOf(db.transaction([STORES.plan, STORES.instance], 'readonly'), instanceOfPlan).getPlanWithInstance(planId));
    },

    // The read, the check and the commit in one readwrite transaction: IndexedDB runs
    // readwrite transactions over the same stores one at a time, so what `work` reads is what
    // the commit finds, and the versions read are not read again.
    async transact(work) {
      const db = await database();
      let transaction: ReturnType<typeof openCommit>;
      try {
        transaction = openCommit(db, durability);
      } catch (error) {
        throw storageFault('commit', error);
      }
      const known: KnownRows = new Map();
      // Set when `work` (or the batch it returned) failed: that error leaves as it is.
      let own: { error: unknown } | undefined;
      try {
        const { result, prepared } = await work(rowsOf(transaction, instanceOfPlan, known))
          .then(({ batch, result }) => ({ result, prepared: batch ? prepareBatch(batch) : undefined }))
          .catch((error: unknown) => {
            own = { error };
            throw error;
          });
        if (prepared) await writeBatch(transaction, prepared, ranges, known);
        await transaction.done;
        if (prepared && prepared.writes.length > 0) feed.publish(prepared.change);
        return result;
      } catch (error) {
        const failure = await aborted(transaction, error);
        throw own ? own.error : failure;
      }
    },

    async list<K extends RecordKind>(kind: K, query: ListQuery<K>): Promise<ListResult<RecordOfKind[K]>> {
      checkKind(kind, RECORD_STORES);
      const filters = checkListQuery(kind, query);
      const page = await run('list', (db) => listRows(db, ranges, cmp, kind, filters, query.limit, query.offset));
      page.records.forEach(deepFreeze);
      return page;
    },

    async commit(batch) {
      const prepared = prepareBatch(batch);
      await run('commit', (db) => commitBatch(db, prepared, ranges, durability));
      // A batch of checks only changed nothing: nothing to announce.
      if (prepared.writes.length > 0) feed.publish(prepared.change);
    },

    async history(recordId: string, page?: HistoryPage): Promise<HistoryEvent[]> {
      if (typeof recordId !== 'string') throw new TypeError(`history: the record id must be a string, got ${typeof recordId}`);
      const { after_seq, limit } = checkHistoryPage(page);
      const events = await run('history', (db) =>
        db.getAllFromIndex(EVENT_STORE, HISTORY_INDEX, ranges.bound([recordId, after_seq], [recordId, Infinity], true) as never, limit === Infinity ? undefined : limit),
      );
      return deepFreeze(events);
    },

    subscribe(listener) {
      if (typeof listener !== 'function') throw new TypeError('subscribe: the listener must be a function');
      return feed.subscribe(listener);
    },

    // Closing twice is closing once: the feed and the connection are already let go of.
    async close() {
      closed = true;
      feed.close();
      const attempt = connection;
      connection = undefined;
      const db = await attempt?.catch(() => undefined);
      db?.close();
    },
  };
}
