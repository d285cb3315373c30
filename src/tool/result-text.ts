import type { ToolResult } from '../index';

/**
 * A tool result as the text a model reads (OpenAI `function_call_output`, Anthropic
 * `tool_result`, MCP text content): compact JSON, with what to do next first (`message`, or
 * the `error`), then the records.
 *
 * @example
 * input.push({ type: 'function_call_output', call_id, output: resultText(await plan.execute(args)) });
 */
export function resultText(result: ToolResult): string {
  if (!result.success) return JSON.stringify({ success: false, error: result.error });
  if ('plans' in result) return JSON.stringify({ success: true, total: result.total, plans: result.plans });
  return JSON.stringify({ success: true, message: result.message, next_step: result.next_step, plan: result.plan });
}
