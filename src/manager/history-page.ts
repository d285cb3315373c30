import * as z from 'zod/mini';

/** The most events one page of `history` answers. */
export const HISTORY_MAX_PAGE = 1_000;

/** A page of a record's history, as `PlanManager#history` takes it. */
export const historyPage = z.strictObject({
  after_seq: z.optional(z.int().check(z.minimum(0, 'must be 0 or more (the seq of the last event seen)'))),
  limit: z.optional(z.int().check(z.minimum(1, 'must be at least 1'), z.maximum(HISTORY_MAX_PAGE, `must be at most ${HISTORY_MAX_PAGE}`))),
});
