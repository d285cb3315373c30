import { InstancePlanError, type PlanManager, type Scope, type ToolResult, type TransitionInstanceInput } from '../index';
import { bearerToken, callerScope, rejectedToken } from './auth';
import { corsPolicy, type CorsOptions } from './cors';
import { ChangeLog, eventStream, type EventStreamOptions } from './events';
import { decodeJsonBody, parseJsonText, readJsonBody, type BodyLimits } from './body';
import { callerTurns } from './turns';
import { transitionInstanceView } from './instance-view';
import { managerFor, type ManagerSource } from './managers';
import { HttpRefusal, invalidBody, jsonResponse, positiveInteger, rawJsonResponse, refusalResponse } from './refusal';
import { answerOf } from '../refusals';
import { GET_PATHS, matchRoute, rawPathRefusal, ROUTES, type Route } from './routes';
import { STATUS_BY_CODE } from './status';
import { asWebRequest, web } from './web';

export interface FetchHandlerOptions {
  /**
   * Who is calling: the scope (organization, site, user) of the bearer token, or null when the
   * token is not accepted (401). Called only for requests with a well-formed
   * `Authorization: Bearer <token>`, before the body is read.
   */
  authenticate(request: Request, token: string): Scope | null | Promise<Scope | null>;
  /** Bytes of body accepted; larger bodies get 413 before any parsing. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Nesting of objects and arrays accepted in a body (the top level is 1); deeper gets 400. Default 32. */
  maxDepth?: number;
  /**
   * Keys accepted in one object of a body; more gets 400 before the body is parsed. Default 1,000
   * (no object of the API has more than 25 keys; a step's `details` within `maxDetailsLength`
   * rarely has more): a body of tens of thousands of keys would cost the parse, the checks and the
   * refusal of its unknown keys far more CPU than its size suggests.
   */
  maxKeys?: number;
  /**
   * Requests one caller (one bearer token) may have in flight at once; one more is answered 429
   * `TOO_MANY_REQUESTS` (with `Retry-After`) before its body is read, so that one key holder
   * cannot take the whole server from the others. Default 8.
   */
  maxRequestsPerCaller?: number;
  /**
   * Calls from browser pages of other origins (CORS): off by default, so a browser lets only pages
   * of the server's own origin read its answers. With it, preflights are answered (204, or 403
   * `ORIGIN_NOT_ALLOWED`) and answers to the allowed origins carry `Access-Control-Allow-Origin`.
   */
  cors?: CorsOptions;
  /**
   * Serves the OpenAPI document at `GET /openapi.json` (for the caller's manager's limits; a key is
   * needed as for every route): pass `openApiDocument` from `instance-plan/http/openapi`. Without
   * it that route is not served.
   */
  openapi?: (limits: PlanManager['limits']) => Record<string, unknown>;
  /**
   * Serves the inspector at `GET /inspector`: pass `inspectorPage` from `instance-plan/http/inspector`.
   * The page holds no data (it is answered without a key); it asks the browser's user for a key and
   * reads through the routes above with it, so `authenticate` decides what it shows.
   */
  inspector?: () => string;
  /**
   * The change stream at `GET /events` (Server-Sent Events), served when one PlanManager is behind
   * the handler: each caller hears the commits in its scope, and resumes with `Last-Event-ID`.
   */
  events?: EventStreamOptions & {
    /** Streams one caller (one bearer token) may have open at once; one more is answered 429. Default 4. */
    maxStreamsPerCaller?: number;
  };
  /** Hears faults that were answered with 500 `INTERNAL_ERROR` (a throwing `authenticate`, ...), for logging. */
  onError?(error: unknown): void;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 32;
export const DEFAULT_MAX_KEYS = 1_000;
const DEFAULT_MAX_REQUESTS_PER_CALLER = 8;
/** Bodies over this many bytes take turns, and are parsed, handled and answered in pieces (under it, all three take well under a millisecond). */
const LARGE_BODY_BYTES = 64 * 1024;

/**
 * The Instance Plan tool and the Transition Instance endpoint as a web-standard handler
 * (`Request` in, `Response` out), for Node (through `instance-plan/http/node`), Bun, Deno and
 * Workers. `managers` is one PlanManager, or a function from the caller's scope to one (see
 * `scopedManagers`). Every refusal is `{ success: false, error: { code, message, ... } }` with its status.
 *
 * @example
 * const handler = createFetchHandler(scopedManagers({ adapter }), {
 *   authenticate: (request, token) => keys.get(token) ?? null,
 * });
 * Bun.serve({ fetch: handler });
 */
export function createFetchHandler(managers: ManagerSource, options: FetchHandlerOptions): (request: Request) => Promise<Response> {
  const limits: BodyLimits = {
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES),
    maxDepth: positiveInteger('maxDepth', options.maxDepth ?? DEFAULT_MAX_DEPTH),
    maxKeys: positiveInteger('maxKeys', options.maxKeys ?? DEFAULT_MAX_KEYS),
  };
  if (typeof options.authenticate !== 'function') throw new TypeError('createFetchHandler needs options.authenticate(request, token)');
  const perCaller = positiveInteger('maxRequestsPerCaller', options.maxRequestsPerCaller ?? DEFAULT_MAX_REQUESTS_PER_CALLER);
  /** Requests in flight per token (a token with none is not kept). */
  const inFlight = new Map<string, number>();
  const turns = callerTurns();
  const cors = corsPolicy(options.cors);
  if (options.openapi !== undefined && typeof options.openapi !== 'function') throw new TypeError('openapi must be openApiDocument from instance-plan/http/openapi (a function of the limits)');
  // The GET routes served: the document when given, the stream when one manager serves everyone.
  const getRoutes = [...(options.openapi ? [GET_PATHS.openapi] : []), ...(typeof managers === 'function' ? [] : [GET_PATHS.events]), ...(options.inspector ? [GET_PATHS.inspector] : [])];
  if (options.inspector !== undefined && typeof options.inspector !== 'function') throw new TypeError('inspector must be inspectorPage from instance-plan/http/inspector');
  const events = {
    buffer: positiveInteger('events.buffer', options.events?.buffer ?? 1000),
    heartbeatMs: positiveInteger('events.heartbeatMs', options.events?.heartbeatMs ?? 15_000),
    maxPending: positiveInteger('events.maxPending', options.events?.maxPending ?? 1000),
  };
  const streamsPerCaller = positiveInteger('events.maxStreamsPerCaller', options.events?.maxStreamsPerCaller ?? 4);
  /** Streams open per token (a token with none is not kept). */
  const streams = new Map<string, number>();
  let log: ChangeLog | undefined;
  const stream = (manager: PlanManager, token: string, lastEventId: string | null) => {
    const open = streams.get(token) ?? 0;
    if (open >= streamsPerCaller) {
      throw new HttpRefusal(429, 'TOO_MANY_REQUESTS', `This API key has ${open} change streams open already (the events.maxStreamsPerCaller limit). Close one first.`, { limit: streamsPerCaller }, { 'retry-after': '5' });
    }
    // Kept from the first stream on, so that a client that reconnects finds what it missed.
    log ??= new ChangeLog(managers as PlanManager, events.buffer);
    streams.set(token, open + 1);
    const closed = () => {
      const left = streams.get(token)! - 1;
      if (left === 0) streams.delete(token);
      else streams.set(token, left);
    };
    try {
      return eventStream(log, manager, lastEventId, events, closed);
    } catch (error) {
      closed();
      throw error;
    }
  };
  // A manager's limits are one frozen object for its life: its document is made once.
  const documents = new WeakMap<object, string>();
  const openApiResponse = (limits: PlanManager['limits']) => {
    let text = documents.get(limits);
    if (text === undefined) documents.set(limits, (text = JSON.stringify(options.openapi!(limits))));
    return rawJsonResponse(200, text);
  };

  async function serve(request: Request): Promise<Response> {
    const incoming = asWebRequest(request);
    const route = routeOf(incoming.url, getRoutes);
    const method = route.kind in GET_PATHS ? 'GET' : 'POST';
    if (incoming.method !== method) {
      throw new HttpRefusal(405, 'METHOD_NOT_ALLOWED', `${incoming.method} is not allowed here: use ${method}.`, { allowed: [method] }, { allow: method });
    }
    // The page carries no data: the browser's user gives it a key, and it reads with that.
    if (route.kind === 'inspector') return pageResponse(options.inspector!());
    const token = bearerToken(incoming.headers.get('authorization'));
    const scope = await options.authenticate(request, token);
    if (scope === null || scope === undefined) throw rejectedToken();
    const manager = managerFor(managers, callerScope(scope));
    const held = inFlight.get(token) ?? 0;
    if (held >= perCaller) {
      throw new HttpRefusal(429, 'TOO_MANY_REQUESTS', `This API key has ${held} requests in flight already (the maxRequestsPerCaller limit); nothing was changed. Wait for one to be answered.`, { limit: perCaller }, { 'retry-after': '1' });
    }
    inFlight.set(token, held + 1);
    try {
      if (route.kind === 'openapi') return openApiResponse(manager.limits);
      if (route.kind === 'events') return stream(manager, token, incoming.headers.get('last-event-id'));
      const bytes = await readJsonBody(incoming, limits);
      // A large body is milliseconds of work to parse, check and answer: one such request of a
      // caller at a time, in pieces (decode, parse, the manager's call, the answer's text, its
      // bytes) with other callers' requests between them, so that a
      // caller with many ready cannot have them all run before another caller's small one. Small
      // requests (well under a millisecond of work) run as they come, waiting on the store side by side.
      const large = turns !== undefined && bytes.byteLength > LARGE_BODY_BYTES;
      if (!large) turns?.noteSmall();
      const turn = large ? await turns.take(token) : undefined;
      try {
        const pause = turn?.pause;
        const text = decodeJsonBody(bytes);
        await pause?.();
        const body = parseJsonText(text);
        await pause?.();
        if (route.kind === 'tool') return await callTool(manager, route.action, body, pause);
        if (route.kind === 'api') return await callApi(manager, route.operation, body, report, pause);
        return await transition(manager, route.instanceId, body, report, pause);
      } finally {
        turn?.end();
      }
    } finally {
      const left = inFlight.get(token)! - 1;
      if (left === 0) inFlight.delete(token);
      else inFlight.set(token, left);
    }
  }

  const report = (error: unknown) => {
    try {
      // An async hook's rejection is caught too: unhandled, it would end a Node process.
      const returned: unknown = options.onError?.(error);
      if (returned instanceof Promise) returned.catch(() => undefined);
    } catch {
      // A failing logger must not turn an answer into a crash.
    }
  };

  const answer = async (request: Request): Promise<Response> => {
    try {
      if (cors && asWebRequest(request).method === 'OPTIONS') return cors.preflight(asWebRequest(request).headers);
      return await serve(request);
    } catch (error) {
      if (error instanceof HttpRefusal) {
        if (error.code === 'INTERNAL_ERROR') report(error);
        return refusalResponse(error);
      }
      report(error);
      // The reason stays on the server (onError): a 500 tells the caller nothing about its internals.
      return refusalResponse(new HttpRefusal(500, 'INTERNAL_ERROR', 'Internal error; nothing was changed. Try again later.'));
    }
  };

  if (!cors) return answer;
  return async (request) => {
    const response = await answer(request);
    try {
      return cors.expose(asWebRequest(request).headers, response);
    } catch {
      // Headers that cannot be read: the answer (already a refusal) goes out as it is.
      return response;
    }
  };
}

/** The route of a request; `getRoutes`: the GET routes this handler serves. */
function routeOf(url: string, getRoutes: readonly string[]): Route {
  const pathname = new web.URL(url).pathname;
  const refusal = rawPathRefusal(pathname);
  if (refusal) throw refusal;
  const route = matchRoute(pathname);
  const get = route && (GET_PATHS as Partial<Record<Route['kind'], string>>)[route.kind];
  if (!route || (get !== undefined && !getRoutes.includes(get))) {
    const listed = getRoutes.length ? `; GET ${getRoutes.join(', GET ')}` : '';
    throw new HttpRefusal(404, 'NOT_FOUND', `No such endpoint. The endpoints are: POST ${ROUTES.join(', POST ')}${listed}.`, {
      kind: 'route',
      routes: [...ROUTES],
      ...(getRoutes.length && { get_routes: [...getRoutes] }),
    });
  }
  return route;
}

/** An HTML page, never cached, never framed by another site. */
function pageResponse(html: string): Response {
  return new web.Response(html, {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' },
  });
}

/** A tool sub-route: the body is the call, the route names the action (a body may repeat it). */
async function callTool(manager: PlanManager, action: string, body: unknown, pause?: () => Promise<void>): Promise<Response> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidBody(`must be a JSON object (the ${action} call's parameters), got ${Array.isArray(body) ? 'an array' : body === null ? 'null' : `a ${typeof body}`}`);
  }
  const given = Object.prototype.hasOwnProperty.call(body, 'action') ? (body as { action: unknown }).action : undefined;
  if (given !== undefined && given !== action) {
    throw new HttpRefusal(400, 'VALIDATION_ERROR', `Invalid request body: action must be ${JSON.stringify(action)} on this endpoint (or left out).`, {
      issues: [{ path: 'action', message: `must be ${JSON.stringify(action)} on this endpoint (or left out)` }],
    });
  }
  // Spread, not Object.assign: an own "__proto__" key from JSON.parse stays a key (and is refused by name).
  const result: ToolResult = await manager.handle({ ...body, action });
  return answerInPieces(result.success ? 200 : STATUS_BY_CODE[result.error.code], result, pause);
}

/** The Transition Instance endpoint: `{ status }` in, the instance record out. */
async function transition(manager: PlanManager, instanceId: string, body: unknown, report: (error: unknown) => void, pause?: () => Promise<void>): Promise<Response> {
  try {
    // The manager validates the body (a strict `{ status }`); the type only says what it expects.
    const instance = await manager.transitionInstance(instanceId, body as TransitionInstanceInput);
    return await answerInPieces(200, transitionInstanceView(instance), pause);
  } catch (error) {
    return managerRefusal(error, report);
  }
}

/** An operation of the library's own API: the body is its input, the answer its records. */
async function callApi(manager: PlanManager, operation: Extract<Route, { kind: 'api' }>['operation'], body: unknown, report: (error: unknown) => void, pause?: () => Promise<void>): Promise<Response> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidBody(`must be a JSON object (the operation's input), got ${Array.isArray(body) ? 'an array' : body === null ? 'null' : `a ${typeof body}`}`);
  }
  try {
    const answer = await operation(manager, { ...body });
    return await answerInPieces(200, { success: true, ...answer }, pause);
  } catch (error) {
    return managerRefusal(error, report);
  }
}

/** The JSON answer, its text and its bytes made in two pieces when `pause` is given (a large request's). */
async function answerInPieces(status: number, value: unknown, pause?: () => Promise<void>): Promise<Response> {
  if (pause === undefined) return jsonResponse(status, value);
  await pause();
  const text = JSON.stringify(value);
  await pause();
  return rawJsonResponse(status, text);
}

/** A refusal of the manager as its answer, with the status of its code; a store's fault is reported too (the caller hears its reason, the operator, through onError, its words). */
function managerRefusal(error: unknown, report: (error: unknown) => void): Response {
  if (!InstancePlanError.is(error)) throw error;
  if (error.code === 'STORAGE_ERROR') report(error);
  return jsonResponse(STATUS_BY_CODE[error.code], { success: false, error: answerOf(error) });
}
