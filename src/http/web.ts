/**
 * The web platform pieces the HTTP handler uses: `Request`, `Response`, `ReadableStream`,
 * `TextDecoder`, `TextEncoder`, `URL`. Every runtime we support has them (Node 20, Bun, Deno, Workers), but
 * the core compiles with neither DOM nor Node types, so that it cannot lean on a platform by
 * accident. The few members used are declared here, and every platform object passes through
 * this one file.
 */

declare global {
  // Empty on purpose: they merge with the runtime's own declarations (lib.dom, @types/node, Bun,
  // Deno, workers-types), so the handler's signature reads `(request: Request) => Promise<Response>`
  // in the user's project, with the user's types.
  interface Request {}
  interface Response {}
}

export interface WebHeaders {
  get(name: string): string | null;
}

export interface WebReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

export interface WebReadableStream {
  getReader(): WebReader;
}

/** The members of a `Request` the handler reads. */
export interface WebRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: WebHeaders;
  readonly body: WebReadableStream | null;
}

export interface ReadableSource {
  start?(controller: StreamController): void;
  pull?(controller: StreamController): void | Promise<void>;
  cancel?(reason?: unknown): void | Promise<void>;
}

export interface StreamController {
  enqueue(chunk: Uint8Array): void;
  close(): void;
  error(reason?: unknown): void;
  readonly desiredSize: number | null;
}

interface WebGlobals {
  Request: new (url: string, init: { method: string; headers: [string, string][]; body?: WebReadableStream; duplex?: 'half' }) => Request;
  Response: new (body: string | Uint8Array | WebReadableStream | null, init: { status: number; headers: Record<string, string> }) => Response;
  ReadableStream: new (source: ReadableSource) => WebReadableStream;
  TextDecoder: new (label: 'utf-8', options: { fatal: boolean }) => { decode(input: Uint8Array): string };
  TextEncoder: new () => { encode(text: string): Uint8Array };
  URL: new (url: string, base?: string) => { readonly pathname: string; readonly href: string };
}

export const web = globalThis as unknown as WebGlobals;

/** The handler's view of a request: only the members it uses (see `WebRequest`). */
export function asWebRequest(request: Request): WebRequest {
  return request as unknown as WebRequest;
}

/** The members of a `Response` a server adapter reads. */
export interface WebResponse {
  readonly status: number;
  readonly headers: { forEach(callback: (value: string, name: string) => void): void };
  readonly body: WebReadableStream | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export function asWebResponse(response: Response): WebResponse {
  return response as unknown as WebResponse;
}

/** `response` with `headers` set on it (a Response the handler made, whose headers may change). */
export function setHeaders(response: Response, headers: Record<string, string>): Response {
  const own = (response as unknown as { headers: { set(name: string, value: string): void } }).headers;
  for (const [name, value] of Object.entries(headers)) own.set(name, value);
  return response;
}
