import type { Immer } from 'immer';
import type { CommittedChange, StorageAdapter } from '../adapters/contract';
import type { InstancePlanError } from '../errors';
import type { InputSchemas } from '../schemas/inputs';
import type { Limits } from '../schemas/limits';
import type { Fence } from './leases';
import type { Backoff } from './backoff';
import type { Reader } from './reader';
import type { Scope } from './scope';

/** Everything the manager's operations share: built once by the PlanManager constructor. */
export interface ManagerContext {
  adapter: StorageAdapter;
  /** The adapter's reads, faults turned into `STORAGE_ERROR`, records frozen. */
  reader: Reader;
  /** Returns the current time as an ISO 8601 UTC string. */
  now(): string;
  newId(): string;
  scope: Readonly<Scope>;
  limits: Readonly<Limits>;
  schemas: InputSchemas;
  /** How many times a conflicting commit is re-read and retried before `CONFLICT` is reported. */
  retries: number;
  /** The pause before each such retry (see backoff.ts). */
  backoff: Backoff;
  /** Bounded history: the window of events each record keeps (see retention.ts); null keeps all. */
  retention: number | null;
  immer: Immer;
  /** Tells this manager's subscribers about a commit (used when the adapter has no feed of its own). */
  announce(change: CommittedChange): void;
  /** The operator's hook: hears every `STORAGE_ERROR` the tool answers, with the store's own words (see `PlanManagerOptions.onError`). */
  onError?: (error: InstancePlanError, context: { operation: string; action?: string }) => void;
  /** The lease this manager writes under (`PlanManager#withLease`); absent on a plain manager. */
  fence?: Fence;
}
