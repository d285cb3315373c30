import { HttpRefusal } from './refusal';

export type ToolAction = 'create' | 'list' | 'update' | 'execute_step';

/** The routes: the Instance Plan tool's sub-routes (`get` is `list`) and the Transition Instance endpoint. */
const TOOL_ROUTES: Readonly<Record<string, ToolAction>> = Object.freeze({
  '/api/agents/tools/instance_plan/create': 'create',
  '/api/agents/tools/instance_plan/get': 'list',
  '/api/agents/tools/instance_plan/update': 'update',
  '/api/agents/tools/instance_plan/execute_step': 'execute_step',
});

const TRANSITION = /^\/agents\/instances\/([^/]+)\/transition$/;

export const ROUTES: readonly string[] = Object.freeze([...Object.keys(TOOL_ROUTES), '/agents/instances/{instance_id}/transition']);

export type Route = { kind: 'tool'; action: ToolAction } | { kind: 'transition'; instanceId: string };

/** The route a path names, or undefined. The instance id is percent-decoded. */
export function matchRoute(pathname: string): Route | undefined {
  const action = Object.prototype.hasOwnProperty.call(TOOL_ROUTES, pathname) ? TOOL_ROUTES[pathname] : undefined;
  if (action) return { kind: 'tool', action };
  const transition = TRANSITION.exec(pathname);
  if (!transition) return undefined;
  try {
    return { kind: 'transition', instanceId: decodeURIComponent(transition[1]!) };
  } catch {
    throw new HttpRefusal(400, 'VALIDATION_ERROR', 'Invalid path: instance_id is not valid percent-encoding.', {
      issues: [{ path: 'instance_id', message: 'is not valid percent-encoding' }],
    });
  }
}
