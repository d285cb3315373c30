// instance-plan/http/node: serves a fetch handler from Node's `http` module (Node 20 has no
// built-in bridge between IncomingMessage and Request). It imports nothing from Node: the few
// members used of `IncomingMessage` and `ServerResponse` are written out below.

import { asWebResponse, web, type StreamController, type WebReadableStream } from './web';
import { refusalResponse } from './refusal';
import { rawPathRefusal } from './routes';

/** The members of `http.IncomingMessage` used. */
export interface NodeRequestLike {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** The members of `http.ServerResponse` used. */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(chunk?: Uint8Array | string): unknown;
}

export interface NodeListenerOptions {
  /** The origin requests are given (`Request.url`). Default: `http://` and the Host header. */
  origin?: string;
  /** Hears a handler that threw (answered 500). */
  onError?(error: unknown): void;
}

/**
 * A `http.createServer` listener that answers with `handler`. The request body is streamed to
 * the handler, which reads only as much as it accepts; what it leaves is discarded, so that the
 * answer (a 413, say) still reaches the client. The response body is buffered: the handlers of
 * this package answer small JSON.
 *
 * @example
 * http.createServer(toNodeListener(createFetchHandler(managers, { authenticate }))).listen(8787, '127.0.0.1');
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
  options: NodeListenerOptions = {},
): (req: NodeRequestLike, res: NodeResponseLike) => void {
  return (req, res) => {
    void respond(handler, req, res, options);
  };
}

async function respond(handler: (request: Request) => Promise<Response>, req: NodeRequestLike, res: NodeResponseLike, options: NodeListenerOptions) {
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : bodyOf(req);
  let status = 500;
  let headers: [string, string][] = [['content-type', 'application/json; charset=utf-8']];
  let payload: Uint8Array | string = JSON.stringify({ success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal error; nothing was changed. Try again later.' } });
  try {
    // Checked as sent: building the URL would resolve dot segments (see rawPathRefusal).
    const refusal = rawPathRefusal(req.url ?? '/');
    const response = asWebResponse(refusal ? refusalResponse(refusal) : await handler(toRequest(req, options.origin, body?.stream)));
    const read: [string, string][] = [];
    response.headers.forEach((value, name) => read.push([name, value]));
    payload = new Uint8Array(await response.arrayBuffer());
    [status, headers] = [response.status, read];
  } catch (error) {
    try {
      const returned: unknown = options.onError?.(error);
      if (returned instanceof Promise) returned.catch(() => undefined);
    } catch {
      // A failing logger must not keep the client waiting.
    }
  }
  res.statusCode = status;
  for (const [name, value] of headers) res.setHeader(name, value);
  // The handler left part of the body unread (too large, or refused before reading): answer,
  // then close, rather than keep a connection whose next request would sit behind it.
  if (body?.release()) res.setHeader('connection', 'close');
  res.end(payload);
}

function toRequest(req: NodeRequestLike, origin: string | undefined, body: WebReadableStream | undefined): Request {
  const method = req.method ?? 'GET';
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not headers
    for (const item of Array.isArray(value) ? value : [value]) headers.push([name, item]);
  }
  return new web.Request(urlOf(req, origin), { method, headers, ...(body ? { body, duplex: 'half' as const } : {}) });
}

function urlOf(req: NodeRequestLike, origin: string | undefined): string {
  const path = req.url ?? '/';
  const host = req.headers.host;
  try {
    return new web.URL(path, origin ?? `http://${typeof host === 'string' && host !== '' ? host : 'localhost'}`).href;
  } catch {
    // A Host header that is no host: the path is what routes.
    return new web.URL(path, 'http://localhost').href;
  }
}

/** The request body as a stream that reads from the socket only when asked (backpressure). */
function bodyOf(req: NodeRequestLike): { stream: WebReadableStream; release(): boolean } {
  let settled = false;
  const stream = new web.ReadableStream({
    start(controller: StreamController) {
      req.on('data', (chunk: Uint8Array) => {
        if (settled) return; // cancelled: the rest is drained and dropped
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 1) <= 0) req.pause();
      });
      req.on('end', () => {
        if (!settled) controller.close();
        settled = true;
      });
      req.on('error', (error: unknown) => {
        if (!settled) controller.error(error);
        settled = true;
      });
      req.on('close', () => {
        if (!settled) controller.error(new Error('the client closed the connection before the body ended'));
        settled = true;
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      release();
    },
  });
  let released = false;
  /** Stops handing bytes to the stream; true when the body had not ended (the rest is dropped). */
  function release(): boolean {
    if (!settled) released = true;
    settled = true;
    // Keep reading and dropping the bytes until the answer is out, so that the client (which
    // may not read before it has sent everything) gets the answer instead of a reset.
    req.resume();
    return released;
  }
  return { stream, release };
}
