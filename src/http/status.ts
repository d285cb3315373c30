import type { ErrorCode } from '../index';

/**
 * The HTTP status of each refusal of the manager. `satisfies` makes a new error code a compile
 * error here until it has a status.
 */
export const STATUS_BY_CODE = {
  VALIDATION_ERROR: 400,
  NOT_FOUND: 404,
  // A request that is well formed but not allowed in the record's current state.
  INVALID_TRANSITION: 409,
  STEP_ORDER: 409,
  PLAN_CLOSED: 409,
  // The instance waits for a person's answer, or has spent its budget: not now, in this state.
  AWAITING_INPUT: 409,
  BUDGET_EXCEEDED: 409,
  CONFLICT: 409,
  // Another worker holds the instance's lease, or the caller's own lease was taken over.
  LEASE_HELD: 409,
  LEASE_LOST: 409,
  STORAGE_ERROR: 500,
} as const satisfies Record<ErrorCode, number>;
