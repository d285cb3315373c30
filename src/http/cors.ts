import { HttpRefusal, refusalResponse } from './refusal';
import { setHeaders, web, type WebHeaders } from './web';

export interface CorsOptions {
  /**
   * The origins a browser page may call from, as browsers send them (`https://app.example.com`,
   * `http://localhost:5173`; no path, no trailing slash), or `'*'` for any. Calls carry their
   * key in `Authorization`, never in cookies, so no credentials mode is involved.
   */
  origins: readonly string[] | '*';
  /** How long a browser may keep a preflight's answer, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

export interface CorsPolicy {
  /** The answer to a preflight (`OPTIONS`): 204 with what may be sent, or 403 for an origin not allowed. */
  preflight(headers: WebHeaders): Response;
  /** The answer as it is, with the headers that let an allowed origin read it. */
  expose(headers: WebHeaders, response: Response): Response;
}

const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

/** The handler's CORS policy (`cors` option), or undefined when it is off (the default). */
export function corsPolicy(options: CorsOptions | undefined): CorsPolicy | undefined {
  if (options === undefined) return undefined;
  const { origins, maxAgeSeconds = 600 } = options;
  if (origins !== '*') {
    if (!Array.isArray(origins)) throw new TypeError(`cors.origins must be "*" or an array of origins, got ${typeof origins}`);
    for (const origin of origins) {
      if (typeof origin !== 'string' || !ORIGIN.test(origin)) {
        throw new TypeError(`cors.origins: ${JSON.stringify(origin)} is not an origin; write it as a browser sends it, e.g. "https://app.example.com" (no path, no trailing slash)`);
      }
    }
  }
  if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds < 0) throw new TypeError(`cors.maxAgeSeconds must be a whole number of seconds, got ${String(maxAgeSeconds)}`);
  const allowed = new Set(origins === '*' ? [] : origins.map((origin) => origin.toLowerCase()));
  const allows = (origin: string | null): origin is string => origin !== null && (origins === '*' || allowed.has(origin.toLowerCase()));
  const exposing = (origin: string) => ({ 'access-control-allow-origin': origins === '*' ? '*' : origin, vary: 'Origin' });

  return {
    preflight(headers) {
      const origin = headers.get('origin');
      if (!allows(origin)) {
        const from = origin === null ? 'a request without an Origin' : `the origin ${origin}`;
        return refusalResponse(new HttpRefusal(403, 'ORIGIN_NOT_ALLOWED', `Calls from ${from} are not allowed by this server's CORS settings.`, {}, { vary: 'Origin' }));
      }
      return new web.Response(null, {
        status: 204,
        headers: {
          ...exposing(origin),
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'Authorization, Content-Type, Last-Event-ID',
          'access-control-max-age': String(maxAgeSeconds),
        },
      });
    },
    expose(headers, response) {
      const origin = headers.get('origin');
      if (!allows(origin)) return response;
      return setHeaders(response, { ...exposing(origin), 'access-control-expose-headers': 'Retry-After' });
    },
  };
}
