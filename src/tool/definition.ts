import type { Limits, PlanManager, ToolResult } from '../index';
import { toolDescription } from './description';
import { toolJsonSchemas, type JsonSchema } from './json-schema';

/** A tool as every model runtime describes one: a name, words for the model, a JSON Schema, and a function. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the input, with an object at the root (every provider accepts it). */
  inputSchema: JsonSchema;
  /** Runs the tool; never throws: refusals are `{ success: false, error }`. */
  execute(input: unknown): Promise<ToolResult>;
}

export interface InstancePlanTool extends ToolDefinition {
  name: 'instance_plan';
}

export interface InstancePlanToolOptions {
  /** Bind the tool to one instance: `create` and `list` fill `instance_id` themselves. */
  instance_id?: string;
}

/**
 * The Instance Plan tool for a model: `execute` is `manager.handle`, `inputSchema` is
 * generated from the zod schema the manager validates with (at the manager's limits). Hand it
 * to a provider with `openAITool`, `anthropicTool`, `registerMcpTool` or `aiSdkTool`.
 *
 * @example
 * const tool = instancePlanTool(manager, { instance_id: instance.id });
 * const result = await tool.execute({ action: 'list' });
 */
export function instancePlanTool(manager: PlanManager, options: InstancePlanToolOptions = {}): InstancePlanTool {
  const context = options.instance_id === undefined ? undefined : { instance_id: options.instance_id };
  return {
    name: 'instance_plan',
    description: toolDescription(options.instance_id),
    inputSchema: portableSchema(manager.limits),
    execute: (input) => manager.handle(input, context),
  };
}

// A manager's limits are one frozen object for its life: its schema is built once and shared,
// frozen so that no caller can change what the next one gets.
const schemas = new WeakMap<Readonly<Limits>, JsonSchema>();

function portableSchema(limits: Readonly<Limits>): JsonSchema {
  let schema = schemas.get(limits);
  if (!schema) {
    schema = deepFreeze(toolJsonSchemas(limits).portable);
    schemas.set(limits, schema);
  }
  return schema;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
