// A Cloudflare Worker (bundled by everywhere.workerd.test.mjs, run in workerd by miniflare): the
// same checks as every other runtime at /__selftest (collected and run here, workerd has no test
// runner), and the HTTP handler itself at every other path, for requests from outside.
import { PlanManager } from '../../dist/index.js';
import { createFetchHandler } from '../../dist/http/index.js';
import { collector, everywhere } from './everywhere.shared.mjs';

// Made on the first request: a Worker's global scope may not use timers or randomness.
let handler;

export default {
  async fetch(request) {
    if (new URL(request.url).pathname === '/__selftest') {
      const tests = collector();
      everywhere({ runtime: 'workerd (Cloudflare Workers)', describe: tests.describe, it: tests.it });
      return Response.json(await tests.run());
    }
    handler ??= createFetchHandler(new PlanManager(), { authenticate: (_request, token) => (token === 'worker-key' ? { organization_id: 'acme' } : null) });
    return handler(request);
  },
};
