import type { JsonSchema } from './json-schema';

/**
 * Turns the tool's discriminated union (`oneOf`, one object per action) into one object with
 * every field: `action` becomes an enum, a field used by several actions gets every form it
 * takes, and each field's description says which actions take it and where it is required.
 * Everything structural comes from the union; only the words come from `descriptions`.
 */
export function flattenUnion(union: JsonSchema, descriptions: Readonly<Record<string, string>>): JsonSchema {
  const options = union.oneOf;
  if (!Array.isArray(options)) throw new TypeError('flattenUnion expects a oneOf of objects (a discriminated union)');
  const actions: string[] = [];
  const fields = new Map<string, { forms: JsonSchema[]; usage: string[] }>();
  for (const option of options as JsonSchema[]) {
    const properties = option.properties as Record<string, JsonSchema>;
    const required = new Set(option.required as string[]);
    const action = properties.action?.const;
    if (typeof action !== 'string') throw new TypeError('every option of the union needs a constant "action"');
    actions.push(action);
    for (const [name, schema] of Object.entries(properties)) {
      if (name === 'action') continue;
      const field = fields.get(name) ?? { forms: [], usage: [] };
      field.forms.push(schema);
      field.usage.push(required.has(name) ? `${action} (required)` : action);
      fields.set(name, field);
    }
  }

  const properties: Record<string, JsonSchema> = {
    action: { type: 'string', enum: actions, description: describe(descriptions, 'action') },
  };
  for (const [name, field] of fields) {
    const schema = withoutAnyJsonRefs(mergeForms(field.forms), union.$defs);
    properties[name] = { ...schema, description: `${describe(descriptions, name)} Actions: ${field.usage.join(', ')}.` };
    describeItems(properties[name], name, descriptions);
  }
  const flat: JsonSchema = { type: 'object', properties, required: ['action'], additionalProperties: false };
  // Should zod ever write a definition we cannot inline, keep the definitions the refs point to.
  if (JSON.stringify(properties).includes('"$ref"')) flat.$defs = union.$defs;
  return flat;
}

function describe(descriptions: Readonly<Record<string, string>>, path: string): string {
  const text = Object.prototype.hasOwnProperty.call(descriptions, path) ? descriptions[path] : undefined;
  // A field without words is a bug to catch in tests, not something to ship silently.
  if (text === undefined) throw new TypeError(`no description for tool parameter "${path}"`);
  return text;
}

/** Describes the properties of array items that are objects (the fields of one step). */
function describeItems(schema: JsonSchema, path: string, descriptions: Readonly<Record<string, string>>): void {
  const items = schema.items as JsonSchema | undefined;
  const properties = items?.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return;
  for (const [name, property] of Object.entries(properties)) {
    properties[name] = { ...property, description: describe(descriptions, `${path}.${name}`) };
  }
}

/** One schema accepting every form: identical forms once, `anyOf`s opened up, string enums joined. */
function mergeForms(forms: JsonSchema[]): JsonSchema {
  const members: JsonSchema[] = [];
  const seen = new Set<string>();
  for (const form of forms) {
    const alternatives = Object.keys(form).length === 1 && Array.isArray(form.anyOf) ? (form.anyOf as JsonSchema[]) : [form];
    for (const member of alternatives) {
      const key = JSON.stringify(member);
      if (!seen.has(key)) {
        seen.add(key);
        members.push(member);
      }
    }
  }
  const enums = members.filter(isStringEnum);
  const merged =
    enums.length > 1
      ? [{ type: 'string', enum: [...new Set(enums.flatMap((member) => member.enum as string[]))] }, ...members.filter((m) => !isStringEnum(m))]
      : members;
  return merged.length === 1 ? merged[0]! : { anyOf: merged };
}

function isStringEnum(schema: JsonSchema): boolean {
  return Object.keys(schema).length === 2 && schema.type === 'string' && Array.isArray(schema.enum);
}

/**
 * zod writes "any JSON value" (`z.json()`, the values inside a step's `details`) as a recursive
 * definition. Input parsed from JSON can only hold JSON values, so a reference to it accepts
 * everything, as does the key rule beside it: `{}`. Without `$defs` the schema suits providers
 * that do not follow `$ref` (and reads better to a model).
 */
function withoutAnyJsonRefs(schema: JsonSchema, defs: unknown): JsonSchema {
  const anyJson = new Set(
    Object.entries((defs ?? {}) as Record<string, JsonSchema>)
      .filter(([name, def]) => JSON.stringify(def) === anyJsonDefinition(`#/$defs/${name}`))
      .map(([name]) => `#/$defs/${name}`),
  );
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== 'object' || node === null) return node;
    const out: JsonSchema = {};
    for (const [key, value] of Object.entries(node as JsonSchema)) {
      const isAnyJsonRef = typeof value === 'object' && value !== null && anyJson.has((value as JsonSchema).$ref as string);
      if (key === 'additionalProperties' && isAnyJsonRef) continue;
      if (key === 'propertyNames' && JSON.stringify(value) === '{"type":"string"}') continue;
      out[key] = isAnyJsonRef ? {} : visit(value);
    }
    return out;
  };
  return visit(schema) as JsonSchema;
}

function anyJsonDefinition(ref: string): string {
  return JSON.stringify({
    anyOf: [
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
      { type: 'null' },
      { type: 'array', items: { $ref: ref } },
      { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { $ref: ref } },
    ],
  });
}
