import { InstancePlanError, type ErrorCode } from '../errors';
import type { ToolInput } from '../schemas/inputs';
import type { Plan, Step } from '../schemas/records';
import type { ManagerContext } from './context';
import { executeParsedStep } from './execute-step';
import { guidance, nextStep } from './next-step';
import { createParsedPlan, listPlans, updateParsedPlan } from './plans';
import { answerOf, fieldError, unexpectedFailure } from '../refusals';
import { parseInput } from './validate';
import { plainInput } from './plain-input';

/** The tool's answer to `create`, `update` and `execute_step`: the plan, the next step, and what to do. */
export interface PlanToolResult {
  success: true;
  plan: Plan;
  next_step: Step | null;
  message: string;
}

/** The tool's answer to `list`: one page of plans, newest first, and how many match in all. */
export interface ListToolResult {
  success: true;
  plans: Plan[];
  total: number;
}

/** A refusal: the code, a message a model can act on, and the details. */
export interface ToolFailure {
  success: false;
  error: { code: ErrorCode; message: string } & Record<string, unknown>;
}

/** The tool's actions, as its input schema names them. */
export type ToolAction = ToolInput['action'];

/** What the tool answers to a call of `action`: its success, or a refusal. */
export type ToolResultOf<A extends ToolAction> = (A extends 'list' ? ListToolResult : PlanToolResult) | ToolFailure;

/** What the Instance Plan tool answers: always JSON, never a throw. */
export type ToolResult = ToolResultOf<ToolAction>;

/** Where the tool runs: inside an instance's context, `instance_id` is filled in for the agent. */
export interface ToolContext {
  instance_id?: string;
}

/**
 * The Instance Plan tool: one JSON value in, one JSON value out. Every refusal is
 * `{ success: false, error: { code, message, ... } }` so a model can read it and correct itself.
 */
export async function handleTool(context: ManagerContext, given: unknown, tool: ToolContext = {}): Promise<ToolResult> {
  let input: unknown;
  try {
    // Read once, into plain data, before anything looks at it: hostile getters, Proxies and
    // huge sparse arrays are refused here, and nothing later reads the caller's objects again.
    input = plainInput(given, { maxArrayLength: Math.max(context.limits.maxSteps, context.limits.maxDetailsLength), maxDepth: 64 });
    const call = parseInput(context.schemas.tool, input, 'instance_plan call');
    switch (call.action) {
      case 'create': {
        const { action: _action, ...rest } = call;
        const plan = await createParsedPlan(context, { ...rest, instance_id: instanceIdFor(context, call.instance_id, tool) });
        return planResult(plan);
      }
      case 'list': {
        const { action: _action, ...rest } = call;
        const instanceId = tool.instance_id === undefined ? rest.instance_id : instanceIdFor(context, rest.instance_id, tool);
        return { success: true, ...(await listPlans(context, { ...rest, instance_id: instanceId })) };
      }
      case 'update': {
        const { action: _action, ...rest } = call;
        return planResult(await updateParsedPlan(context, rest));
      }
      case 'execute_step': {
        const { action: _action, ...rest } = call;
        return planResult(await executeParsedStep(context, rest));
      }
    }
  } catch (error) {
    const refusal = InstancePlanError.is(error) ? error : unexpectedFailure(error);
    // The operator hears the store's own words; the caller (a model) only the reason.
    if (refusal.code === 'STORAGE_ERROR') context.onError?.(refusal, { operation: 'handle', action: actionOf(input) });
    return { success: false, error: answerOf(refusal) };
  }
}

/** The action a call named, for the operator's report (undefined when it named none we know). */
function actionOf(input: unknown): string | undefined {
  try {
    const action = (input as { action?: unknown } | null)?.action;
    return typeof action === 'string' ? action.slice(0, 40) : undefined;
  } catch {
    return undefined;
  }
}

function planResult(plan: Plan): PlanToolResult {
  return { success: true, plan, next_step: nextStep(plan), message: guidance(plan) };
}

/** In an instance's context the agent may leave `instance_id` out; naming another instance is refused. */
function instanceIdFor(context: ManagerContext, given: string | undefined, tool: ToolContext): string {
  if (tool.instance_id === undefined) {
    if (given === undefined) throw fieldError(['instance_id'], 'is required (string): the tool is not running in an instance\'s context');
    return given;
  }
  if (given !== undefined && given !== tool.instance_id) {
    throw fieldError(['instance_id'], `must be ${JSON.stringify(tool.instance_id)} (or left out): the tool runs in that instance's context`);
  }
  // The context's id is the application's, not the model's, but is checked as any id is.
  return parseInput(context.schemas.id, tool.instance_id, 'instance id');
}

/** Any failure as the tool's error object; something unexpected still answers, as a storage fault. */
export function toolError(error: unknown): { code: ErrorCode; message: string } & Record<string, unknown> {
  return answerOf(InstancePlanError.is(error) ? error : unexpectedFailure(error));
}
