import type * as z from 'zod/mini';
import { LISTED_ISSUES, validationError } from '../refusals';
import { describeIssues } from '../schemas/issues';

/**
 * Parses input with a schema, or throws `VALIDATION_ERROR` listing every issue with its path
 * and, for unknown keys, the keys that would have been accepted.
 */
export function parseInput<S extends z.ZodMiniType>(schema: S, input: unknown, what: string): z.output<S> {
  // Our messages are written from the issue data; a zod locale configured globally by the app
  // must not replace them. Messages given on a schema (the limits) still win over this one.
  const result = schema.safeParse(input, PLAIN_ISSUES);
  if (result.success) return result.data;
  const issues = describeIssues(result.error.issues, input);
  for (const [index, issue] of result.error.issues.slice(0, LISTED_ISSUES).entries()) {
    if (issue.code !== 'unrecognized_keys') continue;
    issues[index]!.message += ` (accepted: ${acceptedKeysAt(schema, issue.path, input).join(', ')})`;
  }
  throw validationError(`Invalid ${what}`, issues);
}

const PLAIN_ISSUES = { error: () => 'Invalid input' };

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  discriminator?: string;
}

/**
 * The keys an object schema accepts at `path` of `input`. The path is one zod reported an unknown
 * key at, so every step of it exists: wrappers (optional, nullable, pipe, ...) are stepped
 * through, a discriminated union follows the option the input's tag picks, objects and arrays
 * follow the path.
 */
function acceptedKeysAt(schema: z.ZodMiniType, path: readonly PropertyKey[], input: unknown): string[] {
  let def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  let value = input as Record<PropertyKey, unknown>;
  let index = 0;
  for (;;) {
    const inner = def.innerType ?? def.in;
    if (inner) def = inner._zod.def;
    else if (def.discriminator) {
      const tag = value[def.discriminator];
      const option = def.options!.find((o) => (o._zod.def.shape![def.discriminator!] as Literal)._zod.def.values.includes(tag));
      def = option!._zod.def;
    } else if (index < path.length) {
      const key = path[index++]!;
      value = value[key] as Record<PropertyKey, unknown>;
      def = ((def.shape?.[key as string] ?? def.element) as { _zod: { def: Def } })._zod.def;
    } else {
      return Object.keys(def.shape!);
    }
  }
}

type Literal = { _zod: { def: { values: unknown[] } } };
