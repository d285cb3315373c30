import { INDEXED_FIELDS, type ListQuery } from '../contract';
import type { RecordKind } from '../../schemas/records';
import { representable } from './keys';

/**
 * Checks a list query before anything is sent: only indexed fields (each has a column and an
 * index), string values (`undefined` means no filter), whole non-negative `limit` and `offset`.
 */
export function checkQuery(kind: RecordKind, query: ListQuery): [field: string, value: string][] {
  if (typeof query !== 'object' || query === null) throw new TypeError('list: the query must be an object { where, limit, offset }');
  const { where, limit, offset } = query;
  for (const [name, value] of [['limit', limit], ['offset', offset]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`list: ${name} must be a whole number of 0 or more, got ${String(value)}`);
  }
  if (typeof where !== 'object' || where === null) throw new TypeError('list: `where` must be an object of equality filters');
  const indexed: readonly string[] = INDEXED_FIELDS[kind];
  const filters: [string, string][] = [];
  for (const [field, value] of Object.entries(where)) {
    if (!indexed.includes(field)) {
      throw new TypeError(`list: ${kind}s cannot be filtered by ${JSON.stringify(field)}; the indexed fields are ${indexed.join(', ')}`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new TypeError(`list: the filter ${field} must be a string, got ${typeof value}`);
    filters.push([field, value]);
  }
  return filters;
}

/**
 * One statement that answers a page and the total from one snapshot: the count of matches, and
 * beside it (LEFT JOIN LATERAL, so an empty page still yields the count) the page itself, read
 * in index order with LIMIT/OFFSET. Only the page's records are read. Undefined when a filter
 * value could not be stored in a text column at all: nothing matches it.
 */
export function listStatement(table: string, filters: [string, string][], limit: number, offset: number): { text: string; params: unknown[] } | undefined {
  if (filters.some(([, value]) => !representable(value))) return undefined;
  const params: unknown[] = filters.map(([, value]) => value);
  // Field names come from INDEXED_FIELDS (checked above), never from the caller's text.
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
