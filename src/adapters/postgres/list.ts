import type { ListFilter } from '../contract';
import { representable } from '../text-keys';

/**
 * One statement that answers a page and the total from one snapshot: the count of matches, and
 * beside it (LEFT JOIN LATERAL, so an empty page still yields the count) the page itself, read
 * in index order with LIMIT/OFFSET. Only the page's records are read. Undefined when a filter
 * value could not be stored in a text column at all: nothing matches it.
 */
export function listStatement(table: string, filters: readonly ListFilter[], limit: number, offset: number): { text: string; params: unknown[] } | undefined {
  if (filters.some(([, value]) => !representable(value))) return undefined;
  const params: unknown[] = filters.map(([, value]) => value);
  // Field names come from INDEXED_FIELDS (checkListQuery refuses any other), never from the caller's text.
  const where = filters.length === 0 ? '' : `WHERE ${filters.map(([field], i) => `${field} = $${i + 1}`).join(' AND ')}`;
  params.push(limit, offset);
  const text = `SELECT c.total, p.record::text AS record
FROM (SELECT count(*) AS total FROM ${table} ${where}) AS c
LEFT JOIN LATERAL (
  SELECT record, created_key, id_key FROM ${table} ${where}
  ORDER BY created_key DESC, id_key LIMIT $${params.length - 1} OFFSET $${params.length}
) AS p ON true
ORDER BY p.created_key DESC, p.id_key`;
  return { text, params };
}
