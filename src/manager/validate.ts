import type * as z from 'zod/mini';
import { InstancePlanError } from '../errors';
import { describeIssues, formatPath, type InputIssue } from '../schemas/issues';

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
  for (const [index, issue] of result.error.issues.entries()) {
    if (issue.code !== 'unrecognized_keys') continue;
    const allowed = acceptedKeysAt(schema, issue.path, input);
    if (allowed) issues[index]!.message += ` (accepted: ${allowed.join(', ')})`;
  }
  throw validationError(`Invalid ${what}`, issues);
}

const PLAIN_ISSUES = { error: () => 'Invalid input' };

export function validationError(prefix: string, issues: InputIssue[]): InstancePlanError {
  const shown = issues.slice(0, 5).map((issue) => `${issue.path} ${issue.message}`);
  const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
  return new InstancePlanError('VALIDATION_ERROR', `${prefix}: ${shown.join('; ')}${more}`, { issues });
}

/** One issue on one field, for refusals found after parsing (limits, scope, required-in-context). */
export function fieldError(path: (string | number)[], message: string): InstancePlanError {
  return validationError('Invalid input', [{ path: formatPath(path), message }]);
}

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  discriminator?: string;
}

/** The keys an object schema accepts at `path` of `input` (walks objects, arrays, optionals, pipes, discriminated unions). */
function acceptedKeysAt(schema: z.ZodMiniType, path: readonly PropertyKey[], input: unknown): string[] | undefined {
  let def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  let value: unknown = input;
  let index = 0;
  for (;;) {
    if (def.type === 'optional' || def.type === 'nullable') def = def.innerType!._zod.def;
    else if (def.type === 'pipe') def = def.in!._zod.def;
    else if (def.type === 'union' && def.discriminator && def.options) {
      const tag = (value as Record<string, unknown> | null)?.[def.discriminator];
      const option = def.options.find((o) => {
        const literal = o._zod.def.shape?.[def.discriminator!] as { _zod: { def: { values?: unknown[] } } } | undefined;
        return literal?._zod.def.values?.includes(tag);
      });
      if (!option) return undefined;
      def = option._zod.def;
    } else if (index < path.length) {
      const key = path[index++]!;
      value = (value as Record<PropertyKey, unknown> | null)?.[key];
      if (def.type === 'object' && def.shape) {
        const next = def.shape[key as string] as { _zod: { def: Def } } | undefined;
        if (!next) return undefined;
        def = next._zod.def;
      } else if (def.type === 'array' && def.element) def = def.element._zod.def;
      else return undefined;
    } else {
      return def.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
    }
  }
}
