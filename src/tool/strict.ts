import type { ToolResult } from '../index';
import { strictCallError } from '../refusals';
import { formatPath, type InputIssue } from '../schemas/issues';
import type { ToolDefinition } from './definition';
import type { JsonSchema } from './json-schema';

/**
 * The keywords OpenAI's strict mode (Structured Outputs, "Supported schemas") accepts. Others
 * (`maxLength`, `propertyNames`, ...) are left out of the strict schema: the manager still
 * enforces every limit, and its refusal names the limit.
 */
const STRICT_KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs',
  'description', 'title', 'pattern', 'format',
  'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'minItems', 'maxItems',
]);

/**
 * A schema OpenAI accepts with `strict: true`, made from a portable one: every object lists all
 * its properties in `required` and has `additionalProperties: false`; an optional property
 * becomes nullable (null means "left out"); a free-form object (a step's `details`), which strict
 * mode cannot express, becomes a JSON-encoded string. `fromStrictArguments` undoes both.
 *
 * @example
 * const parameters = strictSchema(instancePlanTool(manager).inputSchema);
 */
export function strictSchema(schema: JsonSchema): JsonSchema {
  return strictNode(schema);
}

function strictNode(node: JsonSchema): JsonSchema {
  if (isFreeformObject(node)) {
    const said = typeof node.description === 'string' ? `${node.description} ` : '';
    return { type: 'string', description: `${said}Send it encoded as a JSON string, e.g. "{\\"key\\":\\"value\\"}".` };
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (!STRICT_KEYWORDS.has(key) || key === 'properties' || key === 'required' || key === 'additionalProperties') continue;
    if (key === 'items') out.items = strictNode(value as JsonSchema);
    else if (key === 'anyOf') out.anyOf = (value as JsonSchema[]).map(strictNode);
    else if (key === '$defs') out.$defs = mapValues(value as Record<string, JsonSchema>, strictNode);
    else out[key] = value;
  }
  const properties = node.properties as Record<string, JsonSchema> | undefined;
  if (properties) {
    const required = new Set((node.required as string[] | undefined) ?? []);
    out.properties = mapValues(properties, (property, name) => (required.has(name) ? strictNode(property) : nullable(strictNode(property))));
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  return out;
}

/** The same schema, also accepting null: `type: [t, "null"]` for a plain scalar (OpenAI's own idiom), else `anyOf`. */
function nullable(node: JsonSchema): JsonSchema {
  if (acceptsNull(node)) return node;
  if (typeof node.type === 'string' && node.type !== 'object' && node.type !== 'array' && node.const === undefined) {
    const out: JsonSchema = { ...node, type: [node.type, 'null'] };
    if (Array.isArray(node.enum)) out.enum = [...node.enum, null];
    return out;
  }
  const { description, ...rest } = node;
  return description === undefined ? { anyOf: [rest, { type: 'null' }] } : { anyOf: [rest, { type: 'null' }], description };
}

function acceptsNull(node: JsonSchema): boolean {
  if (node.type === 'null' || (Array.isArray(node.type) && node.type.includes('null'))) return true;
  return Array.isArray(node.anyOf) && (node.anyOf as JsonSchema[]).some(acceptsNull);
}

function isFreeformObject(node: JsonSchema): boolean {
  return node.type === 'object' && node.properties === undefined;
}

export type StrictDecoding = { ok: true; value: unknown } | { ok: false; issues: InputIssue[] };

/**
 * Turns arguments written for `strictSchema(schema)` back into input for `schema`: a null
 * optional property is left out, a JSON-encoded free-form object is parsed. Anything else is
 * passed on untouched, for the manager to validate and explain.
 *
 * @example
 * fromStrictArguments(tool.inputSchema, { action: 'list', limit: null }); // { ok: true, value: { action: 'list' } }
 */
export function fromStrictArguments(schema: JsonSchema, args: unknown): StrictDecoding {
  const issues: InputIssue[] = [];
  const value = decode(schema, args, [], issues);
  return issues.length === 0 ? { ok: true, value } : { ok: false, issues };
}

/** The longest array the strict form decodes item by item: far past any list the tool accepts (200 steps by default). */
const MAX_DECODED_ITEMS = 10_000;

function decode(schema: JsonSchema, value: unknown, path: (string | number)[], issues: InputIssue[]): unknown {
  if (isFreeformObject(schema)) {
    if (typeof value !== 'string') return value;
    const parsed = parseObject(value);
    if (parsed !== undefined) return parsed;
    issues.push({ path: formatPath(path), message: 'must be a JSON object encoded as a string, e.g. "{\\"key\\":\\"value\\"}"' });
    return value;
  }
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties && isPlainObject(value)) {
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const entries: [string, unknown][] = [];
    for (const [key, item] of Object.entries(value)) {
      const property = Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined;
      if (property === undefined) entries.push([key, item]); // unknown: the manager refuses it by name
      else if (item !== null || required.has(key)) entries.push([key, decode(property, item, [...path, key], issues)]);
    }
    // fromEntries defines own properties: a "__proto__" key stays a key (and is refused later).
    return Object.fromEntries(entries);
  }
  const items = schema.items as JsonSchema | undefined;
  // A longer array is passed on as it is, unwalked (a sparse `new Array(1e9)` would take minutes
  // to map): the manager refuses it by its length, before reading an element.
  if (items && Array.isArray(value)) return value.length > MAX_DECODED_ITEMS ? value : value.map((item, index) => decode(items, item, [...path, index], issues));
  if (Array.isArray(schema.anyOf)) {
    const member = (schema.anyOf as JsonSchema[]).find((candidate) => fits(candidate, value));
    if (member) return decode(member, value, path, issues);
  }
  return value;
}

function fits(schema: JsonSchema, value: unknown): boolean {
  if (schema.type === 'array') return Array.isArray(value);
  if (schema.type === 'object') return isPlainObject(value) || (isFreeformObject(schema) && typeof value === 'string');
  return false;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T, key: string) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value, key)]));
}

/** A tool in OpenAI strict form: the strict schema, and an `execute` that takes strict arguments. */
export function strictTool(tool: ToolDefinition): { description: string; parameters: JsonSchema; execute(input: unknown): Promise<ToolResult> } {
  return {
    description: `${tool.description}\nEvery parameter is present: use null for the ones your action does not take.`,
    parameters: strictSchema(tool.inputSchema),
    execute: async (input) => {
      let decoded: StrictDecoding;
      try {
        decoded = fromStrictArguments(tool.inputSchema, input);
      } catch {
        // Input that cannot be read (a throwing getter, a revoked Proxy): the manager reads it
        // once, into plain data, and refuses it naming where.
        return tool.execute(input);
      }
      if (decoded.ok) return tool.execute(decoded.value);
      return { success: false, error: strictCallError(tool.name, decoded.issues).toJSON() };
    },
  };
}
