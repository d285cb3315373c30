import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { createMcpServer } from '../examples/mcp-server.mjs';
import { builtPackageProblem } from './support/built-package';

// The example as a module, with a client in memory; and, when the package is built and up to
// date, as the program an MCP client starts: spawned over stdio by the SDK's StdioClientTransport.

/** What any client does with the server: list the tool, plan, run a step, read the plan back. */
async function useTheTool(client: Client) {
  const { tools } = await client.listTools();
  expect(tools.map((tool) => tool.name)).toEqual(['instance_plan']);
  expect(tools[0]!.inputSchema).toMatchObject({ type: 'object', required: ['action'] });
  const created = (await client.callTool({
    name: 'instance_plan',
    arguments: { action: 'create', title: 'Triage the bug', steps: [{ title: 'Reproduce', type: 'process' }, { title: 'Fix', type: 'tool_call' }] },
  })) as unknown as { structuredContent: { plan: { id: string; steps: { id: string }[] } }; isError: boolean };
  expect(created.isError).toBe(false);
  const { plan } = created.structuredContent;
  const skipped = (await client.callTool({ name: 'instance_plan', arguments: { action: 'execute_step', plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' } })) as unknown as {
    structuredContent: { error: { code: string } };
    isError: boolean;
  };
  expect(skipped.isError).toBe(true);
  expect(skipped.structuredContent.error.code).toBe('STEP_ORDER');
  const started = (await client.callTool({ name: 'instance_plan', arguments: { action: 'execute_step', plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' } })) as {
    isError: boolean;
    content: { text: string }[];
  };
  expect(started.isError).toBe(false);
  expect(JSON.parse(started.content[0]!.text).message).toContain('Finish step');
}

describe('examples/mcp-server.mjs, imported, with a client in memory', async () => {
  const { server, manager, instance } = await createMcpServer();
  const client = new Client({ name: 'examples-test', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  afterAll(() => client.close());

  test('the tool is bound to a running instance and works end to end', async () => {
    expect(instance.status).toBe('running');
    await useTheTool(client);
    expect((await manager.listPlans({ instance_id: instance.id })).total).toBe(1);
    expect((await manager.getInstance(instance.id)).current_step).toBe('Reproduce');
  });
});

const problem = builtPackageProblem();

describe(`node examples/mcp-server.mjs over stdio, as a client starts it${problem ? ` (not run: ${problem})` : ''}`, () => {
  test.skipIf(problem !== undefined)('answers a real client on stdin/stdout', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['examples/mcp-server.mjs'],
      cwd: fileURLToPath(new URL('../', import.meta.url)),
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const client = new Client({ name: 'examples-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      await useTheTool(client);
      expect(stderr).toMatch(/instance-plan MCP server ready; instance \S+ \(running\)/);
    } finally {
      await client.close(); // closes the transport, which ends the child it started
    }
  });
});
