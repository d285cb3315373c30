import type { ToolResult } from '../index';
import type { ToolDefinition } from './definition';
import { freshSchema, type JsonSchema } from './json-schema';
import { strictTool } from './strict';

/** A function tool of OpenAI's Responses API (`tools: [definition]`). */
export interface OpenAIResponsesTool {
  type: 'function';
  name: string;
  description: string;
  parameters: JsonSchema;
  strict: boolean;
}

/** A function tool of OpenAI's Chat Completions API. */
export interface OpenAIChatTool {
  type: 'function';
  function: { name: string; description: string; parameters: JsonSchema; strict: boolean };
}

export interface OpenAIToolOptions {
  /**
   * Strict mode (default true, as OpenAI recommends): the model's arguments always match the
   * schema. Optional parameters become nullable and `details` a JSON string; `execute` maps them back.
   */
  strict?: boolean;
}

export interface OpenAITool<D> {
  definition: D;
  /** Runs a call: `args` is the call's `arguments` (the JSON string OpenAI sends, or an object). Never throws. */
  execute(args: unknown): Promise<ToolResult>;
}

/**
 * The tool for OpenAI's Responses API.
 *
 * @example
 * const plan = openAITool(instancePlanTool(manager, { instance_id }));
 * const response = await openai.responses.create({ model, input, tools: [plan.definition] });
 * for (const call of response.output) if (call.type === 'function_call')
 *   output = resultText(await plan.execute(call.arguments));
 */
export function openAITool(tool: ToolDefinition, options: OpenAIToolOptions = {}): OpenAITool<OpenAIResponsesTool> {
  const { definition, execute } = openAIFunction(tool, options);
  return { definition: { type: 'function', ...definition }, execute };
}

/** The tool for OpenAI's Chat Completions API (`tools: [definition]`, `tool_calls[].function.arguments`). */
export function openAIChatTool(tool: ToolDefinition, options: OpenAIToolOptions = {}): OpenAITool<OpenAIChatTool> {
  const { definition, execute } = openAIFunction(tool, options);
  return { definition: { type: 'function', function: definition }, execute };
}

function openAIFunction(tool: ToolDefinition, { strict = true }: OpenAIToolOptions) {
  const variant = strict ? strictTool(tool) : { description: tool.description, parameters: tool.inputSchema, execute: tool.execute };
  return {
    definition: { name: tool.name, description: variant.description, parameters: freshSchema(variant.parameters), strict },
    execute: async (args: unknown): Promise<ToolResult> => {
      if (typeof args !== 'string') return variant.execute(args);
      let parsed: unknown;
      try {
        parsed = JSON.parse(args);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const message = `Invalid ${tool.name} call: the arguments are not valid JSON (${reason}). Send one JSON object.`;
        return { success: false, error: { code: 'VALIDATION_ERROR', message, issues: [{ path: '(input)', message: 'must be valid JSON' }] } };
      }
      return variant.execute(parsed);
    },
  };
}
