// A refusal's size is bounded by the limits, not by the input: a call with 60,000 unknown keys,
// a key of 100,000 characters or 200 invalid steps is answered with a few kilobytes that still
// name what was wrong and what is accepted. In process (handle, the manager's methods), in the
// tool's strict form, and over HTTP.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, PlanManager } from '../src';
import { createFetchHandler, scopedManagers } from '../src/http';
import { LISTED_ISSUES } from '../src/refusals';
import { LISTED_KEYS } from '../src/schemas/issues';
import { instancePlanTool, strictTool } from '../src/tool';

/** What one refusal costs a caller to receive: its JSON. */
const sizeOf = (value: unknown) => JSON.stringify(value).length;
/** Generous, and independent of the input: 20 issues of a few hundred characters each. */
const BOUND = 16_000;

const manyKeys = (count: number, length = 8) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${String(i).padStart(length, '0')}`, 1]));

async function refusalOf(run: () => Promise<unknown>): Promise<InstancePlanError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof InstancePlanError) return error;
    throw error;
  }
  return expect.fail('expected a refusal');
}

describe('a refusal names a bounded number of things', () => {
  it('15,000 unknown keys: ten are named, the rest counted, the accepted keys listed', async () => {
    const manager = new PlanManager();
    const result = await manager.handle({ action: 'list', ...manyKeys(15_000) });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(sizeOf(result)).toBeLessThan(2_000);
    const issue = (result.error.issues as { path: string; message: string }[])[0]!;
    expect(issue.path).toBe('(input)');
    expect(issue.message).toMatch(/^unknown keys: "k00000000", "k00000001", .*"k00000009" and 14990 more \(accepted: action, /);
    expect(issue.message.match(/"k\d+"/g)).toHaveLength(LISTED_KEYS);
    expect(result.error.message).toContain('and 14990 more');
  });

  it('a key of 100,000 characters is shown cut at 64, never inside a surrogate pair', async () => {
    const manager = new PlanManager();
    const long = 'x'.repeat(100_000);
    const error = await refusalOf(() => manager.createInstance({ organization_id: 'o', agent_type_id: 'a', [long]: 1 } as never));
    expect(sizeOf(error.toJSON())).toBeLessThan(2_000);
    expect(error.message).toContain(`unknown key: "${'x'.repeat(64)}…"`);
    // A pair straddling the cut is dropped whole rather than split into a lone surrogate.
    const paired = `${'y'.repeat(63)}😀${'y'.repeat(10)}`;
    const split = await refusalOf(() => manager.createInstance({ organization_id: 'o', agent_type_id: 'a', [paired]: 1 } as never));
    expect(split.message).toContain(`unknown key: "${'y'.repeat(63)}…"`);
    expect(split.message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    // Every high surrogate, the first (U+10000) and the last (U+10FFFF) too; a pair that ends at
    // the cut is kept whole.
    for (const pair of ['\u{10000}', '\u{10FFFF}']) {
      const edge = await refusalOf(() => manager.createInstance({ organization_id: 'o', agent_type_id: 'a', [`${'z'.repeat(63)}${pair}z`]: 1 } as never));
      expect(edge.message).toContain(`unknown key: "${'z'.repeat(63)}…"`);
    }
    const whole = await refusalOf(() => manager.createInstance({ organization_id: 'o', agent_type_id: 'a', [`${'w'.repeat(62)}😀www`]: 1 } as never));
    expect(whole.message).toContain(`unknown key: "${'w'.repeat(62)}😀…"`);
  });

  it(`200 invalid steps: the message names five, the details ${LISTED_ISSUES} and how many there were`, async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'o', agent_type_id: 'a' });
    // Three issues a step: the title's type, the missing type, the unknown key.
    const steps = Array.from({ length: 200 }, () => ({ title: 5, extra: 'x'.repeat(1000) }));
    const error = await refusalOf(() => manager.createPlan({ instance_id: instance.id, title: 'T', steps } as never));
    const details = error.details as { issues: { path: string }[]; issue_count: number };
    expect(details.issues).toHaveLength(LISTED_ISSUES);
    expect(details.issue_count).toBe(600);
    expect(details.issues.slice(0, 4).map((issue) => issue.path)).toEqual(['steps[0].title', 'steps[0].type', 'steps[0]', 'steps[1].title']);
    expect(error.message).toMatch(/; and 595 more$/);
    expect(sizeOf(error.toJSON())).toBeLessThan(BOUND);
    // Twenty issues or fewer: the details list them all, with no count beside them.
    const few = await refusalOf(() => manager.createPlan({ instance_id: instance.id, title: 'T', steps: steps.slice(0, 6) } as never));
    expect((few.details as { issues: unknown[] }).issues).toHaveLength(18);
    expect(few.details).not.toHaveProperty('issue_count');
    const exactly = Array.from({ length: LISTED_ISSUES }, () => ({ title: 5, type: 'process' }));
    const full = await refusalOf(() => manager.createPlan({ instance_id: instance.id, title: 'T', steps: exactly } as never));
    expect((full.details as { issues: unknown[] }).issues).toHaveLength(LISTED_ISSUES);
    expect(full.details).not.toHaveProperty('issue_count');
  });

  it('the strict tool form names every listed issue in its message, and no more than the details hold', async () => {
    const tool = strictTool(instancePlanTool(new PlanManager()));
    const steps = Array.from({ length: 200 }, (_, i) => ({ title: `s${i}`, description: null, details: 'not JSON' }));
    const result = await tool.execute({ action: 'create', instance_id: 'i', title: 'T', steps });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(sizeOf(result)).toBeLessThan(BOUND);
    const details = result.error as unknown as { issues: { path: string }[]; issue_count: number; message: string };
    expect(details.issues).toHaveLength(LISTED_ISSUES);
    expect(details.issue_count).toBe(200);
    expect(details.message.match(/steps\[\d+\]\.details must be a JSON object/g)).toHaveLength(LISTED_ISSUES);
    expect(details.message).toMatch(/; and 180 more$/);
  });

  it('any number of unknown keys of any length, anywhere in a call: the answer stays under the bound', async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'o', agent_type_id: 'a' });
    const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 3_000 }), fc.constant(1), { minKeys: 1, maxKeys: 400 });
    await fc.assert(
      fc.asyncProperty(extra, fc.array(extra, { minLength: 1, maxLength: 30 }), async (top, perStep) => {
        const steps = perStep.map((keys, i) => ({ ...keys, title: `s${i}` }));
        const result = await manager.handle({ action: 'create', instance_id: instance.id, title: 'T', steps, ...top } as never);
        expect(result.success).toBe(false);
        expect(sizeOf(result)).toBeLessThan(BOUND);
      }),
      { numRuns: 60 },
    );
  });
});

describe('over HTTP', () => {
  const handlerWith = (options: { maxKeys?: number }) => {
    const handler = createFetchHandler(scopedManagers({ adapter: memoryAdapter() }), { authenticate: () => ({ organization_id: 'acme' }), ...options });
    return (path: string, body: string) =>
      handler(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body }));
  };

  it('a body of more keys in one object than maxKeys (1,000) is refused before it is parsed, naming the limit, in under 2 KB', async () => {
    const post = handlerWith({});
    for (const path of ['/api/agents/tools/instance_plan/get', '/api/instance-plan/instances/answer']) {
      for (const count of [1_001, 60_000]) {
        const response = await post(path, JSON.stringify(manyKeys(count)));
        const text = await response.text();
        expect([response.status, text.length < 2_000]).toEqual([400, true]);
        const said = 'has an object of more than 1000 keys (the maxKeys limit)';
        expect(JSON.parse(text)).toEqual({ success: false, error: { code: 'VALIDATION_ERROR', message: `Invalid request body: ${said}`, issues: [{ path: '(body)', message: said }], limit: 1_000 } });
      }
      // Deeper in the body too; 1,000 keys are let through to the manager, which names the unknown ones.
      const deep = await post(path, JSON.stringify({ instance_id: 'i', text: 't', x: { y: manyKeys(1_001) } }));
      expect(await deep.json()).toMatchObject({ error: { limit: 1_000 } });
      const thousand = await (await post(path, JSON.stringify(manyKeys(1_000)))).text();
      expect([thousand.length < 2_000, thousand.includes('and 990 more')]).toEqual([true, true]);
    }
  });

  it('stops reading a body at the chunk where an object passes maxKeys: the rest is never pulled', async () => {
    const handler = createFetchHandler(scopedManagers({ adapter: memoryAdapter() }), { authenticate: () => ({ organization_id: 'acme' }) });
    const chunk = new TextEncoder().encode(',"k":0'.repeat(500));
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(pulled === 1 ? new TextEncoder().encode('{"k":0') : pulled <= 100 ? chunk : new TextEncoder().encode('}'));
        if (pulled > 100) controller.close();
      },
    });
    const response = await handler(new Request('http://localhost/api/agents/tools/instance_plan/get', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body, duplex: 'half' } as RequestInit));
    expect([response.status, (await response.json()).error.limit]).toEqual([400, 1_000]);
    // The 1,001st key is in the third chunk; a stream may pull one or two ahead of its reader.
    expect(pulled).toBeLessThanOrEqual(5);
  });

  it('with maxKeys raised, a body of 15,000 unknown keys is still answered with under 2 KB, on the tool routes and the API routes alike', async () => {
    const post = handlerWith({ maxKeys: 100_000 });
    for (const path of ['/api/agents/tools/instance_plan/get', '/api/instance-plan/instances/answer']) {
      const response = await post(path, JSON.stringify(manyKeys(15_000)));
      const text = await response.text();
      expect([response.status, text.length < 2_000]).toEqual([400, true]);
      expect(text).toContain('and 14990 more');
      // Past the count of keys one object may have, the answer names that limit: as short.
      const many = await post(path, JSON.stringify(manyKeys(60_000)));
      const said = await many.text();
      expect([many.status, said.length < 2_000]).toEqual([400, true]);
      expect(said).toMatch(/at most 20000 are accepted|and 59990 more/);
    }
  });
});
