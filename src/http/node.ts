// instance-plan/http/node: serves a fetch handler from Node's `http` module (Node 20 has no
// built-in bridge between IncomingMessage and Request). It imports nothing from Node: the few
// members used of `IncomingMessage` and `ServerResponse` are written out below.

import { asWebResponse, web, type StreamController, type WebReadableStream } from './web';
import { HttpRefusal, positiveInteger, refusalResponse } from './refusal';
import { timers } from '../manager/timers';
import { rawPathRefusal } from './routes';
import { nextTurn } from './turns';

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
  /** For streamed answers (the change stream): each chunk as it comes, and the client going away or draining. */
  write(chunk: Uint8Array): boolean;
  flushHeaders?(): unknown;
  on(event: 'close' | 'drain', listener: () => void): unknown;
  readonly destroyed?: boolean;
}

export interface NodeListenerOptions {
  /** The origin requests are given (`Request.url`). Default: `http://` and the Host header. */
  origin?: string;
  /** Hears a handler that threw (answered 500). */
  onError?(error: unknown): void;
  /**
   * Request bodies being received at once; one more is answered 503 `SERVER_BUSY` at once, with
   * `retry-after`. Default 256.
   */
  maxBodiesInFlight?: number;
  /**
   * Bytes of request bodies held at once, across every request this listener serves; the body
   * whose bytes would pass it is answered 503 `SERVER_BUSY`. With the handler's `maxBodyBytes`,
   * this bounds what stalled uploads can hold. Default 32 MiB.
   */
  maxBufferedBytes?: number;
  /** Milliseconds a body may take to arrive in full, from the request's headers; then 408 `REQUEST_TIMEOUT`. Default 30 s. */
  bodyTimeoutMs?: number;
}

const DEFAULT_MAX_BODIES_IN_FLIGHT = 256;
const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** Answers over this many bytes are written a turn of the event loop after they are ready. */
const LARGE_ANSWER_BYTES = 64 * 1024;
/** Bytes of a refused body read and dropped after the refusal (give or take the read under way); then reading stops. */
const DRAIN_BYTES = 64 * 1024;

/**
 * Options for `http.createServer(options, listener)` that bound what a client can hold before
 * the listener sees its request: the headers within 10 s, the whole request within 60 s, idle
 * connections closed after 5 s, and those deadlines checked every second (Node's default
 * checks every 30 s, so a deadline could be missed by that much).
 */
export const nodeServerOptions = Object.freeze({
  headersTimeout: 10_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
});

/**
 * A `http.createServer` listener that answers with `handler`. The request body is streamed to
 * the handler, which reads only as much as it accepts; what it leaves is discarded, so that the
 * answer (a 413, say) still reaches the client. What clients can hold is bounded: bodies in
 * flight, bytes of body held in all, and the time a body may take (see the options). The
 * response body is buffered (the handlers of this package answer small JSON), except a change
 * stream (`text/event-stream`), written as it comes until the client goes.
 *
 * @example
 * http.createServer(nodeServerOptions, toNodeListener(createFetchHandler(manager, { authenticate }))).listen(8787, '127.0.0.1');
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
  options: NodeListenerOptions = {},
): (req: NodeRequestLike, res: NodeResponseLike) => void {
  const bounds: Bounds = {
    maxBodiesInFlight: positiveInteger('maxBodiesInFlight', options.maxBodiesInFlight ?? DEFAULT_MAX_BODIES_IN_FLIGHT),
    maxBufferedBytes: positiveInteger('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES),
    bodyTimeoutMs: positiveInteger('bodyTimeoutMs', options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS),
    bodiesInFlight: 0,
    bufferedBytes: 0,
  };
  return (req, res) => {
    void respond(handler, req, res, options, bounds);
  };
}

/** The listener's bounds, and what its requests hold now. */
interface Bounds {
  readonly maxBodiesInFlight: number;
  readonly maxBufferedBytes: number;
  readonly bodyTimeoutMs: number;
  bodiesInFlight: number;
  bufferedBytes: number;
}

async function respond(handler: (request: Request) => Promise<Response>, req: NodeRequestLike, res: NodeResponseLike, options: NodeListenerOptions, bounds: Bounds) {
  // Heard from the start: a client may go while the handler still works (authenticate, say).
  const gone = { value: false };
  res.on('close', () => (gone.value = true));
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const body = hasBody && bounds.bodiesInFlight < bounds.maxBodiesInFlight ? bodyOf(req, bounds) : undefined;
  let answer = hasBody && !body ? busy('too many request bodies are being received at once') : undefined;
  let status = 500;
  let headers: [string, string][] = [['content-type', 'application/json; charset=utf-8']];
  let payload: Uint8Array | string = JSON.stringify({ success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal error; nothing was changed. Try again later.' } });
  try {
    // Checked as sent: building the URL would resolve dot segments (see rawPathRefusal).
    answer ??= rawPathRefusal(req.url ?? '/');
    // A body the bridge cuts short (too slow, too many bytes held) errors with its refusal, which
    // the handlers of this package answer as it is.
    const response = asWebResponse(answer ? refusalResponse(answer) : await handler(toRequest(req, options.origin, body?.stream)));
    const read: [string, string][] = [];
    response.headers.forEach((value, name) => read.push([name, value]));
    if (response.body && read.some(([name, value]) => name === 'content-type' && value.startsWith('text/event-stream'))) {
      streamTo(res, response.status, read, response.body, gone);
      return;
    }
    payload = new Uint8Array(await response.arrayBuffer());
    [status, headers] = [response.status, read];
    // A large answer is written in a turn of its own: its copy into the socket is milliseconds of
    // work, and other requests (read meanwhile) need not wait for it and what came before it.
    if (payload.byteLength > LARGE_ANSWER_BYTES) await nextTurn();
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
  // The body was left partly unread (too large, refused before reading) or never taken: answer,
  // then close, rather than keep a connection whose next request would sit behind it.
  if (body ? body.release() : hasBody) {
    res.setHeader('connection', 'close');
    if (!body) req.resume();
  }
  res.end(payload);
}

/**
 * An answer that goes on (Server-Sent Events): each chunk written as it comes, until either side
 * ends it. A chunk is read only once the socket took the last one ('drain'), so a client that does
 * not read holds no more than the socket's buffer here, and the stream itself sees it lag.
 */
function streamTo(res: NodeResponseLike, status: number, headers: [string, string][], body: WebReadableStream, gone: { value: boolean }): void {
  const reader = body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  // The client went before the answer was ready: the stream is let go at once.
  if (gone.value || res.destroyed) {
    stop();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of headers) res.setHeader(name, value);
  res.flushHeaders?.();
  let wake: (() => void) | undefined;
  res.on('close', () => {
    stop();
    wake?.();
  });
  res.on('drain', () => wake?.());
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || gone.value) break;
        if (value && !res.write(value)) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (gone.value) break;
      }
    } catch {
      // The stream failed or was cancelled: the answer ends here.
    }
    if (!gone.value) res.end();
  })();
}

function busy(why: string): HttpRefusal {
  return new HttpRefusal(503, 'SERVER_BUSY', `The server is busy (${why}); nothing was changed. Try again in a moment.`, {}, { 'retry-after': '1' });
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

interface Body {
  stream: WebReadableStream;
  /** Stops handing bytes to the stream and gives back what it held; true when the body had not ended (the rest is dropped). */
  release(): boolean;
}

/**
 * The request body as a stream that reads from the socket only when asked (backpressure),
 * counted against the listener's bounds: it is one of the bodies in flight until it ends or is
 * released, holds its bytes until released, and is cut short (the stream errors with the
 * refusal) past the bytes in all or the time.
 */
function bodyOf(req: NodeRequestLike, bounds: Bounds): Body {
  bounds.bodiesInFlight++;
  let inFlight = true;
  const landed = () => {
    if (inFlight) bounds.bodiesInFlight--;
    inFlight = false;
    timers.clearTimeout(timer);
  };
  let settled = false;
  let released = false;
  let cutShort = false;
  let held = 0;
  let dropped = 0;
  let controller: StreamController | undefined;
  const cut = (refusal: HttpRefusal) => {
    if (settled) return;
    settled = cutShort = true;
    controller?.error(refusal);
  };
  const timer = timers.setTimeout(() => {
    cut(new HttpRefusal(408, 'REQUEST_TIMEOUT', `The request body did not arrive within ${bounds.bodyTimeoutMs} ms (the bodyTimeoutMs limit); nothing was changed. Send it again, at once.`, { limit: bounds.bodyTimeoutMs }));
  }, bounds.bodyTimeoutMs);
  const stream = new web.ReadableStream({
    start(streamController: StreamController) {
      controller = streamController;
      req.on('data', (chunk: Uint8Array) => {
        if (settled) {
          // Cut or refused: dropped, and no more than DRAIN_BYTES of it read (see stopHanding).
          dropped += chunk.byteLength;
          if (dropped >= DRAIN_BYTES) req.pause();
          return;
        }
        if (bounds.bufferedBytes + chunk.byteLength > bounds.maxBufferedBytes) {
          cut(busy('too many bytes of request bodies are held at once'));
          return;
        }
        held += chunk.byteLength;
        bounds.bufferedBytes += chunk.byteLength;
        streamController.enqueue(chunk);
        if ((streamController.desiredSize ?? 1) <= 0) req.pause();
      });
      req.on('end', () => {
        if (!settled) streamController.close();
        settled = true;
        landed();
      });
      req.on('error', (error: unknown) => {
        if (!settled) streamController.error(error);
        settled = true;
      });
      req.on('close', () => {
        if (!settled) streamController.error(new Error('the client closed the connection before the body ended'));
        settled = true;
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      stopHanding();
    },
  });
  /**
   * Stops handing bytes to the stream, noting whether the body had not ended. Reads on and drops
   * what follows, up to DRAIN_BYTES: a client that reads only once it has sent everything can
   * finish a small rest and read the answer; the rest of a large body is left unread (reading a
   * refused megabyte costs the server as much as reading an accepted one), and the connection is
   * closed after the answer.
   */
  function stopHanding() {
    if (!settled) released = true;
    settled = true;
    if (dropped < DRAIN_BYTES) req.resume();
  }
  return {
    stream,
    release() {
      landed();
      if (cutShort) released = true;
      stopHanding();
      bounds.bufferedBytes -= held;
      held = 0;
      return released;
    },
  };
}
