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
      return `unknown key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
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
