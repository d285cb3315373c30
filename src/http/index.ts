// instance-plan/http: the Instance Plan tool and the Transition Instance endpoint as a web-standard fetch handler.

export { createFetchHandler, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS, type FetchHandlerOptions } from './handler';
export { scopedManagers, type ManagerSource } from './managers';
export type { TransitionInstanceView } from './instance-view';
export type { HttpErrorCode } from './refusal';
export type { CorsOptions } from './cors';
