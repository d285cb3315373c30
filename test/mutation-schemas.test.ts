// describeIssues is public (`instance-plan` exports it): it turns any zod issue into a sentence
// naming the field and what it accepts, for schemas of the user's own too. Mutation testing found
// the kinds of issue our own schemas never produce unchecked (docs/testing.md, "Mutation testing").
// Every expected message is one of the forms docs/tool.md lists in "How refusals are worded".
import * as z from 'zod/mini';
import { beforeEach, describe, expect, it } from 'vitest';
import { createInputSchemas, DEFAULT_LIMITS, describeIssues, LIST_MAX_LIMIT } from '../src';

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
