// handle() answers every input, never throws, never crashes, and changes nothing when it refuses:
// getters and Proxies that throw (Errors, strings, null-prototype objects, errors whose own
// getters throw), huge sparse arrays, cyclic objects, values JSON has no form for, and getters
// that answer differently on a second read. A property test puts each class anywhere in a call.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type ToolResult } from '../src';
import { aiSdkTool, anthropicTool, instancePlanTool, mcpToolResult, openAIChatTool, openAITool, registerMcpTool, strictTool } from '../src/tool';
import { snapshotStore } from './support/core-fixtures';

const throwers: (() => unknown)[] = [
  () => new Error('boom'),
  () => 'a string',
  () => undefined,
  () => Object.create(null),
  () => {
    const error = new Error('x');
    Object.defineProperty(error, 'message', { get() { throw Object.create(null); } });
    Object.defineProperty(error, 'name', { get() { throw new Error('name'); } });
    return error;
  },
];

/**
 * One hostile value of each class, as a function that makes it fresh (some keep state; and
 * fast-check itself must never touch one: it would trip on it).
 */
const hostile: fc.Arbitrary<() => unknown> = fc.oneof(
  fc.constantFrom(...throwers).map((make) => () => Object.defineProperty({}, 'x', { get() { throw make(); }, enumerable: true })),
  fc.constantFrom(...throwers).map((make) => () => new Proxy({}, { ownKeys() { throw make(); } })),
  fc.constantFrom(...throwers).map((make) => () => new Proxy({ a: 1 }, { get() { throw make(); } })),
  fc.constant(() => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  }),
  fc.integer({ min: 100_000, max: 2 ** 32 - 1 }).map((length) => () => new Array(length)),
  fc.constant(() => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    return cyclic;
  }),
  fc.constantFrom<() => unknown>(() => () => 1, () => Symbol('s'), () => 10n),
  fc.constant(() => {
    let reads = 0;
    // Short the first time, long after: a check that reads twice would be fooled.
    return Object.defineProperty({}, 'title', { get: () => (reads++ === 0 ? 'ok' : 'x'.repeat(10_000)), enumerable: true });
  }),
);

/** Where in a valid create call the hostile value goes. */
const places = ['', 'steps', 'steps.0', 'steps.0.details', 'steps.0.details.deep', 'title', 'action'] as const;

function callWith(place: (typeof places)[number], value: unknown): unknown {
  if (place === '') return value;
  const call: Record<string, unknown> = { action: 'create', instance_id: 'instance-1', title: 'Plan', steps: [{ title: 'Step', type: 'process', details: {} }] };
  const path = place.split('.');
  let at: Record<string, unknown> = call;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path.at(-1)!] = value;
  return call;
}

describe('handle() and hostile input', () => {
  it('answers every input without throwing, refuses what it cannot read, and changes nothing then', async () => {
    const adapter = memoryAdapter();
    const manager = new PlanManager({ adapter });
    await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'a' });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...places), hostile, async (place, make) => {
        const before = await snapshotStore(adapter);
        const answer = await manager.handle(callWith(place, make()));
        expect(typeof answer.success).toBe('boolean');
        // The answer is JSON, and small: nothing of a huge input is echoed back.
        expect(JSON.stringify(answer).length).toBeLessThan(4_000);
        if (!answer.success) expect(await snapshotStore(adapter)).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('a getter that answers differently on a second read is read once: the short title is the one checked and stored', async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'a' });
    let reads = 0;
    const call = Object.defineProperty({ action: 'create', instance_id: instance.id, steps: [] }, 'title', { get: () => (reads++ === 0 ? 'ok' : 'x'.repeat(10_000)), enumerable: true });
    const answer = await manager.handle(call);
    expect(answer.success).toBe(true);
    expect(reads).toBe(1);
    if (answer.success && 'plan' in answer) expect(answer.plan.title).toBe('ok');
  });

  it('names what could not be read', async () => {
    const manager = new PlanManager();
    const answer = await manager.handle({ action: 'create', instance_id: 'i', title: 't', steps: [{ title: 's', type: 'process', details: { a: new Array(1e9) } }] });
    expect(answer).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', issues: [{ path: 'steps[0].details.a', message: 'has 1000000000 elements; at most 20000 are accepted' }] } });
    const thrown = await manager.handle(Object.defineProperty({}, 'action', { get() { throw Object.create(null); }, enumerable: true }));
    expect(thrown).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', issues: [{ path: 'action', message: 'could not be read: reading it threw' }] } });
  });
});

describe('every framework wrapper answers hostile input as handle() does', () => {
  it('a refusal, never a throw, and nothing changed: the strict form, OpenAI, Anthropic, the AI SDK and MCP', async () => {
    const adapter = memoryAdapter();
    const manager = new PlanManager({ adapter });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'a' });
    const tool = instancePlanTool(manager, { instance_id: instance.id });
    let mcpCallback: ((args: unknown, extra: unknown) => Promise<{ structuredContent?: unknown }>) | undefined;
    registerMcpTool({ registerTool: (_name, _config, callback) => (mcpCallback = callback as never) }, tool);
    const wrappers: Record<string, (input: unknown) => Promise<unknown>> = {
      strictTool: (input) => strictTool(tool).execute(input),
      openAITool: (input) => openAITool(tool).execute(input),
      'openAITool (not strict)': (input) => openAITool(tool, { strict: false }).execute(input),
      openAIChatTool: (input) => openAIChatTool(tool).execute(input),
      anthropicTool: (input) => anthropicTool(tool).execute(input),
      aiSdkTool: (input) => aiSdkTool(tool, { jsonSchema: (schema) => schema }).execute(input),
      'aiSdkTool (strict)': (input) => aiSdkTool(tool, { jsonSchema: (schema) => schema, strict: true }).execute(input),
      registerMcpTool: async (input) => (await mcpCallback!(input, {})).structuredContent,
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(wrappers)), fc.constantFrom(...places), hostile, async (name, place, make) => {
        const before = await snapshotStore(adapter);
        const answer = (await wrappers[name]!(callWith(place, make()))) as ToolResult;
        expect(typeof answer.success).toBe('boolean');
        expect(JSON.stringify(answer).length).toBeLessThan(4_000);
        if (!answer.success) expect(await snapshotStore(adapter)).toEqual(before);
      }),
      { numRuns: 400 },
    );
    // The MCP answer carries the same refusal as text for clients that read only content.
    expect(mcpToolResult({ success: false, error: { code: 'VALIDATION_ERROR', message: 'm' } }).isError).toBe(true);
  });

  it('a sparse array of 2^32 − 1 steps in the strict form is refused by its length, not walked', async () => {
    const tool = strictTool(instancePlanTool(new PlanManager()));
    const answer = await tool.execute({ action: 'create', instance_id: 'i', title: 'T', steps: new Array(2 ** 32 - 1) });
    expect(answer).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', issues: [{ path: 'steps', message: 'has 4294967295 elements; at most 20000 are accepted' }] } });
  });
});
