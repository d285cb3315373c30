// instance-plan/adapter: what a storage adapter is written against, and nothing else of the
// library. An adapter passes `adapterConformance` (instance-plan/testing) to prove itself.

export {
  INDEXED_FIELDS,
  checkListQuery,
  compareNewestFirst,
  conflictError,
  storageError,
  type StorageAdapter,
  type Scope,
  type ListQuery,
  type ListFilter,
  type ListResult,
  type RecordWrite,
  type RecordCheck,
  type StoredKind,
  type StoredOfKind,
  type CommitBatch,
  type CommittedChange,
  type HistoryEvent,
  type HistoryEventType,
  type HistoryPage,
  type HistoryPrune,
  type Patch,
  type IndexedField,
} from './adapters/contract';
export { checkBatch } from './adapters/batch';
export { checkHistoryPage, pageOfEvents } from './adapters/history-page';
export type { Instance, Plan, Step, Lease, RecordKind, RecordOfKind, StoredRecord } from './schemas/records';
