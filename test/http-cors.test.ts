// Calls from browser pages of other origins: off by default; with `cors`, preflights are answered
// and the allowed origins (and only they) may read every answer, refusals included.
import { describe, expect, it } from 'vitest';
import { PlanManager } from 'instance-plan';
import { createFetchHandler, type CorsOptions } from 'instance-plan/http';

const LIST = 'http://api.example.com/api/instance-plan/instances/list';
const APP = 'https://app.example.com';

function handlerWith(cors?: CorsOptions) {
  return createFetchHandler(new PlanManager(), { authenticate: (_request, token) => (token === 'key' ? { organization_id: 'acme' } : null), ...(cors && { cors }) });
}

const preflight = (origin?: string) =>
  new Request(LIST, { method: 'OPTIONS', headers: { ...(origin && { origin }), 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
const post = (origin: string | undefined, key = 'key') =>
  new Request(LIST, { method: 'POST', headers: { ...(origin && { origin }), authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });

function headersOf(response: Response): [string, string][] {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => headers.push([name, value]));
  return headers;
}

describe('CORS', () => {
  it('is off by default: a preflight is refused (405) and answers carry no Access-Control header', async () => {
    const handler = handlerWith();
    const refused = await handler(preflight(APP));
    expect(refused.status).toBe(405);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const answered = await handler(post(APP));
    expect(answered.status).toBe(200);
    expect(headersOf(answered).filter(([name]) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('with origins listed: their preflights get 204 and what they may send; other origins 403, naming the origin', async () => {
    const handler = handlerWith({ origins: [APP, 'http://localhost:5173'], maxAgeSeconds: 120 });
    const allowed = await handler(preflight(APP));
    expect(allowed.status).toBe(204);
    expect(await allowed.text()).toBe('');
    expect(Object.fromEntries(headersOf(allowed).filter(([name]) => name.startsWith('access-control-') || name === 'vary'))).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'Authorization, Content-Type, Last-Event-ID',
      'access-control-max-age': '120',
      'access-control-expose-headers': 'Retry-After',
      vary: 'Origin',
    });
    // Origins compare as browsers send them, scheme and host in any case.
    expect((await handler(preflight('HTTP://LOCALHOST:5173'))).headers.get('access-control-allow-origin')).toBe('HTTP://LOCALHOST:5173');

    const other = await handler(preflight('https://evil.example'));
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(await other.json()).toEqual({ success: false, error: { code: 'ORIGIN_NOT_ALLOWED', message: "Calls from the origin https://evil.example are not allowed by this server's CORS settings." } });
    expect((await handler(preflight())).status).toBe(403);
  });

  it('an allowed origin may read every answer, refusals included; another origin is answered without the header', async () => {
    const handler = handlerWith({ origins: [APP] });
    for (const [request, status] of [[post(APP), 200], [post(APP, 'wrong'), 401], [new Request(`${LIST}x`, { method: 'POST', headers: { origin: APP } }), 404]] as const) {
      const response = await handler(request);
      expect(response.status).toBe(status);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
      expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After');
      expect(response.headers.get('vary')).toBe('Origin');
    }
    const other = await handler(post('https://evil.example'));
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect((await handler(post(undefined))).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('"*" lets any origin read the answers', async () => {
    const handler = handlerWith({ origins: '*' });
    expect((await handler(preflight('https://anywhere.example'))).headers.get('access-control-allow-origin')).toBe('*');
    expect((await handler(post('https://anywhere.example'))).headers.get('access-control-allow-origin')).toBe('*');
  });

  it('refuses settings it cannot honour, naming the entry', () => {
    expect(() => handlerWith({ origins: ['https://app.example.com/'] })).toThrow('cors.origins: "https://app.example.com/" is not an origin; write it as a browser sends it, e.g. "https://app.example.com" (no path, no trailing slash)');
    expect(() => handlerWith({ origins: ['app.example.com'] })).toThrow('cors.origins: "app.example.com" is not an origin');
    expect(() => handlerWith({ origins: 'https://app.example.com' as never })).toThrow('cors.origins must be "*" or an array of origins, got string');
    expect(() => handlerWith({ origins: [APP], maxAgeSeconds: -1 })).toThrow('cors.maxAgeSeconds must be a whole number of seconds, got -1');
  });
});
