// Input validation and how refusals are worded. describeIssues (public) turns any zod issue into a
// sentence naming the field and what it accepts, for the user's own schemas too; the input schemas
// word each refusal; every manager method's VALIDATION_ERROR names the refused fields and starts by
// naming the input; and the adapter input checks (checkBatch, checkListQuery) say what each
// malformed part must be. Every expected message is one of the forms docs/tool.md lists in
// "How refusals are worded".
import * as z from 'zod/mini';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, InstancePlanError, memoryAdapter, PlanManager } from '../src';
import { checkBatch } from '../src/adapter';
import { createInputSchemas, describeIssues } from '../src/tool';
import { LIST_MAX_LIMIT } from '../src/schemas/limits';
import { createBatch, planRecord } from '../src/testing/conformance/fixtures';
import { expectRejection } from './support/core-fixtures';
import { managerOn } from './support/manager-doubles';

/** The described issues of parsing `input` with `schema` (which must refuse it). */
function described(schema: z.ZodMiniType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) expect.fail(`expected ${JSON.stringify(input)} to be refused`);
  return describeIssues(result.error.issues, input);
}

describe('describeIssues names the field and what it accepts', () => {
  it('a missing field is required; a present one of the wrong type says what it got', () => {
    const schema = z.object({ name: z.string(), count: z.int(), tags: z.array(z.string()), meta: z.object({}), flag: z.boolean() });
    expect(described(schema, { count: 1, tags: [], meta: {}, flag: true })).toEqual([{ path: 'name', message: 'is required (string)' }]);
    const wrong = (value: unknown) => described(schema, { name: value, count: 1, tags: [], meta: {}, flag: true })[0]!.message;
    expect(wrong(null)).toBe('must be a string, got null');
    expect(wrong([1])).toBe('must be a string, got an array');
    expect(wrong(1.5)).toBe('must be a string, got a non-integer number');
    expect(wrong(3)).toBe('must be a string, got a number');
    expect(wrong({})).toBe('must be a string, got an object');
    expect(wrong(true)).toBe('must be a string, got a boolean');
    const base = { name: 'n', count: 1, tags: [], meta: {}, flag: true };
    expect(described(schema, { ...base, count: 1.5 })).toEqual([{ path: 'count', message: 'must be an integer, got a non-integer number' }]);
    expect(described(schema, { ...base, tags: 'a' })).toEqual([{ path: 'tags', message: 'must be an array, got a string' }]);
    expect(described(schema, { ...base, meta: 1 })).toEqual([{ path: 'meta', message: 'must be an object, got a number' }]);
    expect(described(schema, { ...base, flag: 'yes' })).toEqual([{ path: 'flag', message: 'must be a boolean, got a string' }]);
  });

  it('a value inside something that is not an object counts as missing', () => {
    const schema = z.object({ outer: z.object({ inner: z.string() }) });
    // the issue is at "outer" (wrong type); a path through a primitive reads as undefined
    expect(describeIssues([{ code: 'invalid_type', expected: 'string', path: ['outer', 'inner'], message: 'Invalid input', input: undefined } as never], { outer: 'text' })).toEqual([
      { path: 'outer.inner', message: 'is required (string)' },
    ]);
    expect(describeIssues([{ code: 'invalid_type', expected: 'string', path: ['outer', 'inner'], message: 'Invalid input', input: undefined } as never], { outer: null })).toEqual([
      { path: 'outer.inner', message: 'is required (string)' },
    ]);
    // an inherited key is not a value of the input
    expect(describeIssues([{ code: 'invalid_type', expected: 'string', path: ['toString'], message: 'Invalid input', input: undefined } as never], {})).toEqual([
      { path: 'toString', message: 'is required (string)' },
    ]);
    expect(described(schema, { outer: {} })).toEqual([{ path: 'outer.inner', message: 'is required (string)' }]);
  });

  it('paths: dots between keys, brackets around indexes, "(input)" for the whole input', () => {
    const schema = z.object({ steps: z.array(z.object({ title: z.string() })) });
    expect(described(schema, { steps: [{ title: 'a' }, { title: 2 }] })).toEqual([{ path: 'steps[1].title', message: 'must be a string, got a number' }]);
    expect(described(z.array(z.array(z.string())), [['a'], [1]])).toEqual([{ path: '[1][0]', message: 'must be a string, got a number' }]);
    expect(described(z.string(), 5)).toEqual([{ path: '(input)', message: 'must be a string, got a number' }]);
  });

  it('enums, unknown keys, sizes, unions, formats, multiples, and anything else', () => {
    expect(described(z.enum(['a', 'b']), 'c')).toEqual([{ path: '(input)', message: 'must be one of: "a", "b"' }]);
    expect(described(z.strictObject({}), { x: 1 })).toEqual([{ path: '(input)', message: 'unknown key: "x"' }]);
    expect(described(z.strictObject({}), { x: 1, y: 2 })).toEqual([{ path: '(input)', message: 'unknown keys: "x", "y"' }]);
    expect(described(z.string().check(z.maxLength(3)), 'abcd')).toEqual([{ path: '(input)', message: 'must be at most 3 characters' }]);
    expect(described(z.array(z.string()).check(z.minLength(2)), ['a'])).toEqual([{ path: '(input)', message: 'must be at least 2 items' }]);
    // a bound of 1 is singular: "1 item", "1 character"
    expect(described(z.set(z.string()).check(z.maxSize(1)), new Set(['a', 'b']))).toEqual([{ path: '(input)', message: 'must be at most 1 item' }]);
    expect(described(z.set(z.string()).check(z.minSize(2)), new Set(['a']))).toEqual([{ path: '(input)', message: 'must be at least 2 items' }]);
    expect(described(z.array(z.string()).check(z.maxLength(1)), ['a', 'b'])).toEqual([{ path: '(input)', message: 'must be at most 1 item' }]);
    expect(described(z.string().check(z.minLength(1)), '')).toEqual([{ path: '(input)', message: 'must be at least 1 character' }]);
    expect(described(z.number().check(z.maximum(3)), 4)).toEqual([{ path: '(input)', message: 'must be at most 3' }]);
    expect(described(z.number().check(z.minimum(3)), 2)).toEqual([{ path: '(input)', message: 'must be at least 3' }]);
    const tagged = z.discriminatedUnion('t', [z.object({ t: z.literal('a') }), z.object({ t: z.literal('b') })]);
    expect(described(tagged, { t: 'c' })).toEqual([{ path: 't', message: 'must be one of: "a", "b"' }]);
    expect(described(z.union([z.string(), z.number()]), true)).toEqual([{ path: '(input)', message: 'does not match any accepted form' }]);
    expect(described(z.string().check(z.email()), 'nope')).toEqual([{ path: '(input)', message: 'must match the format email' }]);
    expect(described(z.number().check(z.multipleOf(5)), 7)).toEqual([{ path: '(input)', message: 'must be a multiple of 5' }]);
    expect(described(z.string().check(z.refine(() => false)), 'x')).toEqual([{ path: '(input)', message: 'is not valid' }]);
  });

  it('a message the schema gives wins over ours', () => {
    expect(described(z.string().check(z.maxLength(3, 'is too long for a code')), 'abcd')).toEqual([{ path: '(input)', message: 'is too long for a code' }]);
  });
});

describe('the input schemas word each refusal', () => {
  // Built inside each test, so the run that measures coverage per test sees them being built.
  let schemas: ReturnType<typeof createInputSchemas>;
  beforeEach(() => {
    schemas = createInputSchemas(DEFAULT_LIMITS);
  });
  const issuesOf = (schema: z.ZodMiniType, input: unknown) => {
    const result = schema.safeParse(input);
    if (result.success) expect.fail(`expected ${JSON.stringify(input)} to be refused`);
    return describeIssues(result.error.issues, input);
  };

  it('blank ids and titles are empty; sizes and bounds name the bound', () => {
    expect(issuesOf(schemas.stepInput, { title: ' \n', type: 'process' })).toEqual([{ path: 'title', message: 'must not be empty' }]);
    expect(issuesOf(schemas.listPlans, { limit: 0 })).toEqual([{ path: 'limit', message: 'must be at least 1' }]);
    expect(issuesOf(schemas.listPlans, { limit: LIST_MAX_LIMIT + 1 })).toEqual([{ path: 'limit', message: `must be at most ${LIST_MAX_LIMIT}` }]);
    expect(issuesOf(schemas.listInstances, { offset: -1 })).toEqual([{ path: 'offset', message: 'must be at least 0' }]);
    expect(issuesOf(schemas.recordTurn, { tokens: -1 })).toEqual([{ path: 'tokens', message: 'must be at least 0' }]);
    expect(issuesOf(schemas.recordTurn, { tokens: 1.5 })).toEqual([{ path: 'tokens', message: 'must be an integer, got a non-integer number' }]);
    expect(issuesOf(schemas.updatePlan, { plan_id: 'p', summary: 'x'.repeat(DEFAULT_LIMITS.maxDescriptionLength + 1) })).toEqual([
      { path: 'summary', message: `must be at most ${DEFAULT_LIMITS.maxDescriptionLength} characters (the maxDescriptionLength limit)` },
    ]);
  });

  it('a new plan may only start pending, and says so', () => {
    const plan = { instance_id: 'i', title: 't', steps: [] };
    expect(schemas.createPlan.safeParse({ ...plan, status: 'pending' }).success).toBe(true);
    expect(issuesOf(schemas.createPlan, { ...plan, status: 'in_progress' })).toEqual([{ path: 'status', message: 'must be one of: "pending"' }]);
  });
});


describe('VALIDATION_ERROR names the fields that were refused', () => {
  const manager = managerOn();
  const cases: [method: string, call: () => Promise<unknown>, paths: string[]][] = [
    ['createInstance', () => manager.createInstance({} as never), ['agent_type_id']],
    ['getInstance', () => manager.getInstance(''), ['(input)']],
    ['listInstances', () => manager.listInstances({ limit: 0 }), ['limit']],
    ['transitionInstance (its id)', () => manager.transitionInstance('', { status: 'running' }), ['(input)']],
    ['transitionInstance (its status)', () => manager.transitionInstance('i', { status: 'flying' as never }), ['status']],
    ['recordTurn (its id)', () => manager.recordTurn('', { tokens: 1 }), ['(input)']],
    ['recordTurn (its tokens)', () => manager.recordTurn('i', { tokens: -1 }), ['tokens']],
    ['setCurrentStep (its id)', () => manager.setCurrentStep('', 'x'), ['(input)']],
    ['setCurrentStep (its text)', () => manager.setCurrentStep('i', ''), ['(input)']],
    ['createPlan', () => manager.createPlan({} as never), ['instance_id', 'title', 'steps']],
    ['getPlan', () => manager.getPlan(''), ['(input)']],
    ['listPlans', () => manager.listPlans({ offset: -1 }), ['offset']],
    ['updatePlan', () => manager.updatePlan({} as never), ['plan_id']],
    ['executeStep', () => manager.executeStep({} as never), ['plan_id', 'step_id', 'step_status']],
    ['history', () => manager.history(''), ['(input)']],
  ];
  it.each(cases)('%s', async (_, call, paths) => {
    const error = await expectRejection(call(), 'VALIDATION_ERROR');
    const issues = error.details.issues as { path: string; message: string }[];
    expect(issues.map((issue) => issue.path).sort()).toEqual([...paths].sort());
    for (const issue of issues) expect(error.message).toContain(`${issue.path} ${issue.message}`);
  });

  it('the message shows the first five issues and counts the rest; details keep them all', async () => {
    const seven = { instance_id: 1, title: 2, description: 3, plan_type: 4, status: 5, ordering: 6, steps: 7 };
    const error = await expectRejection(manager.createPlan(seven as never), 'VALIDATION_ERROR');
    const issues = error.details.issues as { path: string }[];
    expect(issues).toHaveLength(7);
    expect(error.message).toMatch(/; and 2 more$/);
    for (const issue of issues.slice(0, 5)) expect(error.message).toContain(`${issue.path} `);
    for (const issue of issues.slice(5)) expect(error.message).not.toContain(`${issue.path} `);
    const five = { instance_id: 1, title: 2, description: 3, plan_type: 4, steps: 7 };
    const fewer = await expectRejection(manager.createPlan(five as never), 'VALIDATION_ERROR');
    expect(fewer.details.issues).toHaveLength(5);
    expect(fewer.message).not.toMatch(/more$/);
  });

  it('names the accepted keys for unknown keys only', async () => {
    const wrongType = await expectRejection(manager.createPlan('not an object' as never), 'VALIDATION_ERROR');
    expect(wrongType.message).not.toContain('accepted');
    const unknownKey = await expectRejection(manager.createPlan({ instance_id: 'i', title: 't', steps: [], colour: 'red' } as never), 'VALIDATION_ERROR');
    expect(unknownKey.message).toMatch(/unknown key: "colour" \(accepted: instance_id, title,/);
  });
});

describe('every VALIDATION_ERROR message starts by naming the input', () => {
  it('a VALIDATION_ERROR message starts by naming the input that was refused (docs/tool.md)', async () => {
    const manager = new PlanManager();
    const lease = { id: 'i', instance_id: 'i', owner: 'w', token: 1, ttl_ms: 1, expires_at: 'x', created_at: 'x', updated_at: 'x', version: 1, extra: true };
    const cases: [string, () => Promise<unknown>][] = [
      ['Invalid createInstance input: ', () => manager.createInstance({ agent_type_id: '' })],
      ['Invalid instance id: ', () => manager.getInstance('')],
      ['Invalid instance id: ', () => manager.transitionInstance('', { status: 'running' })],
      ['Invalid transition input: ', () => manager.transitionInstance('i', { status: 'done' as never })],
      ['Invalid instance id: ', () => manager.recordTurn('', { tokens: 1 })],
      ['Invalid recordTurn input: ', () => manager.recordTurn('i', { tokens: -1 })],
      ['Invalid createPlan input: ', () => manager.createPlan({ instance_id: 'i', title: '', steps: [] })],
      ['Invalid plan id: ', () => manager.getPlan('')],
      ['Invalid updatePlan input: ', () => manager.updatePlan({ plan_id: '' })],
      ['Invalid executeStep input: ', () => manager.executeStep({ plan_id: 'p', step_id: 's', step_status: 'done' as never })],
      ['Invalid record id: ', () => manager.history('')],
      ['Invalid listInstances input: ', () => manager.listInstances({ limit: 0 })],
      ['Invalid listPlans input: ', () => manager.listPlans({ limit: 0 })],
      ['Invalid instance id: ', () => manager.setCurrentStep('', 'step')],
      ['Invalid current step: ', () => manager.setCurrentStep('i', ' ')],
      ['Invalid lease: ', () => manager.renewLease(lease as never, { ttl_ms: 1_000 })],
      ['Invalid lease: ', () => manager.releaseLease(lease as never)],
      ['Invalid lease: ', async () => manager.withLease(lease as never)],
    ];
    for (const [prefix, call] of cases) {
      const error = await call().then(
        () => expect.fail(`${prefix} expected a refusal`),
        (caught: unknown) => caught as InstancePlanError,
      );
      expect(error.code, prefix).toBe('VALIDATION_ERROR');
      expect(error.message.startsWith(prefix), `${error.message} starts with ${prefix}`).toBe(true);
    }
  });
});

describe('adapter input checks say what each malformed part must be', () => {
  it('checkBatch says what each malformed part must be', () => {
    const write = createBatch(['plan', planRecord({ id: 'plan-1' })]).writes[0]!;
    const refusal = (batch: unknown) => {
      try {
        checkBatch(batch as never);
      } catch (error) {
        return (error as TypeError).message;
      }
      return expect.fail('expected a TypeError');
    };
    const record = (changes: object) => ({ writes: [{ ...write, record: { ...write.record, ...changes } }], events: [] });
    expect(refusal({ writes: [7], events: [] })).toBe('commit: writes[0] must be an object');
    expect(refusal({ writes: [{ ...write, record: null }], events: [] })).toBe('commit: writes[0].record must be an object');
    expect(refusal(record({ id: 1 }))).toBe('commit: writes[0].record.id must be a string');
    expect(refusal(record({ created_at: 1 }))).toBe('commit: writes[0].record.created_at must be a string');
    expect(refusal(record({ version: '1' }))).toBe('commit: writes[0].record.version must be an integer');
    expect(refusal({ writes: [], events: [], checks: 'x' })).toBe('commit: checks must be an array');
    expect(refusal({ writes: [], events: [], checks: [null] })).toBe('commit: checks[0] must be an object');
    expect(refusal({ writes: [], events: [], checks: [{ kind: 'step', id: 'x', expected_version: null }] })).toBe('commit: checks[0].kind must be "instance", "plan" or "lease", got "step"');
    expect(refusal({ writes: [], events: [], checks: [{ kind: 'plan', id: 'x', expected_version: 0.5 }] })).toBe('commit: checks[0].expected_version must be an integer or null');
  });

  it('a list query that is not an object is refused by checkListQuery, saying what it must be', async () => {
    await expect(memoryAdapter().list('plan', null as never)).rejects.toThrow(new TypeError('list: the query must be an object { where, limit, offset }'));
  });
});
