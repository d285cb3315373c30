import type { ToolDefinition } from './definition';
import { resultText } from './result-text';
import { freshSchema } from './json-schema';
import { strictTool } from './strict';

/** An object schema in OpenAI's strict mode, typed as the OpenAI Agents SDK's `tool()` takes it. */
export interface StrictObjectSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required: string[];
  additionalProperties: false;
  description?: string;
}

/** What the OpenAI Agents SDK's `tool()` takes for a strict function tool with a JSON Schema. */
export interface OpenAIAgentsToolOptions {
  name: string;
  description: string;
  parameters: StrictObjectSchema;
  strict: true;
  /** Runs a call (the SDK passes the parsed arguments); answers the text the model reads. Never throws. */
  execute(input: unknown): Promise<string>;
}

/**
 * The tool as the OpenAI Agents SDK (`@openai/agents`) takes it: pass the result to the SDK's
 * `tool()`. Strict mode, as the SDK defaults to: the model sends every parameter (null for the
 * ones its action does not take) and `details` as a JSON string, which `execute` maps back before
 * the manager validates; a refusal reaches the model in the manager's words. Each call makes a
 * fresh schema the SDK may annotate.
 *
 * @example
 * import { Agent, run, tool } from '@openai/agents';
 * const agent = new Agent({ name: 'planner', tools: [tool(openAIAgentsTool(instancePlanTool(manager, { instance_id })))] });
 */
export function openAIAgentsTool(tool: ToolDefinition): OpenAIAgentsToolOptions {
  const strict = strictTool(tool);
  return {
    name: tool.name,
    description: strict.description,
    parameters: freshSchema(strict.parameters) as unknown as StrictObjectSchema,
    strict: true,
    execute: async (input) => resultText(await strict.execute(input)),
  };
}
