// The server side of bench/http.mjs, run in a child process of it (forked, so it has an event
// loop and a core of its own while autocannon drives it from the parent). The parent sends one
// message saying what to serve; this answers { ready: { url, path, headers, body } }, the request to send, once listening, and
// stops (closing the server, dropping its PostgreSQL schema) when the parent disconnects or
// goes away.
import { createServer } from 'node:http';
import { memoryAdapter } from '../dist/index.js';
import { createFetchHandler, scopedManagers } from '../dist/http/index.js';
import { toNodeListener } from '../dist/http/node.js';
import { runningPlan, withBenchSchema } from './postgres.mjs';

/** One API key, scoped as the Instance Plan tool's documented example is (examples/http-server.mjs). */
const KEYS = new Map([['YOUR_API_KEY', { organization_id: 'acme', site_id: 'YOUR_SITE_ID' }]]);
const TOKEN = 'YOUR_API_KEY';
const LIST_PATH = '/api/agents/tools/instance_plan/get';

let stopRequested;
const stopped = new Promise((resolve) => (stopRequested = resolve));
process.on('disconnect', () => stopRequested());

function listen(listener) {
  const server = createServer(listener);
  // autocannon's 50 keep-alive connections stay open for the whole run.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function close(server) {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Serves until told to stop. */
async function serve(listener, request) {
  const server = await listen(listener);
  process.send({ ready: { url: `http://127.0.0.1:${server.address().port}`, ...request } });
  await stopped;
  await close(server);
}

/** The library's handler on `adapter`, with one running instance holding one plan of 10 steps. */
async function serveHandler(adapter) {
  const managers = scopedManagers({ adapter });
  // The scoped manager fills in the organization.
  const { instance } = await runningPlan(managers(KEYS.get(TOKEN)), 10, { agent_type_id: 'lead-qualifier' });
  const handler = createFetchHandler(managers, {
    authenticate: (_request, token) => KEYS.get(token) ?? null,
    // The load is 50 connections holding one key: above the default of 8 requests in flight per caller.
    maxRequestsPerCaller: 64,
    onError: (error) => console.error('internal error:', error),
  });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  await serve(toNodeListener(handler), { path: LIST_PATH, headers, body: JSON.stringify({ instance_id: instance.id }) });
}

process.once('message', async (config) => {
  try {
    if (config.kind === 'bare') {
      // The floor: node:http reading the request body and answering the captured bytes.
      const body = Buffer.from(config.body, 'base64');
      // Content-Length as the handler's answer has it (writeHead would otherwise send chunked).
      const headers = { ...config.headers, 'content-length': String(body.length) };
      await serve(
        (req, res) => {
          req.resume();
          req.on('end', () => {
            res.writeHead(config.status, headers);
            res.end(body);
          });
        },
        config.request,
      );
    } else if (config.kind === 'fetch') {
      // The Fetch API layer alone: toNodeListener turning each request into a Request (its body
      // a stream) and a Response back, around a handler that reads the body and answers the
      // captured bytes. The difference to bare is what the Fetch API objects cost.
      const body = Buffer.from(config.body, 'base64');
      await serve(
        toNodeListener(async (request) => {
          await request.arrayBuffer();
          return new Response(body, { status: config.status, headers: config.headers });
        }),
        config.request,
      );
    } else if (config.kind === 'memory') {
      await serveHandler(memoryAdapter());
    } else if (config.kind === 'postgres') {
      await withBenchSchema(config.url, ({ adapter }) => serveHandler(adapter));
    } else {
      throw new Error(`unknown server kind ${JSON.stringify(config.kind)}`);
    }
    process.exit(0);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
});
