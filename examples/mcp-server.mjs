// An MCP server over stdio offering the Instance Plan tool, bound to one running instance: an
// MCP client (Claude Desktop, an IDE, the SDK's Client) plans and records its work through it.
// Run it with `node examples/mcp-server.mjs` (after `npm run build`); a client's configuration:
//   { "command": "node", "args": ["examples/mcp-server.mjs"] }
// stdout carries the protocol, so everything else goes to stderr.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { pathToFileURL } from 'node:url';
import { memoryAdapter, PlanManager } from 'instance-plan';
import { instancePlanTool, registerMcpTool } from 'instance-plan/tool';

/** An MCP server with the tool registered, and the manager and instance behind it. */
export async function createMcpServer({ manager = new PlanManager({ adapter: memoryAdapter() }) } = {}) {
  const created = await manager.createInstance({ organization_id: 'local', agent_type_id: 'mcp-agent' });
  const instance = await manager.transitionInstance(created.id, { status: 'running' });
  const server = new McpServer({ name: 'instance-plan', version: '0.1.0' });
  registerMcpTool(server, instancePlanTool(manager, { instance_id: instance.id }));
  return { server, manager, instance };
}

/** Serves over `transport` (default: this process's stdin and stdout). */
export async function start({ transport = new StdioServerTransport() } = {}) {
  const created = await createMcpServer();
  await created.server.connect(transport);
  console.error(`instance-plan MCP server ready; instance ${created.instance.id} (${created.instance.status})`);
  return created;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await start();
}
