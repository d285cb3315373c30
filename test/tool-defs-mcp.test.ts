import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import Ajv2020 from 'ajv/dist/2020';
import { afterAll, describe, expect, test } from 'vitest';
import * as z from 'zod/mini';
import { PlanManager, type Plan, type ToolResult } from '../src';
import { instancePlanTool, registerMcpTool } from '../src/tool';

// A real MCP server (the SDK's McpServer) and a real client, connected in memory: what a
// client lists and what a call answers go through the SDK's own protocol code.

async function connect() {
  const manager = new PlanManager();
  const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'support' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  const tool = instancePlanTool(manager, { instance_id: instance.id });
  const server = new McpServer({ name: 'instance-plan-test', version: '1.0.0' });
  // Another tool beside ours: the registration must compose with the server's own tools.
  server.registerTool('echo', { description: 'Echo', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  const registered = registerMcpTool(server, tool);
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return { manager, instance, tool, server, client, registered };
}

type CallResult = { content: { type: string; text: string }[]; structuredContent?: ToolResult; isError?: boolean };

describe('registerMcpTool, through a real MCP client', async () => {
  const { manager, instance, tool, server, client, registered } = await connect();
  const call = async (args: Record<string, unknown>) => (await client.callTool({ name: 'instance_plan', arguments: args })) as CallResult;
  afterAll(() => client.close());

  test('the client lists the tool with the generated schema, title, description and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((listed) => listed.name).sort()).toEqual(['echo', 'instance_plan']);
    const listed = tools.find((candidate) => candidate.name === 'instance_plan')!;
    expect(listed.title).toBe('Instance Plan');
    expect(listed.description).toBe(tool.description);
    // Exactly the tool's schema (the SDK adds the dialect it writes, draft-07).
    const { $schema, ...schema } = listed.inputSchema as Record<string, unknown>;
    expect($schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema).toEqual(tool.inputSchema);
    expect(listed.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
  });

  test('a plan runs through tools/call; the answer is text for the model and structured content for the client', async () => {
    const created = await call({ action: 'create', title: 'Answer the ticket', steps: [{ title: 'Read it', type: 'review' }, { title: 'Reply', type: 'discussion' }] });
    expect(created.isError).toBe(false);
    expect(JSON.parse(created.content[0]!.text)).toEqual(created.structuredContent);
    const plan = (created.structuredContent as { plan: Plan }).plan;
    expect(plan.instance_id).toBe(instance.id);
    expect(await manager.getPlan(plan.id)).toEqual(plan);

    const started = await call({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    expect(started.isError).toBe(false);
    expect((await manager.getInstance(instance.id)).current_step).toBe('Read it');
    const listed = await call({ action: 'list' });
    expect(listed.structuredContent).toMatchObject({ success: true, total: 1, plans: [{ id: plan.id, status: 'in_progress' }] });
  });

  test('bad calls reach the manager and come back as isError with its explanation, not the SDK\'s validation error', async () => {
    // The SDK loads full zod, whose English messages then apply to zod/mini too (a global
    // setting): the wording of built-in checks may differ from a process without the SDK, so
    // these check the content (field, what it accepts), not the sentence.
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ action: 'delete' }, 'VALIDATION_ERROR', /action .*create.*list.*update.*execute_step/],
      [{ action: 'list', limit: 'ten' }, 'VALIDATION_ERROR', /limit .*number.*string/],
      [{ action: 'list', colour: 'red' }, 'VALIDATION_ERROR', /"colour".*\(accepted: action, instance_id/],
      [{ action: 'create', title: 'T', steps: [{ title: 'S', type: 'dance' }] }, 'VALIDATION_ERROR', /steps\[0\]\.type .*one of.*tool_call/],
      [{ action: 'update', plan_id: 'missing', title: 'X' }, 'NOT_FOUND', /use action "list"/],
      [{ action: 'create', instance_id: 'another', title: 'T', steps: [] }, 'VALIDATION_ERROR', /instance_id must be ".+" \(or left out\)/],
    ];
    for (const [args, code, message] of cases) {
      const answer = await call(args);
      expect(answer.isError, JSON.stringify(args)).toBe(true);
      const { error } = answer.structuredContent as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      expect(JSON.parse(answer.content[0]!.text)).toEqual(answer.structuredContent);
      expect(answer.content[0]!.text).not.toContain('Input validation error'); // the SDK's own refusal
    }
  });

  test('the listed schema, as a client sees it, validates sample calls', async () => {
    const { tools } = await client.listTools();
    const { $schema: _dialect, ...schema } = tools.find((candidate) => candidate.name === 'instance_plan')!.inputSchema as Record<string, unknown>;
    const validate = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(schema);
    expect(validate({ action: 'list', status: 'pending' })).toBe(true);
    expect(validate({ action: 'execute_step', plan_id: 'p', step_id: 's', step_status: 'completed', step_output: 'ok' })).toBe(true);
    expect(validate({ action: 'archive' })).toBe(false);
    expect(validate({ action: 'list', colour: 'red' })).toBe(false);
  });

  test('registerMcpTool returns the SDK\'s RegisteredTool: disabling the tool hides it from clients', async () => {
    // Typed as the SDK's own RegisteredTool, with no cast.
    const handle: RegisteredTool = registered;
    handle.disable();
    expect((await client.listTools()).tools.map((listed) => listed.name)).toEqual(['echo']);
    handle.enable();
    expect((await client.listTools()).tools.map((listed) => listed.name).sort()).toEqual(['echo', 'instance_plan']);
    expect(server.isConnected()).toBe(true);
  });
});
