// Instruments the IndexedDB classes (fake-indexeddb's in Node, Chromium's in the browser) to see
// what the adapter does underneath: how many record values a call reads, which transactions it
// opens. Every spy is undone by the function it returns.

type Method = (...args: unknown[]) => unknown;

function patch(target: object, name: string, replacement: (original: Method) => Method): () => void {
  const original = (target as Record<string, Method>)[name]!;
  (target as Record<string, Method>)[name] = replacement(original);
  return () => {
    (target as Record<string, Method>)[name] = original;
  };
}

/** Counts record values read through get/getAll/openCursor on stores and indexes (keys and counts are free). */
export function countValueReads(): { readonly values: number; restore(): void } {
  const counter = { values: 0 };
  const restores: (() => void)[] = [];
  for (const owner of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    for (const name of ['get', 'getAll', 'openCursor']) {
      restores.push(
        patch(owner, name, (original) =>
          function (this: unknown, ...args: unknown[]) {
            const request = original.apply(this, args) as IDBRequest;
            request.addEventListener('success', () => {
              const result = request.result as unknown;
              if (Array.isArray(result)) counter.values += result.length;
              else if (result !== undefined && result !== null) counter.values += 1;
            });
            return request;
          },
        ),
      );
    }
  }
  return {
    get values() {
      return counter.values;
    },
    restore: () => restores.forEach((restore) => restore()),
  };
}

interface Opened {
  stores: string[];
  mode: string;
  durability: string | undefined;
}

/** Records every transaction opened: its stores, mode and durability hint. */
export function recordTransactions(): { readonly opened: Opened[]; restore(): void } {
  const opened: Opened[] = [];
  const restore = patch(IDBDatabase.prototype, 'transaction', (original) =>
    function (this: unknown, ...args: unknown[]) {
      const [stores, mode, options] = args as [string | string[], string | undefined, { durability?: string } | undefined];
      opened.push({ stores: [stores].flat().sort(), mode: mode ?? 'readonly', durability: options?.durability });
      return original.apply(this, args);
    },
  );
  return { opened, restore };
}

/**
 * Makes the transaction of the next `add` to the events store abort while its requests are
 * pending, as the browser does when it gives up on a transaction (a fault, a closing context).
 */
export function abortNextEventAdd(): () => void {
  let armed = true;
  const restore = patch(IDBObjectStore.prototype, 'add', (original) =>
    function (this: IDBObjectStore, ...args: unknown[]) {
      const request = original.apply(this, args);
      if (armed && this.name === 'events') {
        armed = false;
        const transaction = this.transaction;
        queueMicrotask(() => transaction.abort());
      }
      return request;
    },
  );
  return restore;
}
