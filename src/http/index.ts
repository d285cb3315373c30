// instance-plan/http: the seeds' endpoints as a web-standard fetch handler.

export { createFetchHandler, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DEPTH, type FetchHandlerOptions } from './handler';
export { scopedManagers, type ManagerSource } from './managers';
export { STATUS_BY_CODE } from './status';
export { ROUTES } from './routes';
export { SEED_INSTANCE_FIELDS, seedInstance, type SeedInstance } from './instance-view';
export type { HttpErrorCode } from './refusal';
