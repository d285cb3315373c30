/**
 * The platform objects this adapter touches directly, typed by what it uses of them. The library
 * is type-checked without the DOM library (so the core cannot lean on browser globals by
 * accident); this folder names its few needs instead of pulling every DOM type into scope.
 * The real `indexedDB`, `IDBKeyRange` and `BroadcastChannel` satisfy these shapes.
 */

/** The `indexedDB` global, or a stand-in such as `new IDBFactory()` from fake-indexeddb. */
export interface IndexedDBFactory {
  open(name: string, version?: number): unknown;
  cmp(first: unknown, second: unknown): number;
}

/** The static side of `IDBKeyRange`. */
export interface KeyRanges {
  bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): unknown;
  lowerBound(lower: unknown, open?: boolean): unknown;
}

/** A `BroadcastChannel`; `unref` exists in Node, where a listening channel would keep the process alive. */
export interface Channel {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
  unref?(): void;
}

export type ChannelConstructor = new (name: string) => Channel;

export interface Platform {
  factory: IndexedDBFactory;
  ranges: KeyRanges;
  /** Undefined where the platform has no BroadcastChannel: the feed then stays within this adapter. */
  Channel: ChannelConstructor | undefined;
}

// idb recognises requests, transactions and cursors with `instanceof` against these globals.
const IDB_GLOBALS = ['IDBRequest', 'IDBTransaction', 'IDBDatabase', 'IDBObjectStore', 'IDBIndex', 'IDBCursor', 'IDBKeyRange'];

/** Finds what the adapter needs, or says plainly what is missing (at construction, not at first use). */
export function resolvePlatform(factory: IndexedDBFactory | undefined): Platform {
  const scope = globalThis as Record<string, unknown>;
  const chosen = factory ?? (scope.indexedDB as IndexedDBFactory | undefined);
  if (!chosen || typeof chosen.open !== 'function' || typeof chosen.cmp !== 'function') {
    throw new TypeError(
      'indexedDBAdapter: IndexedDB is not available here. In a browser or extension it is the `indexedDB` global; ' +
        "elsewhere pass `indexedDB` (in Node tests: import 'fake-indexeddb/auto').",
    );
  }
  const missing = IDB_GLOBALS.filter((name) => typeof scope[name] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `indexedDBAdapter: the IndexedDB classes ${missing.join(', ')} must be globals (idb checks values against them); ` +
        "in Node tests import 'fake-indexeddb/auto'.",
    );
  }
  return {
    factory: chosen,
    ranges: scope.IDBKeyRange as KeyRanges,
    Channel: typeof scope.BroadcastChannel === 'function' ? (scope.BroadcastChannel as ChannelConstructor) : undefined,
  };
}
