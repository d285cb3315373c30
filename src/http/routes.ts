import { HttpRefusal } from './refusal';
import { API_OPERATIONS, API_PREFIX, API_ROUTES } from './api';

export type ToolAction = 'create' | 'list' | 'update' | 'execute_step';

/** The routes: the Instance Plan tool's sub-routes (`get` is `list`) and the Transition Instance endpoint. */
const TOOL_ROUTES: Readonly<Record<string, ToolAction>> = Object.freeze({
  '/api/agents/tools/instance_plan/create': 'create',
  '/api/agents/tools/instance_plan/get': 'list',
  '/api/agents/tools/instance_plan/update': 'update',
  '/api/agents/tools/instance_plan/execute_step': 'execute_step',
});

const TRANSITION = /^\/agents\/instances\/([^/]+)\/transition$/;

/** The POST routes. */
export const ROUTES: readonly string[] = Object.freeze([...Object.keys(TOOL_ROUTES), '/agents/instances/{instance_id}/transition', ...API_ROUTES]);

/**
 * The GET routes, by their route's kind: the OpenAPI document (with the handler's `openapi`
 * option), the change stream (Server-Sent Events; with one PlanManager behind the handler), and
 * the inspector page (with the handler's `inspector` option).
 */
export const GET_PATHS = Object.freeze({ openapi: '/openapi.json', events: '/events', inspector: '/inspector' } as const);
export type GetKind = keyof typeof GET_PATHS;

/** The GET routes. */
export const GET_ROUTES: readonly string[] = Object.freeze(Object.values(GET_PATHS));

export type Route =
  | { kind: 'tool'; action: ToolAction }
  | { kind: 'transition'; instanceId: string }
  | { kind: 'api'; operation: (typeof API_OPERATIONS)[string] }
  | { [K in GetKind]: { kind: K } }[GetKind];

/** The route a path names, or undefined. The instance id is percent-decoded. */
export function matchRoute(pathname: string): Route | undefined {
  const action = Object.prototype.hasOwnProperty.call(TOOL_ROUTES, pathname) ? TOOL_ROUTES[pathname] : undefined;
  if (action) return { kind: 'tool', action };
  const get = (Object.keys(GET_PATHS) as GetKind[]).find((kind) => GET_PATHS[kind] === pathname);
  if (get) return { kind: get };
  const operationPath = pathname.startsWith(`${API_PREFIX}/`) ? pathname.slice(API_PREFIX.length) : undefined;
  if (operationPath !== undefined && Object.prototype.hasOwnProperty.call(API_OPERATIONS, operationPath)) {
    return { kind: 'api', operation: API_OPERATIONS[operationPath]! };
  }
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

/**
 * Refuses a request path (as sent, before any URL parsing) with dot segments ("." or "..", also
 * percent-encoded) or empty segments ("//"): a URL parser resolves them, so
 * "/agents/instances/%2e%2e/%2e%2e/api/.../get" would reach "/api/.../get" past any proxy rule
 * keyed on path prefixes. Such a path is refused (400), never routed elsewhere.
 */
export function rawPathRefusal(target: string): HttpRefusal | undefined {
  // The absolute form ("http://host/path", which a server must accept) is checked by its path.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) || '/' : target;
  const end = rest.search(/[?#]/);
  const path = end === -1 ? rest : rest.slice(0, end);
  if (path === '/') return undefined;
  const segments = path.split('/');
  const bad = !path.startsWith('/')
    ? 'does not start with "/"'
    : path.includes("\\")
      ? 'has a backslash (a URL parser reads it as "/")'
      : segments.slice(1).some((segment) => segment === '')
        ? 'has an empty segment ("//")'
        : segments.some((segment) => /^(\.|%2e){1,2}$/i.test(segment))
          ? 'has a "." or ".." segment'
          : undefined;
  if (bad === undefined) return undefined;
  return new HttpRefusal(400, 'VALIDATION_ERROR', `Invalid path: it ${bad}; send the endpoint's path as it is listed (POST ${ROUTES.join(', POST ')}).`, {
    issues: [{ path: '(path)', message: bad }],
  });
}
