import type { StorageAdapter } from '../../adapters/contract';
import type { Limits } from '../../schemas/limits';
import { atomicity } from './atomicity';
import { awkwardIds } from './awkward-ids';
import { changeFeed } from './change-feed';
import { compareAndSet } from './compare-and-set';
import { concurrency } from './concurrency';
import { connections } from './connections';
import { copying } from './copying';
import type { ConformanceContext, Harness } from './harness';
import { history } from './history';
import { largeRecords } from './large-records';
import { leases } from './leases';
import { lists } from './lists';
import { malformedBatches } from './malformed-batches';
import { oneChange } from './one-change';
import { questionsAndBudgets } from './questions-and-budgets';
import { recovery } from './recovery';
import { returnedRecords } from './returned-records';
import { roundTrip } from './round-trip';
import { scopedReads } from './scoped-reads';

type Awaitable<T> = T | Promise<T>;

export interface ConformanceOptions {
  /** Shown as the outer `describe`. */
  name: string;
  /** A new adapter over a new, empty store. Called once per test. */
  create(): Awaitable<StorageAdapter>;
  /**
   * Another handle on the store `adapter` uses: a second connection, as a second tab or process
   * would open. Also called after `adapter.close()` to check nothing committed was lost.
   * Default: `adapter` itself (right for in-process stores such as the memory adapter).
   */
  connect?(adapter: StorageAdapter): Awaitable<StorageAdapter>;
  /** Releases an adapter from `create` or `connect` after its test. Default: `adapter.close?.()`. */
  dispose?(adapter: StorageAdapter): Awaitable<void>;
  /** Whether the adapter announces commits (`subscribe`). Default true; false checks that it has no `subscribe`. */
  changeFeed?: boolean;
  /**
   * Whether the adapter answers a record outside the scope it is given as absent (`get` and
   * `getPlanWithInstance` with a scope), as the memory, SQLite and PostgreSQL adapters do. Default
   * false: the suite then checks only that what a scope sees always comes back.
   */
  hidesOutOfScope?: boolean;
  /** The limits the large-record test fills a plan to. Default: `DEFAULT_LIMITS`. */
  limits?: Limits;
  /** Per-test timeout handed to `it`. Default 60 s (the large-record test moves tens of megabytes). */
  timeout?: number;
  /** The runner's `describe` and `it` (vitest, jest and bun have the same shape). */
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeout?: number): void;
}

/**
 * Registers the storage adapter conformance suite with your test runner: every property the
 * PlanManager relies on, checked against a fresh store per test. An adapter that passes it can
 * be handed to a `PlanManager`.
 *
 * @example
 * import { describe, it } from 'vitest';
 * import { adapterConformance } from 'instance-plan/testing';
 * import { myAdapter } from '../src/my-adapter';
 *
 * adapterConformance({ name: 'my adapter', create: () => myAdapter(), describe, it });
 */
export function adapterConformance(options: ConformanceOptions): void {
  if (typeof options?.create !== 'function' || typeof options.describe !== 'function' || typeof options.it !== 'function') {
    throw new TypeError('adapterConformance: give at least { name, create, describe, it }');
  }
  const dispose = options.dispose ?? ((adapter: StorageAdapter) => adapter.close?.());
  const timeout = options.timeout ?? 60_000;

  const harness: Harness = {
    describe: options.describe,
    changeFeed: options.changeFeed ?? true,
    it(name, body) {
      options.it(
        name,
        async () => {
          const adapter = await options.create();
          const opened: StorageAdapter[] = [];
          const context: ConformanceContext = {
            adapter,
            async connect() {
              const other = options.connect ? await options.connect(adapter) : adapter;
              if (other !== adapter) opened.push(other);
              return other;
            },
          };
          try {
            await body(context);
          } finally {
            for (const each of [...opened.reverse(), adapter]) await dispose(each);
          }
        },
        timeout,
      );
    },
  };

  options.describe(`${options.name}: storage adapter conformance`, () => {
    roundTrip(harness);
    returnedRecords(harness);
    lists(harness);
    compareAndSet(harness);
    atomicity(harness);
    oneChange(harness);
    scopedReads(harness, options.hidesOutOfScope ?? false);
    malformedBatches(harness);
    concurrency(harness);
    leases(harness);
    recovery(harness);
    questionsAndBudgets(harness);
    awkwardIds(harness);
    history(harness);
    copying(harness);
    largeRecords(harness, options.limits);
    changeFeed(harness);
    connections(harness);
  });
}
