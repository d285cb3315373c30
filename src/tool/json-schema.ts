import * as z from 'zod/mini';
import { createInputSchemas } from '../schemas/inputs';
import type { Limits } from '../schemas/limits';
import { PARAMETER_DESCRIPTIONS } from './parameters';
import { flattenUnion } from './flatten';

/** A JSON Schema document or subschema, as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * The JSON Schemas of the Instance Plan tool's input, generated from the zod schema the
 * manager validates with (`createInputSchemas(limits).tool`), so they can never drift from it.
 */
export interface ToolJsonSchemas {
  /** The exact input: one object per action (`oneOf`), each with its own required fields. */
  union: JsonSchema;
  /**
   * The same fields as one object (`type: "object"` at the root, `action` an enum): what every
   * provider accepts. Anthropic and OpenAI refuse `oneOf`/`anyOf` at the root, and MCP requires
   * an object. Which fields each action needs is in the descriptions; `handle` enforces it.
   */
  portable: JsonSchema;
}

/**
 * @example
 * const { union, portable } = toolJsonSchemas(manager.limits);
 */
export function toolJsonSchemas(limits: Limits): ToolJsonSchemas {
  // `io: 'output'`: the tool schemas have no defaults or transforms, so input and output agree,
  // except that `details` pipes from `unknown` (to see a raw "__proto__" key) into a JSON object:
  // the output side is the real contract.
  const union = z.toJSONSchema(createInputSchemas(limits).tool, { target: 'draft-2020-12', io: 'output' }) as JsonSchema;
  return { union, portable: flattenUnion(union, PARAMETER_DESCRIPTIONS) };
}

/**
 * A deep copy of a schema, made of plain objects no one else holds: what every framework gets,
 * since some write into the schema they are given (LangChain's validator adds `__absolute_uri__`
 * to each subschema; the AI SDK and providers decorate it), and the tool's own is frozen.
 */
export function freshSchema<S extends JsonSchema>(schema: S): S {
  return JSON.parse(JSON.stringify(schema)) as S;
}
