import * as z from 'zod/mini';
import { freshSchema, type JsonSchema } from './json-schema';

/** A zod object that accepts every call and whose JSON Schema (`z.toJSONSchema`) is `schema`. */
export type PassThroughSchema = z.ZodMiniObject<{}, z.core.$loose>;

/**
 * For frameworks that list a tool by converting a zod schema with `z.toJSONSchema` and check
 * each call against it before the tool runs (MCP's SDK, LangChain), answering mistakes in their
 * own words ("Invalid input", "did not match expected schema"). This one lets every call through
 * to the manager, which answers naming the field and what it accepts, and lists exactly `schema`
 * (registered metadata, which `z.toJSONSchema` writes over what it derives, and which
 * LangChain's conversions carry along). zod's registry is shared by every copy of zod 4.
 */
export function passThroughSchema(schema: JsonSchema): PassThroughSchema {
  const passThrough = z.looseObject({});
  // A copy: zod assigns the metadata into the schema it writes, and the tool's is frozen.
  z.globalRegistry.add(passThrough, freshSchema(schema));
  return passThrough;
}

/** A Standard Schema (with its JSON Schema) that accepts every value as it is. */
export interface PassThroughStandardSchema {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: 'instance-plan';
    validate(value: unknown): { value: unknown };
    readonly jsonSchema: { input(options?: unknown): Record<string, unknown>; output(options?: unknown): Record<string, unknown> };
  };
}

/**
 * The same for frameworks that take a Standard Schema with its JSON Schema (standardschema.dev):
 * `validate` lets every call through to the manager, and `jsonSchema` answers a fresh copy of
 * `schema` for the model to be shown.
 */
export function passThroughStandardSchema(schema: JsonSchema): PassThroughStandardSchema {
  return {
    '~standard': {
      version: 1,
      vendor: 'instance-plan',
      validate: (value) => ({ value }),
      jsonSchema: { input: () => freshSchema(schema), output: () => freshSchema(schema) },
    },
  };
}
