import type * as z from 'zod/mini';

/** One failed check, in the form a model can act on: where, and what was expected. */
export interface InputIssue {
  path: string;
  message: string;
}

/**
 * Turns zod issues into short sentences that name the field and what it accepts.
 * zod/mini carries no locale text ("Invalid input"), so the words come from the issue data.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input?: unknown): InputIssue[] {
  return issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue, valueAt(input, issue.path)) }));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isInteger(value)) return `a non-integer number`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The most unknown keys one refusal names, and the characters shown of each: its size is bounded by these, not by the input. */
export const LISTED_KEYS = 10;
const SHOWN_KEY_LENGTH = 64;

/** "unknown keys: "a", "b" and 3 more": at most `LISTED_KEYS`, each cut at 64 characters. */
export function unknownKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, LISTED_KEYS).map((key) => JSON.stringify(cut(key, SHOWN_KEY_LENGTH)));
  const more = keys.length > LISTED_KEYS ? ` and ${keys.length - LISTED_KEYS} more` : '';
  return `unknown key${keys.length > 1 ? 's' : ''}: ${shown.join(', ')}${more}`;
}

/** `text` cut to `max` characters with "…" after, never inside a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(input)' : out;
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.message && issue.message !== 'Invalid input') return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined
        ? `is required (${issue.expected})`
        : `must be ${article(issue.expected)}, got ${typeName(value)}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return unknownKeys(issue.keys);
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${unit(issue.origin, issue.maximum)}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${unit(issue.origin, issue.minimum)}`;
    case 'invalid_union':
      if ('options' in issue && Array.isArray(issue.options)) {
        return `must be one of: ${(issue.options as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return 'does not match any accepted form';
    case 'invalid_format':
      return `must match the format ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return 'is not valid';
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** The unit of a size bound: characters of a string, items of an array or set (singular for 1); none for numbers. */
function unit(origin: string, bound: number | bigint): string {
  if (origin !== 'string' && origin !== 'array' && origin !== 'set') return '';
  return (origin === 'string' ? ' character' : ' item') + (Number(bound) === 1 ? '' : 's');
}
