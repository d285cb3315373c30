// docs/adapters.md shows how to write an adapter in a page of code. That page is this file's
// example region, verbatim (checked below), and it must pass the conformance suite like any other.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterConformance } from 'instance-plan/testing';

// --- example: local-storage-adapter ---
import { checkBatch, checkListQuery, compareNewestFirst, conflictError, pageOfEvents, type HistoryEvent, type StorageAdapter, type StoredKind, type StoredOfKind, type StoredRecord } from 'instance-plan/adapter';

/** The part of `localStorage` the adapter uses (a Map-backed stand-in works too). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Keeps everything in one JSON document under `key`. Every call reads the document afresh (so
 * callers get copies), and a commit checks every version, then writes the document once: the
 * storage is synchronous, so nothing can run between the check and the write.
 */
export function localStorageAdapter(storage: KeyValueStore, key = 'instance-plan'): StorageAdapter {
  type State = { records: Map<string, StoredOfKind[StoredKind]>; events: HistoryEvent[] };
  const load = (): State => {
    const saved = JSON.parse(storage.getItem(key) ?? '{"records":[],"events":[]}');
    // A Map, not an object keyed by id: ids such as "__proto__" must stay ordinary keys.
    return { records: new Map(saved.records), events: saved.events };
  };
  const keyOf = (kind: StoredKind, id: string) => `${kind}/${id}`;

  return {
    async get(kind, id) {
      return load().records.get(keyOf(kind, id)) as StoredOfKind[typeof kind] | undefined;
    },
    async list(kind, query) {
      // checkListQuery refuses a malformed query (TypeError) and gives the filters that apply.
      const filters = checkListQuery(kind, query);
      const matches = [...load().records]
        .filter(([k]) => k.startsWith(`${kind}/`))
        .map(([, record]) => record as StoredRecord)
        .filter((record) => filters.every(([field, value]) => record[field as keyof typeof record] === value))
        .sort(compareNewestFirst) as StoredOfKind[typeof kind][];
      return { records: matches.slice(query.offset, query.offset + query.limit), total: matches.length };
    },
    async commit(batch) {
      // checkBatch refuses a malformed batch (TypeError) before anything is written.
      const checks = checkBatch(batch);
      const { writes, events } = batch;
      const state = load();
      for (const { kind, record, expected_version } of writes) {
        const k = keyOf(kind, record.id);
        const actual = state.records.get(k)?.version ?? null;
        if (actual !== expected_version) throw conflictError(kind, record.id, expected_version, actual);
      }
      // Versions that must hold without being written (a lease holder's fence).
      for (const { kind, id, expected_version } of checks) {
        const actual = state.records.get(keyOf(kind, id))?.version ?? null;
        if (actual !== expected_version) throw conflictError(kind, id, expected_version, actual);
      }
      for (const { kind, record } of writes) state.records.set(keyOf(kind, record.id), record);
      // Bounded history: the older events of a record go with the same write.
      for (const { record_id, before_seq } of batch.prune ?? []) {
        state.events = state.events.filter((event) => event.record_id !== record_id || event.seq >= before_seq);
      }
      state.events.push(...events);
      // One write of the whole document: the batch lands whole, or (if this throws) not at all.
      storage.setItem(key, JSON.stringify({ records: [...state.records], events: state.events }));
    },
    async history(recordId, page) {
      return pageOfEvents(load().events.filter((event) => event.record_id === recordId).sort((a, b) => a.seq - b.seq), page);
    },
  };
}
// --- end of example ---

/** A stand-in for localStorage: strings in a Map. */
function memoryStorage(): KeyValueStore {
  const items = new Map<string, string>();
  return { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => void items.set(key, value) };
}

const storages = new WeakMap<StorageAdapter, KeyValueStore>();

adapterConformance({
  name: 'the localStorage adapter of docs/adapters.md',
  create() {
    const storage = memoryStorage();
    const adapter = localStorageAdapter(storage);
    storages.set(adapter, storage);
    return adapter;
  },
  // A second handle: another adapter over the same storage, as a second tab would make.
  connect: (adapter) => localStorageAdapter(storages.get(adapter)!),
  changeFeed: false,
  describe,
  it,
});

describe('docs/adapters.md', () => {
  it('shows the example adapter exactly as this file runs it', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const example = source.slice(source.indexOf('// --- example: local-storage-adapter ---\n'), source.indexOf('// --- end of example ---'));
    const code = example.slice(example.indexOf('\n') + 1).trim();
    const markdown = readFileSync(new URL('../docs/adapters.md', import.meta.url), 'utf8');
    const block = /<!-- example: local-storage-adapter -->\n```ts\n([\s\S]*?)```/.exec(markdown);
    expect(block, 'docs/adapters.md has the example block').not.toBeNull();
    expect(block![1]!.trim()).toBe(code);
  });
});
