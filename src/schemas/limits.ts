/**
 * Size limits a manager enforces on input. Everything an agent sends is bounded, so one
 * runaway model cannot fill the store; each refusal names the limit it hit.
 */
export interface Limits {
  /** Steps one plan may hold in all (created plus appended). */
  maxSteps: number;
  /** Characters in a plan or step title, and in an instance's `current_step`. */
  maxTitleLength: number;
  /** Characters in a description or a summary. */
  maxDescriptionLength: number;
  /** Characters in one step output. */
  maxOutputLength: number;
  /** Characters of a step's `details` once serialised as JSON. */
  maxDetailsLength: number;
  /** Characters in any id (plan, step, instance, organization, agent type, task, session, site, user, agent). */
  maxIdLength: number;
  /**
   * Characters of text one plan may hold in all: its title, description and summary, and each
   * step's title, description, output and details (as JSON). The fields' own limits bound each
   * one; this bounds their sum: a change that would take a plan past it is refused (recovery
   * keeps the steps' last output instead of growing one past it).
   */
  maxPlanTextLength: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxSteps: 200,
  maxTitleLength: 500,
  maxDescriptionLength: 10_000,
  maxOutputLength: 100_000,
  maxDetailsLength: 20_000,
  maxIdLength: 200,
  maxPlanTextLength: 4_000_000,
});

/** The most records one list call returns, and the default page. */
export const LIST_MAX_LIMIT = 100;
export const LIST_DEFAULT_LIMIT = 20;

export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`limits.${key} must be a positive integer, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}
