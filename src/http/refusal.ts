import type { ErrorCode } from '../index';
import { web } from './web';

/**
 * The codes of refusals made before a request reaches the manager. The manager's own codes
 * (`ErrorCode`) keep their meaning; these name what only HTTP can get wrong.
 */
export const HTTP_ONLY_ERROR_CODES = [
  'UNAUTHORIZED',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'REQUEST_TIMEOUT',
  'REQUEST_ABORTED',
  'SERVER_BUSY',
  'TOO_MANY_REQUESTS',
  'ORIGIN_NOT_ALLOWED',
  'INTERNAL_ERROR',
] as const;

export type HttpErrorCode = ErrorCode | (typeof HTTP_ONLY_ERROR_CODES)[number];

/** A refusal with its status; thrown inside the handler and answered as `{ success: false, error }`. */
export class HttpRefusal extends Error {
  override readonly name = 'HttpRefusal';

  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A VALIDATION_ERROR of the request body as a whole, in the manager's `issues` form. */
export function invalidBody(message: string, details: Record<string, unknown> = {}): HttpRefusal {
  return new HttpRefusal(400, 'VALIDATION_ERROR', `Invalid request body: ${message}`, {
    issues: [{ path: '(body)', message }],
    ...details,
  });
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // Answers are about records that change: never cached, never sniffed as something else.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return rawJsonResponse(status, JSON.stringify(body), headers);
}

/** An answer whose JSON text is made already. */
export function rawJsonResponse(status: number, text: string, headers: Record<string, string> = {}): Response {
  // As bytes: a Response made of a string measures and encodes it again each time it is read.
  return new web.Response(encoder.encode(text), { status, headers: { ...JSON_HEADERS, ...headers } });
}

const encoder = new web.TextEncoder();

export function refusalResponse(refusal: HttpRefusal): Response {
  const error = { ...refusal.details, code: refusal.code, message: refusal.message };
  return jsonResponse(refusal.status, { success: false, error }, refusal.headers);
}

/** An option that must be a positive integer, or a TypeError naming it. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
