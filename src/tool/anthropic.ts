import type { ToolResult } from '../index';
import type { ToolDefinition } from './definition';
import { freshSchema } from './json-schema';
import { resultText } from './result-text';

/** A tool's input schema as Anthropic's Messages API types it (`Tool.InputSchema`): an object at the root. */
export interface AnthropicInputSchema {
  type: 'object';
  // `any`: each SDK types a property's schema its own way (the Messages API's `unknown`,
  // `betaTool`'s json-schema-to-ts `JSONSchema`); these are plain JSON Schemas, which fit both.
  properties?: Record<string, any>;
  required?: string[];
  [keyword: string]: unknown;
}

/** A client tool of Anthropic's Messages API (`tools: [definition]`, assignable to the SDK's `Tool`). */
export interface AnthropicToolDefinition {
  name: string;
  description: string;
  input_schema: AnthropicInputSchema;
}

/** What the SDK's `betaTool()` takes (`@anthropic-ai/sdk/helpers/beta/json-schema`), for `client.beta.messages.toolRunner`. */
export interface AnthropicToolRunnerOptions {
  name: string;
  description: string;
  inputSchema: AnthropicInputSchema;
  /** Runs a call; answers the text the model reads (a refusal in the manager's words). Never throws. */
  run(input: unknown): Promise<string>;
}

/**
 * The tool for Anthropic's Messages API: `definition` for a loop of your own, `toolRunner` for
 * the SDK's own loop (`betaTool(plan.toolRunner)`). The schema has an object at its root:
 * Anthropic refuses `oneOf`/`anyOf`/`allOf` there. Each holds a fresh copy of the schema.
 *
 * @example
 * const plan = anthropicTool(instancePlanTool(manager, { instance_id }));
 * const message = await anthropic.messages.create({ model, max_tokens, messages, tools: [plan.definition] });
 * for (const block of message.content) if (block.type === 'tool_use')
 *   content.push({ type: 'tool_result', tool_use_id: block.id, content: resultText(await plan.execute(block.input)) });
 * // or the SDK's own loop:
 * const runner = anthropic.beta.messages.toolRunner({ model, max_tokens, messages, tools: [betaTool(plan.toolRunner)] });
 */
export function anthropicTool(tool: ToolDefinition): {
  definition: AnthropicToolDefinition;
  execute(input: unknown): Promise<ToolResult>;
  toolRunner: AnthropicToolRunnerOptions;
} {
  return {
    definition: { name: tool.name, description: tool.description, input_schema: freshSchema(tool.inputSchema) as AnthropicInputSchema },
    execute: (input) => tool.execute(input),
    toolRunner: {
      name: tool.name,
      description: tool.description,
      inputSchema: freshSchema(tool.inputSchema) as AnthropicInputSchema,
      run: async (input) => resultText(await tool.execute(input)),
    },
  };
}
