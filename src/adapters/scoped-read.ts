import type { Scope, StoredKind } from './contract';
import { representable } from './text-keys';

/** How an SQL adapter writes its statements: a table's name, a record column read out, the n-th parameter (1-based). */
export interface SqlDialect {
  table(kind: StoredKind): string;
  record(alias: string): string;
  placeholder(n: number): string;
}

export interface Statement {
  text: string;
  params: string[];
}

/**
 * The statement that reads one record by id as `scope` sees it, for
 * the SQL adapters: the scope's fields become conditions of the same statement, so a record
 * outside the scope never leaves the store, and another scope's id costs what an unknown id
 * costs. A plan's organization is its instance's (a join); a lease has no scope. Reads `record`, and for `plan`
 * with `withInstance` also `instance` (null when the instance is not stored). Null when the
 * id or a scope field is a value no row can hold (U+0000, an unpaired surrogate): nothing can match.
 */
export function scopedRead(dialect: SqlDialect, kind: StoredKind, id: string, scope: Scope | undefined, withInstance = false): Statement | null {
  const values: string[] = [id];
  const conditions: string[] = [];
  const where = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    values.push(value);
    conditions.push(`${column} = ${dialect.placeholder(values.length)}`);
  };
  let from: string;
  let columns: string;
  if (kind === 'plan' && (withInstance || scope?.organization_id !== undefined)) {
    from = `${dialect.table('plan')} p LEFT JOIN ${dialect.table('instance')} i ON i.id = p.instance_id`;
    columns = withInstance ? `${dialect.record('p')} AS record, ${dialect.record('i')} AS instance` : `${dialect.record('p')} AS record`;
    where('i.organization_id', scope?.organization_id);
  } else {
    from = `${dialect.table(kind)} p`;
    columns = `${dialect.record('p')} AS record`;
    if (kind === 'instance') where('p.organization_id', scope?.organization_id);
  }
  if (kind === 'plan') {
    where('p.site_id', scope?.site_id);
    where('p.user_id', scope?.user_id);
  }
  if (!values.every(representable)) return null;
  const text = `SELECT ${columns} FROM ${from} WHERE p.id = ${dialect.placeholder(1)}${conditions.map((condition) => ` AND ${condition}`).join('')}`;
  return { text, params: values };
}
