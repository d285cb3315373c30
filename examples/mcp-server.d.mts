import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Instance, PlanManager } from '../src/index';

interface Created {
  server: McpServer;
  manager: PlanManager;
  /** The running instance the tool is bound to. */
  instance: Instance;
}

/** An MCP server with the Instance Plan tool registered (not yet connected). */
export function createMcpServer(options?: { manager?: PlanManager }): Promise<Created>;

/** Creates the server and connects it to `transport` (default: stdio). */
export function start(options?: { transport?: Transport }): Promise<Created>;
