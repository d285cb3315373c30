/**
 * Every refusal of the library is an `InstancePlanError`: a stable `code`, a message a person
 * (or a model) can act on, and the details that say what was wrong and what would be allowed.
 *
 * Subpath entries are bundled separately, so a class can exist twice in one app and
 * `instanceof` can lie: recognise errors with `InstancePlanError.is(err)`, which checks the
 * shape, not the class.
 *
 * @example
 * try { await manager.transitionInstance(id, { status: 'running' }) }
 * catch (err) { if (InstancePlanError.is(err, 'INVALID_TRANSITION')) console.log(err.details.allowed) }
 */
export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'NOT_FOUND',
  'INVALID_TRANSITION',
  'STEP_ORDER',
  'PLAN_CLOSED',
  // Human in the loop: the instance waits for a person's answer, and only that answer executes.
  'AWAITING_INPUT',
  // Budgets: a counter of the instance reached its limit, and its steps wait for a raise.
  'BUDGET_EXCEEDED',
  'CONFLICT',
  'STORAGE_ERROR',
  // Leases (PlanManager#acquireLease): another owner holds the instance, or this one's lease is gone.
  'LEASE_HELD',
  'LEASE_LOST',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown>;

export class InstancePlanError extends Error {
  override readonly name = 'InstancePlanError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** True when `value` is an InstancePlanError from any copy of this library (and has `code`, if given). */
  static is(value: unknown, code?: ErrorCode): value is InstancePlanError {
    if (typeof value !== 'object' || value === null) return false;
    const candidate = value as { name?: unknown; code?: unknown };
    return (
      candidate.name === 'InstancePlanError' &&
      (ERROR_CODES as readonly unknown[]).includes(candidate.code) &&
      (code === undefined || candidate.code === code)
    );
  }

  /** The wire form used in `{ success: false, error }`. */
  toJSON(): { code: ErrorCode; message: string } & ErrorDetails {
    return { ...this.details, code: this.code, message: this.message };
  }
}
