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
  const handler = createFetchHandler(scopedManagers({ adapter: memoryAdapter() }), { authenticate: () => ({ organization_id: 'acme' }) });
  const post = (path: string, body: string) =>
    handler(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body }));

  it('a body of 15,000 unknown keys is answered with under 2 KB, on the tool routes and the API routes alike', async () => {
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
