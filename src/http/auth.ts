import type { Scope } from '../index';
import { SCOPE_FIELDS } from '../adapters/contract';
import { HttpRefusal } from './refusal';

// RFC 6750 §2.1: "Bearer" (any case, RFC 9110 §11.1), then a b64token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of an `Authorization` header, or a 401 naming what to send. */
export function bearerToken(header: string | null): string {
  const match = header === null ? null : BEARER.exec(header);
  if (!match) {
    const problem = header === null ? 'No Authorization header' : 'The Authorization header is not a bearer token';
    throw new HttpRefusal(401, 'UNAUTHORIZED', `${problem}: send "Authorization: Bearer <api key>".`, {}, { 'www-authenticate': 'Bearer' });
  }
  return match[1]!;
}

export function rejectedToken(): HttpRefusal {
  return new HttpRefusal(401, 'UNAUTHORIZED', 'The API key was not accepted: check it, or ask for a new one.', {}, {
    'www-authenticate': 'Bearer error="invalid_token"',
  });
}

/**
 * The scope `authenticate` returned, checked: only the scope's three fields count, each a string
 * when given. Anything else is a fault of the server's code, not of the caller (500).
 */
export function callerScope(value: unknown): Scope {
  if (typeof value !== 'object' || value === null) throw badScope(`${value === null ? 'null' : typeof value}`);
  const scope: Scope = {};
  for (const field of SCOPE_FIELDS) {
    const given = (value as Record<string, unknown>)[field];
    if (given === undefined) continue;
    if (typeof given !== 'string') throw badScope(`${field} of type ${given === null ? 'null' : typeof given}`);
    scope[field] = given;
  }
  return scope;
}

function badScope(what: string): HttpRefusal {
  return new HttpRefusal(500, 'INTERNAL_ERROR', `The server's authenticate() returned an invalid scope (${what}); nothing was changed.`);
}
