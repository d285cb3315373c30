// The seeds' HTTP endpoints on Node's http module, on 127.0.0.1: the Instance Plan tool's routes
// (POST /api/agents/tools/instance_plan/create, /get, /update, /execute_step) and
// POST /agents/instances/{instance_id}/transition. One API key, scoped to one organization and
// site; one instance to plan for. Run it with `node examples/http-server.mjs` (after
// `npm run build`), then try the curl commands it prints.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { memoryAdapter, PlanManager } from 'instance-plan';
import { createFetchHandler } from 'instance-plan/http';
import { nodeServerOptions, toNodeListener } from 'instance-plan/http/node';

/** API keys and the scope of each. A real server looks keys up in its own store. */
const KEYS = new Map([['YOUR_API_KEY', { organization_id: 'acme', site_id: 'YOUR_SITE_ID' }]]);

/**
 * Starts the server; returns its URL, the instance made for the examples, and `close`.
 * `port: 0` takes any free port.
 */
export async function start({ port = 0, host = '127.0.0.1', log = console.log } = {}) {
  // One manager over one store, narrowed to each caller's scope per request: a key sees only its own records.
  const manager = new PlanManager({ adapter: memoryAdapter() });
  const instance = await manager.withScope(KEYS.get('YOUR_API_KEY')).createInstance({ agent_type_id: 'lead-qualifier' });

  const handler = createFetchHandler(manager, {
    authenticate: (_request, token) => KEYS.get(token) ?? null,
    onError: (error) => console.error('internal error:', error),
  });
  const server = createServer(nodeServerOptions, toNodeListener(handler));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${server.address().port}`;

  log(`instance-plan HTTP server listening on ${url}`);
  log(`instance ${instance.id} (${instance.status}); API key YOUR_API_KEY`);
  log('');
  log(`curl -s -X POST ${url}/agents/instances/${instance.id}/transition \\`);
  log(`  -H 'Authorization: Bearer YOUR_API_KEY' -H 'Content-Type: application/json' -d '{"status":"running"}'`);
  log(`curl -s -X POST ${url}/api/agents/tools/instance_plan/create \\`);
  log(`  -H 'Authorization: Bearer YOUR_API_KEY' -H 'Content-Type: application/json' \\`);
  log(`  -d '{"site_id":"YOUR_SITE_ID","instance_id":"${instance.id}","title":"Lead qualification flow","plan_type":"objective",`);
  log(`       "steps":[{"title":"Fetch lead data","type":"tool_call"},{"title":"Qualify lead","type":"process"}]}'`);

  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url, instance, close };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { close } = await start({ port: Number(process.env.PORT ?? 8787) });
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void close());
}
