import type { ToolResult } from '../index';
import type { ToolDefinition } from './definition';
import type { JsonSchema } from './json-schema';

/** A client tool of Anthropic's Messages API (`tools: [definition]`). */
export interface AnthropicToolDefinition {
  name: string;
  description: string;
  input_schema: JsonSchema;
}

/**
 * The tool for Anthropic's Messages API. The schema has an object at its root: Anthropic
 * refuses `oneOf`/`anyOf`/`allOf` there.
 *
 * @example
 * const plan = anthropicTool(instancePlanTool(manager, { instance_id }));
 * const message = await anthropic.messages.create({ model, max_tokens, messages, tools: [plan.definition] });
 * for (const block of message.content) if (block.type === 'tool_use')
 *   content.push({ type: 'tool_result', tool_use_id: block.id, content: resultText(await plan.execute(block.input)) });
 */
export function anthropicTool(tool: ToolDefinition): { definition: AnthropicToolDefinition; execute(input: unknown): Promise<ToolResult> } {
  return {
    definition: { name: tool.name, description: tool.description, input_schema: tool.inputSchema },
    execute: (input) => tool.execute(input),
  };
}
