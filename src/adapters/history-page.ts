import type { HistoryEvent, HistoryPage } from './contract';

/**
 * Checks a page of `history` before any store is touched, the same way in every adapter: absent,
 * or an object whose `after_seq` (0 or more) and `limit` (1 or more) are whole numbers when
 * given. A bad page is a programming error: a `TypeError` naming what would be accepted. Answers
 * the page with its defaults: after seq 0, no limit (`Infinity`).
 */
export function checkHistoryPage(page: HistoryPage | undefined): { after_seq: number; limit: number } {
  if (page === undefined) return { after_seq: 0, limit: Infinity };
  if (typeof page !== 'object' || page === null) throw new TypeError('history: the page must be an object { after_seq?, limit? }');
  const { after_seq = 0, limit = Infinity } = page;
  if (!Number.isSafeInteger(after_seq) || after_seq < 0) throw new TypeError(`history: after_seq must be a whole number of 0 or more, got ${String(after_seq)}`);
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 1)) throw new TypeError(`history: limit must be a whole number of 1 or more, got ${String(limit)}`);
  return { after_seq, limit };
}

/** The page of `events` (in `seq` order) that `page` asks for. */
export function pageOfEvents(events: readonly HistoryEvent[], page: HistoryPage | undefined): HistoryEvent[] {
  const { after_seq, limit } = checkHistoryPage(page);
  // The first event after after_seq, by binary search: seqs grow along the list.
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle]!.seq <= after_seq) low = middle + 1;
    else high = middle;
  }
  return events.slice(low, limit === Infinity ? undefined : low + limit);
}
