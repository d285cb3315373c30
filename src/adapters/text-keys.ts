/**
 * How strings meet SQL stores (PostgreSQL, SQLite). Records themselves travel as JSON text
 * (JSON.stringify escapes every character a text column could not hold), but ids and list
 * filters live in text columns, which cannot hold an unpaired surrogate (a driver would silently
 * turn it into U+FFFD, merging distinct ids), nor, in PostgreSQL, U+0000. Such strings are
 * refused, not mangled.
 */
const UNREPRESENTABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when a `text` column holds `value` exactly. */
export function representable(value: string): boolean {
  return !UNREPRESENTABLE.test(value);
}

/**
 * The string's UTF-16 code units, big-endian, as hex: stored as `bytea` (PostgreSQL) or text of
 * hex digits (SQLite), whose order (bytes, then length) is exactly the contract's order of
 * strings by code units. A collation (even "C", which orders by code points) would put "\uffff"
 * after "😀"; this does not.
 *
 * @example
 * codeUnitKey('a😀') // '0061d83dde00'
 */
export function codeUnitKey(value: string): string {
  let hex = '';
  for (let i = 0; i < value.length; i++) hex += value.charCodeAt(i).toString(16).padStart(4, '0');
  return hex;
}
