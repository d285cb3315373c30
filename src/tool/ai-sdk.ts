import type { ToolResult } from '../index';
import type { ToolDefinition } from './definition';
import { freshSchema, type JsonSchema } from './json-schema';
import { strictTool } from './strict';

export interface AiSdkToolOptions<S> {
  /**
   * The AI SDK's `jsonSchema` helper (`import { jsonSchema } from 'ai'`). Passed in so that this
   * package does not depend on `ai`; typed loosely so that the SDK's own signature fits.
   */
  jsonSchema: (schema: never) => S;
  /** Use the OpenAI strict-mode schema (nullable optionals); `execute` maps nulls back. Default false. */
  strict?: boolean;
}

/**
 * The tool as the Vercel AI SDK (v5 and later) takes it: pass the result to `tool()` or put it
 * straight into `tools: { instance_plan: ... }`. The AI SDK 4 called `inputSchema` `parameters`.
 *
 * @example
 * import { generateText, jsonSchema, tool } from 'ai';
 * const tools = { instance_plan: tool(aiSdkTool(instancePlanTool(manager, { instance_id }), { jsonSchema })) };
 */
export function aiSdkTool<S>(
  tool: ToolDefinition,
  options: AiSdkToolOptions<S>,
): { description: string; inputSchema: S; execute(input: unknown): Promise<ToolResult> } {
  const variant = options.strict ? strictTool(tool) : { description: tool.description, parameters: tool.inputSchema, execute: tool.execute };
  const toSchema = options.jsonSchema as unknown as (schema: JsonSchema) => S;
  return {
    description: variant.description,
    inputSchema: toSchema(freshSchema(variant.parameters)),
    execute: (input) => variant.execute(input),
  };
}
