// instance-plan/tool: the Instance Plan tool for model runtimes and agent frameworks (OpenAI, the OpenAI
// Agents SDK, Anthropic, MCP, the Vercel AI SDK, LangChain and LangGraph, Mastra).

export { instancePlanTool, type InstancePlanTool, type InstancePlanToolOptions, type ToolDefinition } from './definition';
export { toolDescription } from './description';
export { toolJsonSchemas, type JsonSchema, type ToolJsonSchemas } from './json-schema';
export { PARAMETER_DESCRIPTIONS } from './parameters';
export { strictSchema, fromStrictArguments, strictTool, type StrictDecoding } from './strict';
export { resultText } from './result-text';
export { openAITool, openAIChatTool, type OpenAIChatTool, type OpenAIResponsesTool, type OpenAITool, type OpenAIToolOptions } from './openai';
export { openAIAgentsTool, type OpenAIAgentsToolOptions, type StrictObjectSchema } from './openai-agents';
export { anthropicTool, type AnthropicInputSchema, type AnthropicToolDefinition, type AnthropicToolRunnerOptions } from './anthropic';
export { registerMcpTool, mcpToolResult, type McpServerLike, type McpToolResult } from './mcp';
export { aiSdkTool, type AiSdkToolOptions } from './ai-sdk';
export { langchainTool, type LangChainToolArguments } from './langchain';
export { mastraTool, type MastraToolOptions } from './mastra';

// What the tool's answers are made of, for runtimes that build their own tool around the manager.
export { nextStep, guidance } from '../manager/next-step';
export { createInputSchemas, type InputSchemas } from '../schemas/inputs';
export { describeIssues, type InputIssue } from '../schemas/issues';
