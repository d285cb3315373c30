import type { ToolResult } from '../index';
import type { ToolDefinition } from './definition';
import { passThroughStandardSchema, type PassThroughStandardSchema } from './pass-through-schema';

/** What Mastra's `createTool()` (`@mastra/core/tools`) takes. */
export interface MastraToolOptions {
  id: string;
  description: string;
  inputSchema: PassThroughStandardSchema;
  /** Runs a call; answers the manager's result (a refusal is `{ success: false, error }`). Never throws. */
  execute(input: unknown): Promise<ToolResult>;
}

/**
 * The tool as Mastra's `createTool()` takes it: `createTool(mastraTool(planTool))`, for Mastra's
 * agents (`new Agent({ tools: { instance_plan } })`). Mastra validates a call against the tool's
 * schema before it runs and answers a mistake in its own words; the schema here is a Standard
 * Schema that lets every call through and shows the model exactly the tool's `inputSchema`, so
 * the manager answers mistakes (the field, what it accepts, what to do).
 *
 * @example
 * import { Agent } from '@mastra/core/agent';
 * import { createTool } from '@mastra/core/tools';
 * const agent = new Agent({ id: 'planner', name: 'planner', instructions, model, tools: { instance_plan: createTool(mastraTool(instancePlanTool(manager, { instance_id }))) } });
 */
export function mastraTool(tool: ToolDefinition): MastraToolOptions {
  return {
    id: tool.name,
    description: tool.description,
    inputSchema: passThroughStandardSchema(tool.inputSchema),
    execute: (input) => tool.execute(input),
  };
}
