import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as z from 'zod/mini';
import { memoryAdapter, PlanManager, type Limits, type PlanManagerOptions, type StorageAdapter, type ToolResult } from '../src';
import { conflictError } from '../src/adapter';
import { createInputSchemas } from '../src/tool';
import {
  aiSdkTool,
  anthropicTool,
  fromStrictArguments,
  instancePlanTool,
  openAIChatTool,
  openAITool,
  PARAMETER_DESCRIPTIONS,
  resultText,
  strictSchema,
  toolJsonSchemas,
  type JsonSchema,
} from '../src/tool';

// Everything here runs the generated schemas through a real JSON Schema validator (ajv, draft
// 2020-12) and the calls through a real manager: no schema or answer is written by hand.

// strict: an unknown keyword or a loose type in a generated schema fails compilation.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });

const validator = (schema: JsonSchema) => ajv.compile(schema);

function newManager(options: PlanManagerOptions = {}): PlanManager {
  let id = 0;
  let seconds = 0;
  return new PlanManager({
    ids: () => `id-${++id}`,
    clock: () => new Date(Date.UTC(2025, 0, 1, 9, 0, seconds++)),
    ...options,
  });
}

async function managerWithInstance(options: PlanManagerOptions = {}) {
  const manager = newManager(options);
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  return { manager, instanceId: instance.id };
}

function ok<T extends ToolResult>(result: T): Extract<T, { plan: unknown }> {
  if (!result.success || !('plan' in result)) throw new Error(`expected a plan, got ${JSON.stringify(result)}`);
  return result as Extract<T, { plan: unknown }>;
}

function refused(result: ToolResult) {
  if (result.success) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return result.error;
}

/** The zod options of the tool's discriminated union, keyed by action: the source of truth. */
function zodShapes(limits: Limits): Record<string, { keys: string[]; required: string[] }> {
  const tool = createInputSchemas(limits).tool as unknown as {
    _zod: { def: { options: { _zod: { def: { shape: Record<string, { _zod: { optin?: string; def: { values?: unknown[] } } }> } } }[] } };
  };
  const out: Record<string, { keys: string[]; required: string[] }> = {};
  for (const option of tool._zod.def.options) {
    const shape = option._zod.def.shape;
    const action = String(shape.action!._zod.def.values![0]);
    const keys = Object.keys(shape);
    out[action] = { keys, required: keys.filter((key) => shape[key]!._zod.optin !== 'optional') };
  }
  return out;
}

describe('instancePlanTool', () => {
  test('names the tool and says what the seed says: strict execution paths, the four actions, a summary at the end', async () => {
    const { manager, instanceId } = await managerWithInstance();
    const tool = instancePlanTool(manager);
    expect(tool.name).toBe('instance_plan');
    expect(tool.description).toContain('strict execution paths for YOU (the agent)');
    expect(tool.description).toContain('NOT general plans for the user');
    for (const action of ['create', 'list', 'update', 'execute_step']) expect(tool.description).toContain(`action="${action}"`);
    expect(tool.description).toContain('Always finish execution with a summary');
    expect(tool.description).not.toContain(instanceId);
    expect(instancePlanTool(manager, { instance_id: instanceId }).description).toContain(`instance "${instanceId}": leave instance_id out`);
  });

  test('execute is handle: the same calls give the same answers as manager.handle', async () => {
    const a = await managerWithInstance();
    const b = await managerWithInstance();
    const tool = instancePlanTool(a.manager, { instance_id: a.instanceId });
    const calls: unknown[] = [
      { action: 'create', title: 'Qualify lead', steps: [{ title: 'Fetch lead', type: 'tool_call' }, { title: 'Score', type: 'process' }] },
      { action: 'list' },
      { action: 'execute_step', plan_id: 'id-2', step_id: 'id-4', step_status: 'in_progress' }, // out of order
      { action: 'execute_step', plan_id: 'id-2', step_id: 'id-3', step_status: 'in_progress' },
      { action: 'update', plan_id: 'id-2', colour: 'red' },
    ];
    for (const call of calls) {
      expect(await tool.execute(call)).toEqual(await b.manager.handle(call, { instance_id: b.instanceId }));
    }
  });

  test('the input schema is built once per manager and cannot be changed by a caller', async () => {
    const { manager } = await managerWithInstance();
    const first = instancePlanTool(manager).inputSchema;
    expect(instancePlanTool(manager).inputSchema).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen((first.properties as Record<string, JsonSchema>).steps)).toBe(true);
    expect(() => {
      (first as { type: string }).type = 'array';
    }).toThrow(TypeError);
  });
});

describe('generated JSON Schemas', () => {
  const limits = new PlanManager().limits;
  const { union, portable } = toolJsonSchemas(limits);
  const shapes = zodShapes(limits);
  const properties = portable.properties as Record<string, JsonSchema>;

  test('the union has one option per action of the zod schema, with its keys and required keys', () => {
    const options = union.oneOf as JsonSchema[];
    expect(options.map((option) => (option.properties as Record<string, JsonSchema>).action!.const)).toEqual(Object.keys(shapes));
    for (const option of options) {
      const action = (option.properties as Record<string, JsonSchema>).action!.const as string;
      expect(Object.keys(option.properties as object)).toEqual(shapes[action]!.keys);
      expect(new Set(option.required as string[])).toEqual(new Set(shapes[action]!.required));
      expect(option.additionalProperties).toBe(false);
    }
  });

  test('the portable schema is one object holding every field of every action; each says which actions take it', () => {
    expect(portable.type).toBe('object');
    for (const keyword of ['oneOf', 'anyOf', 'allOf', '$defs']) expect(portable).not.toHaveProperty(keyword);
    expect(portable.required).toEqual(['action']);
    expect(portable.additionalProperties).toBe(false);
    expect(properties.action).toMatchObject({ type: 'string', enum: Object.keys(shapes) });
    const fields = new Set(Object.values(shapes).flatMap((shape) => shape.keys));
    expect(new Set(Object.keys(properties))).toEqual(fields);
    for (const field of fields) {
      if (field === 'action') continue;
      const usage = Object.entries(shapes)
        .filter(([, shape]) => shape.keys.includes(field))
        .map(([action, shape]) => (shape.required.includes(field) ? `${action} (required)` : action));
      expect(properties[field]!.description).toMatch(new RegExp(`Actions: ${usage.join(', ').replace(/[()]/g, '\\$&')}\\.$`));
    }
  });

  test('a field with different forms per action accepts each form (status, site_id)', () => {
    expect(properties.status).toMatchObject({ type: 'string', enum: ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'paused'] });
    // create takes a nullable site_id, list a string: both forms, once each.
    expect((properties.site_id!.anyOf as JsonSchema[]).map((member) => member.type)).toEqual(['string', 'null']);
    // "Any JSON object" is written without recursion: providers that do not follow $ref still read it.
    const step = (properties.steps!.items as JsonSchema).properties as Record<string, JsonSchema>;
    expect(step.details).toEqual({ type: 'object', description: PARAMETER_DESCRIPTIONS['steps.details'] });
  });

  test('every property, down to a step\'s fields, has a description, and every description belongs to a property', () => {
    const described: string[] = [];
    for (const [name, schema] of Object.entries(properties)) {
      expect(schema.description, name).toMatch(/\S/);
      described.push(name);
      const items = schema.items as JsonSchema | undefined;
      for (const [child, childSchema] of Object.entries((items?.properties ?? {}) as Record<string, JsonSchema>)) {
        expect(childSchema.description, `${name}.${child}`).toMatch(/\S/);
        described.push(`${name}.${child}`);
      }
    }
    expect(new Set(described)).toEqual(new Set(Object.keys(PARAMETER_DESCRIPTIONS)));
  });

  test('the manager\'s limits are in the schema', () => {
    const small = instancePlanTool(new PlanManager({ limits: { maxTitleLength: 7, maxSteps: 3, maxIdLength: 9 } })).inputSchema;
    const fields = small.properties as Record<string, JsonSchema>;
    expect(fields.title).toMatchObject({ maxLength: 7 });
    expect(fields.steps).toMatchObject({ maxItems: 3 });
    expect(fields.plan_id).toMatchObject({ maxLength: 9 });
    expect(validator(small)({ action: 'update', plan_id: 'p', title: 'eight ch' })).toBe(false);
    expect(validator(small)({ action: 'update', plan_id: 'p', title: 'seven c' })).toBe(true);
  });

  test('ajv compiles all three in strict mode (no unknown keywords)', () => {
    expect(() => validator(union)).not.toThrow();
    expect(() => validator(portable)).not.toThrow();
    expect(() => validator(strictSchema(portable))).not.toThrow();
  });
});

describe('sample calls against the emitted schemas and the manager', () => {
  const limits = new PlanManager().limits;
  const { union, portable } = toolJsonSchemas(limits);
  const checkUnion = validator(union);
  const checkPortable = validator(portable);

  test('a whole plan, call by call: each call passes both schemas and the manager accepts it', async () => {
    const { manager, instanceId } = await managerWithInstance();
    const tool = instancePlanTool(manager);
    const create = {
      action: 'create',
      instance_id: instanceId,
      title: 'Lead qualification flow',
      plan_type: 'objective',
      steps: [
        { title: 'Fetch lead data', type: 'tool_call', details: { tool: 'crm.get_lead', arguments: { lead_id: 'L-1' } } },
        { title: 'Qualify lead', type: 'process', description: null },
      ],
    };
    const calls: ((ids: { plan: string; steps: string[] }) => Record<string, unknown>)[] = [
      () => ({ action: 'list', instance_id: instanceId, status: 'pending', limit: 5, offset: 0 }),
      ({ plan, steps }) => ({ action: 'execute_step', plan_id: plan, step_id: steps[0], step_status: 'in_progress' }),
      ({ plan, steps }) => ({ action: 'execute_step', plan_id: plan, step_id: steps[0], step_status: 'completed', step_output: '{"name":"Globex"}' }),
      ({ plan }) => ({ action: 'update', plan_id: plan, steps: [{ title: 'Tell the rep', type: 'discussion' }], description: 'For the EMEA team' }),
      ({ plan, steps }) => ({ action: 'execute_step', plan_id: plan, step_id: steps[1], step_status: 'failed', step_output: 'Budget unknown' }),
      ({ plan }) => ({ action: 'update', plan_id: plan, status: 'failed', summary: 'Could not qualify: the budget is unknown.' }),
    ];
    expect(checkUnion(create), JSON.stringify(checkUnion.errors)).toBe(true);
    expect(checkPortable(create)).toBe(true);
    const { plan } = ok(await tool.execute(create));
    const ids = { plan: plan.id, steps: plan.steps.map((step) => step.id) };
    for (const make of calls) {
      const call = make(ids);
      expect(checkUnion(call), `${JSON.stringify(call)}: ${JSON.stringify(checkUnion.errors)}`).toBe(true);
      expect(checkPortable(call)).toBe(true);
      const result = await tool.execute(call);
      expect(result.success, JSON.stringify(result)).toBe(true);
    }
    expect((await manager.getPlan(plan.id)).status).toBe('failed');
  });

  // Each bad input: both schemas refuse it, and the manager refuses it naming the field.
  const bad: [string, unknown, string][] = [
    ['unknown action', { action: 'delete', plan_id: 'p' }, 'action'],
    ['no action', { plan_id: 'p' }, 'action'],
    ['not an object', ['create'], '(input)'],
    ['wrong type: limit as a string', { action: 'list', limit: '5' }, 'limit'],
    ['wrong type: title as a number', { action: 'create', instance_id: 'i', title: 42, steps: [] }, 'title'],
    ['wrong type: steps as an object', { action: 'create', instance_id: 'i', title: 'T', steps: { title: 'S' } }, 'steps'],
    ['unknown step type', { action: 'create', instance_id: 'i', title: 'T', steps: [{ title: 'S', type: 'dance' }] }, 'steps[0].type'],
    ['non-integer limit', { action: 'list', limit: 2.5 }, 'limit'],
    ['limit over 100', { action: 'list', limit: 101 }, 'limit'],
    ['blank title', { action: 'create', instance_id: 'i', title: '   ', steps: [] }, 'title'],
    ['title over the limit', { action: 'create', instance_id: 'i', title: 'x'.repeat(501), steps: [] }, 'title'],
    ['unknown key', { action: 'list', colour: 'red' }, '(input)'],
    ['an own "__proto__" key (as JSON.parse makes it)', JSON.parse('{"action":"list","__proto__":{"polluted":true}}'), '(input)'],
    ['unknown key in a step', { action: 'create', instance_id: 'i', title: 'T', steps: [{ title: 'S', type: 'review', owner: 'me' }] }, 'steps[0]'],
    ['details not an object', { action: 'create', instance_id: 'i', title: 'T', steps: [{ title: 'S', type: 'review', details: [1] }] }, 'steps[0].details'],
  ];
  test.each(bad)('%s: both schemas and the manager refuse it', async (_name, input, path) => {
    expect(checkUnion(input)).toBe(false);
    expect(checkPortable(input)).toBe(false);
    const error = refused(await newManager().handle(input));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect((error.issues as { path: string }[]).map((issue) => issue.path)).toContain(path);
    expect(error.message).toContain(path);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('the two checks the schemas cannot express are the manager\'s, and it names them', async () => {
    // "__proto__" inside details, and details over maxDetailsLength: valid JSON Schema, refused by the manager.
    const proto = JSON.parse('{"action":"create","instance_id":"i","title":"T","steps":[{"title":"S","type":"review","details":{"__proto__":{"x":1}}}]}');
    const big = { action: 'create', instance_id: 'i', title: 'T', steps: [{ title: 'S', type: 'review', details: { text: 'x'.repeat(20_001) } }] };
    for (const input of [proto, big]) {
      expect(checkUnion(input)).toBe(true);
      const error = refused(await newManager().handle(input));
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.message).toContain('steps[0].details');
    }
  });
});

describe('the union schema and the zod schema accept the same calls (property)', () => {
  // Small limits, so that generated values often sit on a boundary.
  const limits: Limits = { maxSteps: 2, maxTitleLength: 4, maxDescriptionLength: 5, maxOutputLength: 5, maxDetailsLength: 40, maxIdLength: 3, maxPlanTextLength: 1_000 };
  const { union, portable } = toolJsonSchemas(limits);
  const checkUnion = validator(union);
  const checkPortable = validator(portable);
  const zodTool = createInputSchemas(limits).tool;

  const calls = (text: fc.Arbitrary<string>) => {
    const value = fc.oneof(
      text,
      fc.constantFrom(' ', '', '\t\n', 'pending', 'completed', 'in_progress', 'tool_call', 'objective', 'strict', null),
      fc.integer({ min: -2, max: 102 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
    );
    const step = fc.record(
      {
        title: fc.oneof(text, value),
        type: fc.oneof(fc.constantFrom('tool_call', 'process', 'review', 'discussion', 'user_input'), value),
        description: fc.oneof(text, fc.constant(null), value),
        details: fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), value),
        extra: value,
      },
      { requiredKeys: [] },
    );
    const field = fc.oneof({ weight: 3, arbitrary: value }, { weight: 1, arbitrary: fc.array(step, { maxLength: 3 }) });
    const keys = ['instance_id', 'plan_id', 'step_id', 'step_output', 'step_status', 'title', 'description', 'plan_type', 'status', 'ordering', 'steps', 'summary', 'site_id', 'user_id', 'agent_id', 'limit', 'offset', 'colour'];
    return fc
      .tuple(fc.constantFrom('create', 'list', 'update', 'execute_step', 'delete'), fc.dictionary(fc.constantFrom(...keys), field, { maxKeys: 6 }))
      .map(([action, rest]) => ({ action, ...rest }))
      .filter((call) => !JSON.stringify(call).includes('__proto__'));
  };

  test('whatever the manager accepts, the schemas accept (any Unicode)', () => {
    fc.assert(
      fc.property(calls(fc.string({ unit: 'binary', maxLength: 6 })), (call) => {
        if (zodTool.safeParse(call).success) {
          expect(checkUnion(call), JSON.stringify(checkUnion.errors)).toBe(true);
          expect(checkPortable(call)).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });

  test('whatever the union schema accepts, the manager accepts (text within the Basic Multilingual Plane)', () => {
    // JSON Schema counts characters (code points), JavaScript counts UTF-16 units: with
    // characters beyond U+FFFF near a limit the manager is stricter, and its refusal names the limit.
    fc.assert(
      fc.property(calls(fc.string({ unit: 'grapheme-composite', maxLength: 6 }).filter((text) => !/[\uD800-\uDFFF]/.test(text))), (call) => {
        expect(checkUnion(call)).toBe(zodTool.safeParse(call).success);
        if (checkUnion(call)) expect(checkPortable(call)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });
});

// OpenAI's documented rules for strict mode (Structured Outputs, "Supported schemas"), checked
// independently of the code that builds the schema.
const OPENAI_SUPPORTED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'description', 'title',
  'pattern', 'format', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'minItems', 'maxItems',
]);

function openAIStrictViolations(root: JsonSchema): string[] {
  const problems: string[] = [];
  if (root.type !== 'object') problems.push('root: must be an object');
  if ('anyOf' in root) problems.push('root: must not be anyOf');
  let propertyCount = 0;
  let enumValues = 0;
  let stringLength = 0;
  const visit = (node: JsonSchema, path: string, depth: number) => {
    for (const key of Object.keys(node)) if (!OPENAI_SUPPORTED.has(key)) problems.push(`${path}: unsupported keyword ${key}`);
    if (Array.isArray(node.enum)) {
      enumValues += node.enum.length;
      stringLength += node.enum.filter((value) => typeof value === 'string').join('').length;
    }
    if (node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object'))) {
      if (depth > 10) problems.push(`${path}: more than 10 levels of nesting`);
      const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
      if (node.additionalProperties !== false) problems.push(`${path}: additionalProperties must be false`);
      const required = new Set((node.required ?? []) as string[]);
      for (const name of Object.keys(properties)) {
        if (!required.has(name)) problems.push(`${path}.${name}: must be required`);
        propertyCount++;
        stringLength += name.length;
        visit(properties[name]!, `${path}.${name}`, depth + 1);
      }
    }
    if (node.items) visit(node.items as JsonSchema, `${path}[]`, depth);
    for (const [index, member] of ((node.anyOf ?? []) as JsonSchema[]).entries()) visit(member, `${path}|${index}`, depth);
  };
  visit(root, '#', 1);
  if (propertyCount > 5000) problems.push('more than 5000 properties');
  if (enumValues > 1000) problems.push('more than 1000 enum values');
  if (stringLength > 120_000) problems.push('names and enum values longer than 120000 characters');
  return problems;
}

/** A call written as a strict-mode model writes it: every property present (null when unused), details as a JSON string. */
function asStrictArguments(schema: JsonSchema, value: unknown): unknown {
  if (schema.type === 'object' && schema.properties === undefined) return JSON.stringify(value);
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, name in record ? asStrictArguments(property, record[name]) : null]));
  }
  if (schema.items && Array.isArray(value)) return value.map((item) => asStrictArguments(schema.items as JsonSchema, item));
  const member = ((schema.anyOf ?? []) as JsonSchema[]).find((candidate) => candidate.type === (Array.isArray(value) ? 'array' : typeof value));
  return member ? asStrictArguments(member, value) : value;
}

describe('OpenAI strict mode', async () => {
  const { manager, instanceId } = await managerWithInstance();
  const tool = instancePlanTool(manager, { instance_id: instanceId });
  const strict = strictSchema(tool.inputSchema);
  const checkStrict = validator(strict);

  test('the strict schema keeps every documented rule of strict mode', () => {
    expect(openAIStrictViolations(strict)).toEqual([]);
    // The checker is not vacuous: the portable schema breaks the rules it should.
    expect(openAIStrictViolations(tool.inputSchema)).toEqual(expect.arrayContaining(['#.instance_id: must be required', '#.title: unsupported keyword maxLength']));
  });

  test('optional fields are nullable; details, a free-form object strict mode cannot express, is a JSON string', () => {
    const fields = strict.properties as Record<string, JsonSchema>;
    expect(fields.limit).toMatchObject({ type: ['integer', 'null'] });
    expect(fields.status).toMatchObject({ type: ['string', 'null'], enum: expect.arrayContaining(['pending', null]) });
    expect(fields.action).toMatchObject({ type: 'string' });
    const step = (fields.steps!.anyOf as JsonSchema[])[0]!.items as JsonSchema;
    expect(step.required).toEqual(['title', 'type', 'description', 'details']);
    expect((step.properties as Record<string, JsonSchema>).details).toMatchObject({ type: ['string', 'null'] });
  });

  test('every call the manager accepts, written in strict form, passes the strict schema and decodes back to the call (property)', () => {
    const zodTool = createInputSchemas(manager.limits).tool;
    const arbitraryCall = fc.oneof(
      fc.record(
        {
          action: fc.constant('create'),
          instance_id: fc.constant(instanceId),
          title: fc.string({ minLength: 1, maxLength: 8 }),
          steps: fc.array(
            fc.record(
              { title: fc.string({ minLength: 1, maxLength: 8 }), type: fc.constantFrom('tool_call', 'review'), description: fc.string(), details: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
              { requiredKeys: ['title', 'type'] },
            ),
            { maxLength: 3 },
          ),
          plan_type: fc.constantFrom('objective', 'task'),
          ordering: fc.constantFrom('strict', 'free'),
        },
        { requiredKeys: ['action', 'title', 'steps'] },
      ),
      fc.record({ action: fc.constant('list'), status: fc.constantFrom('pending', 'paused'), limit: fc.integer({ min: 1, max: 100 }), offset: fc.nat() }, { requiredKeys: ['action'] }),
      fc.record({ action: fc.constant('update'), plan_id: fc.string({ minLength: 1, maxLength: 5 }), summary: fc.string(), status: fc.constantFrom('completed', 'cancelled') }, { requiredKeys: ['action', 'plan_id'] }),
      fc.record({ action: fc.constant('execute_step'), plan_id: fc.constant('p'), step_id: fc.constant('s'), step_status: fc.constantFrom('in_progress', 'completed'), step_output: fc.string() }, { requiredKeys: ['action', 'plan_id', 'step_id', 'step_status'] }),
    );
    fc.assert(
      fc.property(
        arbitraryCall.filter((call) => zodTool.safeParse(call).success && !JSON.stringify(call).includes('__proto__')),
        (generated) => {
          // A model's call is JSON: it cannot hold what JSON cannot say (fast-check's -0 is 0 there).
          const call = JSON.parse(JSON.stringify(generated)) as unknown;
          const args = asStrictArguments(tool.inputSchema, call);
          expect(checkStrict(args), JSON.stringify(checkStrict.errors)).toBe(true);
          expect(fromStrictArguments(tool.inputSchema, args)).toEqual({ ok: true, value: call });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a whole plan through openAITool: JSON-string arguments with every field present, nulls for the unused', async () => {
    const plan = openAITool(tool);
    expect(plan.definition).toMatchObject({ type: 'function', name: 'instance_plan', strict: true, parameters: strict });
    expect(plan.definition.description).toContain('use null');
    const nulls = Object.fromEntries(Object.keys(strict.properties as object).map((name) => [name, null]));
    const call = async (fields: Record<string, unknown>) => {
      const args = { ...nulls, ...fields };
      expect(checkStrict(args), JSON.stringify(checkStrict.errors)).toBe(true);
      return plan.execute(JSON.stringify(args));
    };
    const created = ok(
      await call({
        action: 'create',
        title: 'Ship it',
        steps: [{ title: 'Build', type: 'process', description: null, details: '{"tool":"make","arguments":{"target":"all"}}' }],
      }),
    );
    expect(created.plan.steps[0]!.details).toEqual({ tool: 'make', arguments: { target: 'all' } });
    expect(created.plan.steps[0]!.description).toBeNull();
    const step = created.plan.steps[0]!.id;
    ok(await call({ action: 'execute_step', plan_id: created.plan.id, step_id: step, step_status: 'in_progress' }));
    const done = ok(await call({ action: 'execute_step', plan_id: created.plan.id, step_id: step, step_status: 'completed', step_output: 'built' }));
    expect(done.message).toContain('summary');
    const finished = ok(await call({ action: 'update', plan_id: created.plan.id, status: 'completed', summary: 'Shipped.' }));
    expect(finished.plan.status).toBe('completed');
  });

  test('strict-mode mistakes are answered, not thrown: details that is no JSON object, arguments that are no JSON', async () => {
    const plan = openAITool(tool);
    const badDetails = refused(
      await plan.execute({ action: 'create', title: 'T', steps: [{ title: 'S', type: 'review', description: null, details: '[1,2]' }] }),
    );
    expect(badDetails).toMatchObject({ code: 'VALIDATION_ERROR', issues: [{ path: 'steps[0].details' }] });
    expect(badDetails.message).toContain('JSON object encoded as a string');
    expect(badDetails.message).toMatch(/^Invalid instance_plan call: steps\[0\]\.details /);
    const badJson = refused(await plan.execute('{"action": "list",'));
    expect(badJson.code).toBe('VALIDATION_ERROR');
    expect(badJson.message).toContain('not valid JSON');
    // A null for a required step field stays, and the manager names it.
    const nullTitle = refused(await plan.execute({ action: 'create', title: 'T', steps: [{ title: null, type: 'review', description: null, details: null }] }));
    expect(nullTitle.message).toContain('steps[0].title');
  });

  test('Chat Completions form, and non-strict mode with the portable schema', async () => {
    const chat = openAIChatTool(tool);
    expect(chat.definition).toEqual({ type: 'function', function: { name: 'instance_plan', description: expect.stringContaining('use null'), parameters: strict, strict: true } });
    const loose = openAITool(tool, { strict: false });
    expect(loose.definition).toEqual({ type: 'function', name: 'instance_plan', description: tool.description, parameters: tool.inputSchema, strict: false });
    const listed = await loose.execute('{"action":"list"}');
    expect(listed).toMatchObject({ success: true, total: expect.any(Number) });
    // Without strict mode a null is a value, and the manager says what it accepts instead.
    expect(refused(await loose.execute('{"action":"list","limit":null}')).message).toContain('limit');
  });
});

describe('Anthropic and the Vercel AI SDK', async () => {
  const { manager, instanceId } = await managerWithInstance();
  const tool = instancePlanTool(manager, { instance_id: instanceId });

  test('Anthropic: input_schema is the portable schema, an object at the root without oneOf/anyOf/allOf there', async () => {
    const plan = anthropicTool(tool);
    expect(plan.definition).toEqual({ name: 'instance_plan', description: tool.description, input_schema: tool.inputSchema });
    for (const keyword of ['oneOf', 'anyOf', 'allOf']) expect(plan.definition.input_schema).not.toHaveProperty(keyword);
    expect(plan.definition.input_schema.type).toBe('object');
    const input = { action: 'create', title: 'Answer the ticket', steps: [{ title: 'Read it', type: 'review' }] };
    expect(validator(plan.definition.input_schema)(input)).toBe(true);
    expect(ok(await plan.execute(input)).plan.instance_id).toBe(instanceId);
  });

  test('AI SDK: { description, inputSchema: jsonSchema(schema), execute } with the SDK\'s own helper passed in', async () => {
    const given: unknown[] = [];
    const jsonSchema = (schema: Record<string, unknown>) => {
      given.push(schema);
      return { branded: true, jsonSchema: schema };
    };
    const plan = aiSdkTool(tool, { jsonSchema });
    expect(plan.description).toBe(tool.description);
    expect(plan.inputSchema).toEqual({ branded: true, jsonSchema: tool.inputSchema });
    expect(given[0]).not.toBe(tool.inputSchema); // a copy the SDK may decorate
    // The SDK calls execute(input, { toolCallId, messages, abortSignal }).
    const execute = plan.execute as (input: unknown, options: unknown) => Promise<ToolResult>;
    expect(await execute({ action: 'list' }, { toolCallId: 'call-1', messages: [] })).toMatchObject({ success: true });
    const strict = aiSdkTool(tool, { jsonSchema, strict: true });
    expect(strict.inputSchema).toEqual({ branded: true, jsonSchema: strictSchema(tool.inputSchema) });
    expect(await strict.execute({ action: 'list', limit: null, status: null })).toMatchObject({ success: true });
  });
});

describe('answers a model can act on', async () => {
  async function failingManager(commit: StorageAdapter['commit']) {
    const base = memoryAdapter();
    const setup = await managerWithInstance({ adapter: base });
    const plan = ok(await setup.manager.handle({ action: 'create', title: 'T', steps: [{ title: 'S', type: 'review' }] }, { instance_id: setup.instanceId })).plan;
    return { tool: instancePlanTool(newManager({ adapter: { ...base, commit } })), plan };
  }
  const { manager, instanceId } = await managerWithInstance();
  const tool = instancePlanTool(manager, { instance_id: instanceId });
  const { plan } = ok(await tool.execute({ action: 'create', title: 'Two steps', steps: [{ title: 'First', type: 'process' }, { title: 'Second', type: 'review' }] }));
  const cancelled = ok(await tool.execute({ action: 'create', title: 'Dropped', steps: [{ title: 'Only', type: 'process' }] })).plan;
  await tool.execute({ action: 'update', plan_id: cancelled.id, status: 'cancelled' });

  const cases: [string, () => Promise<ToolResult>, (error: Record<string, unknown>) => void][] = [
    ['VALIDATION_ERROR', () => tool.execute({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'done' }), (error) => {
      expect(error.issues).toEqual([{ path: 'step_status', message: expect.stringContaining('"completed"') }]);
    }],
    ['NOT_FOUND', () => tool.execute({ action: 'update', plan_id: 'nope', title: 'X' }), (error) => {
      expect(error.message).toContain('use action "list"');
    }],
    ['STEP_ORDER', () => tool.execute({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' }), (error) => {
      expect(error.blocking_step).toMatchObject({ id: plan.steps[0]!.id, title: 'First' });
      expect(error.message).toContain('Complete that step first');
    }],
    ['INVALID_TRANSITION', () => tool.execute({ action: 'update', plan_id: plan.id, status: 'completed', summary: 'Done' }), (error) => {
      expect(error.allowed).toEqual(expect.arrayContaining(['in_progress', 'cancelled']));
      expect(error.message).toMatch(/allowed from "pending"/);
    }],
    ['PLAN_CLOSED', () => tool.execute({ action: 'execute_step', plan_id: cancelled.id, step_id: cancelled.steps[0]!.id, step_status: 'in_progress' }), (error) => {
      expect(error.allowed_in).toEqual(['pending', 'in_progress']);
    }],
    ['CONFLICT', async () => {
      const { tool: racing, plan: p } = await failingManager(async ({ writes }) => {
        throw conflictError(writes[0]!.kind, writes[0]!.record.id, writes[0]!.expected_version, 99);
      });
      return racing.execute({ action: 'update', plan_id: p.id, title: 'Renamed' });
    }, (error) => {
      expect(error.message).toContain('retry');
    }],
    ['STORAGE_ERROR', async () => {
      const { tool: broken, plan: p } = await failingManager(async () => {
        throw new Error('disk full');
      });
      return broken.execute({ action: 'update', plan_id: p.id, title: 'Renamed' });
    }, (error) => {
      // The store's words stay with the operator (onError); the model hears the reason and what to do.
      expect(error.message).not.toContain('disk full');
      expect(error).toMatchObject({ reason: 'failed', may_have_landed: true });
      expect(error.message).toContain('Read the record again before you retry');
    }],
  ];
  test.each(cases)('%s says what was wrong and what to do next, in a short text', async (code, run, details) => {
    const result = await run();
    const error = refused(result);
    expect(error.code).toBe(code);
    details(error);
    const text = resultText(result);
    expect(JSON.parse(text)).toEqual(result);
    expect(text.length).toBeLessThan(700);
  });

  test('a success reads what to do next before the records', async () => {
    const result = await tool.execute({ action: 'list', status: 'pending' });
    expect(resultText(result).startsWith('{"success":true,"total":1,')).toBe(true);
    const created = await tool.execute({ action: 'create', title: 'Next', steps: [{ title: 'Go', type: 'process' }] });
    const read = JSON.parse(resultText(created)) as Record<string, unknown>;
    expect(Object.keys(read)).toEqual(['success', 'message', 'next_step', 'plan']);
    expect(read.message).toMatch(/^Execute step "[^"]+" \("Go", process\) with action "execute_step"\.$/);
  });
});
