import type { ToolDefinition } from './definition';
import { passThroughSchema, type PassThroughSchema } from './pass-through-schema';
import { resultText } from './result-text';

/** What LangChain's `tool(func, fields)` takes, as a pair to spread into it. */
export type LangChainToolArguments = [
  func: (input: Record<string, unknown>) => Promise<string>,
  fields: { name: string; description: string; schema: PassThroughSchema },
];

/**
 * The tool as LangChain's `tool()` (`@langchain/core/tools`) takes it, for LangChain's agents
 * (`createAgent`) and LangGraph's prebuilt ones: `tool(...langchainTool(planTool))`.
 *
 * LangChain checks a call against the tool's schema before the tool runs, and answers a mistake
 * with its own "did not match expected schema", which tells the model neither the field nor what
 * it accepts; so its schema lets every call through (`passThroughSchema`) while the model is
 * shown exactly the tool's `inputSchema`, and the manager answers in its own words.
 *
 * @example
 * import { tool } from '@langchain/core/tools';
 * import { createAgent } from 'langchain';
 * const agent = createAgent({ model, tools: [tool(...langchainTool(instancePlanTool(manager, { instance_id })))] });
 */
export function langchainTool(tool: ToolDefinition): LangChainToolArguments {
  return [async (input) => resultText(await tool.execute(input)), { name: tool.name, description: tool.description, schema: passThroughSchema(tool.inputSchema) }];
}
