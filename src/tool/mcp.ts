import type { ToolResult } from '../index';
import type { ToolDefinition } from './definition';
import { passThroughSchema } from './pass-through-schema';
import { resultText } from './result-text';

/** What a tool call answers in the Model Context Protocol (`CallToolResult`). */
export interface McpToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent: Record<string, unknown>;
  isError: boolean;
}

/**
 * The part of `McpServer` (from `@modelcontextprotocol/sdk/server/mcp.js`) this uses, written
 * out so that this package does not depend on the SDK.
 */
export interface McpServerLike {
  registerTool(
    name: string,
    config: { title?: string; description?: string; inputSchema?: any; annotations?: Record<string, unknown> },
    callback: (args: any, extra: any) => McpToolResult | Promise<McpToolResult>,
  ): unknown;
}

/**
 * Registers the tool on an MCP server (`McpServer` of `@modelcontextprotocol/sdk`). Returns
 * what `registerTool` returns (the SDK's `RegisteredTool`: `disable()`, `remove()`, ...).
 *
 * The SDK checks calls against the tool's zod schema before the callback runs, answering mistakes
 * with zod's bare "Invalid input"; so it gets `passThroughSchema`: clients list exactly the tool's
 * `inputSchema`, and the manager validates, with answers that name the field, what it accepts,
 * and what to do.
 *
 * @example
 * const server = new McpServer({ name: 'plans', version: '1.0.0' });
 * registerMcpTool(server, instancePlanTool(manager, { instance_id }));
 * await server.connect(new StdioServerTransport());
 */
export function registerMcpTool<S extends McpServerLike>(server: S, tool: ToolDefinition, options: { title?: string } = {}): ReturnType<S['registerTool']> {
  return server.registerTool(
    tool.name,
    {
      title: options.title ?? 'Instance Plan',
      description: tool.description,
      inputSchema: passThroughSchema(tool.inputSchema),
      // Plans and steps are only added and moved forward (never deleted); repeating a call is not
      // always a no-op (a second "create" is a second plan); everything stays in this store.
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    async (args: unknown) => mcpToolResult(await tool.execute(args)),
  ) as ReturnType<S['registerTool']>;
}

/** A tool result as an MCP `CallToolResult`: the text for the model, the object for clients, `isError` on refusals. */
export function mcpToolResult(result: ToolResult): McpToolResult {
  return {
    content: [{ type: 'text', text: resultText(result) }],
    structuredContent: result as unknown as Record<string, unknown>,
    isError: !result.success,
  };
}
