// Requests per second through the library's HTTP handler (instance-plan/http under node:http,
// through instance-plan/http/node), against a bare node:http server answering the same bytes,
// with autocannon on 127.0.0.1. `node bench/http.mjs` prints the figures as JSON;
// `DATABASE_URL` names a PostgreSQL server to use instead of a throwaway one.
//
// The request measured: POST /api/agents/tools/instance_plan/get { instance_id } with a bearer
// key, listing one running instance's plans (one plan of 10 steps), the call an agent makes to
// see where it stands. It reads and answers the same bytes every time, so 50 connections can
// repeat it without racing one another (an execute_step toggling one step from 50 connections
// at once would measure conflicts and retries, not the handler), and the bare server can
// answer exactly the bytes the handler answers.
//
// Each server runs in a child process (bench/http-server.mjs) and autocannon in this one: on 2
// cores the load generator and the server each have an event loop and a core, rather than the
// client's work being counted as the server's on one thread. For the PostgreSQL run the
// database's backend processes share those cores, as they would on a small host.
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { withThrowawayPostgres } from './postgres.mjs';

const SERVER = fileURLToPath(new URL('./http-server.mjs', import.meta.url));
const log = (...args) => console.error('[bench http]', ...args);

/** Starts a server child (see http-server.mjs) and runs `fn(server)` with `{ url, path, headers, body }`; stops it afterwards. */
async function withServer(config, fn) {
  const child = fork(SERVER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  try {
    const ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${config.kind} server was not ready within 60 s`)), 60_000);
      child.once('message', (message) => {
        clearTimeout(timer);
        resolve(message.ready);
      });
      exited.then((status) => {
        clearTimeout(timer);
        reject(new Error(`the ${config.kind} server exited (${status}) before it was ready`));
      });
      child.send(config);
    });
    return await fn(ready);
  } finally {
    // Disconnecting tells it to close its server (and drop its schema); killed if it does not exit.
    if (child.connected) child.disconnect();
    const status = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref())]);
    if (status === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** One request, to learn the answer: status, headers (but those node:http sets itself), bytes. */
async function capture({ url, path, headers: requestHeaders, body }) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: requestHeaders, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${bytes.toString('utf8')}`);
  const headers = {};
  for (const [name, value] of response.headers) {
    if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)) headers[name] = value;
  }
  return { status: response.status, headers, bytes };
}

/** An autocannon run; any error or non-2xx answer makes the figure worthless, so it throws. */
async function load({ url, path, headers, body }, { duration, connections }) {
  const result = await autocannon({ url: `${url}${path}`, method: 'POST', headers, body, connections, duration });
  if (result.errors || result.timeouts || result.non2xx) {
    throw new Error(`${path}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers of ${result.requests.total}`);
  }
  return result;
}

/** A short warm-up run (discarded), then the measured one. */
async function rate(server, { duration, warmup, connections }) {
  await load(server, { duration: warmup, connections });
  const result = await load(server, { duration, connections });
  return {
    perSecond: result.requests.p50,
    average: result.requests.average,
    latencyMedianMs: result.latency.p50,
    requests: result.requests.total,
    bytesPerAnswer: Math.round(result.throughput.total / result.requests.total),
  };
}

/**
 * Requests per second, one server after another (bare, memory, postgres), each warmed up for
 * `warmup` seconds and then measured for `duration` seconds with `connections` keep-alive
 * connections. The figure is the median of autocannon's per-second samples (its
 * `requests.p50`); `details` has the mean (`requests.average`), the median latency and the bytes
 * of each answer (headers included).
 */
export async function requestsPerSecond({ duration = 10, warmup = 2, connections = 50 } = {}) {
  const options = { duration, warmup, connections };
  const details = {};
  await withServer({ kind: 'memory' }, async (memory) => {
    const answer = await capture(memory);
    log(`the answer: ${answer.status}, ${answer.bytes.length} bytes of body, ${JSON.stringify(answer.headers)}`);
    const { url: _, ...request } = memory;
    const config = { kind: 'bare', status: answer.status, headers: answer.headers, body: answer.bytes.toString('base64'), request };
    await withServer(config, async (bare) => {
      const same = await capture(bare);
      if (!same.bytes.equals(answer.bytes) || JSON.stringify(same.headers) !== JSON.stringify(answer.headers)) throw new Error('the bare server does not answer what the handler answers');
      log(`bare: ${duration} s`);
      details.bare = await rate(bare, options);
    });
    await withServer({ ...config, kind: 'fetch' }, async (fetchOnly) => {
      const same = await capture(fetchOnly);
      if (!same.bytes.equals(answer.bytes)) throw new Error('the Fetch API server does not answer what the handler answers');
      log(`fetch layer: ${duration} s`);
      details.fetchLayer = await rate(fetchOnly, options);
    });
    log(`memory: ${duration} s`);
    details.memory = await rate(memory, options);
  });
  await withThrowawayPostgres((url) =>
    withServer({ kind: 'postgres', url }, async (postgres) => {
      const answer = await capture(postgres);
      log(`postgres answer: ${answer.bytes.length} bytes of body`);
      log(`postgres: ${duration} s`);
      details.postgres = await rate(postgres, options);
    }),
  );
  return {
    bare: details.bare.perSecond,
    fetchLayer: details.fetchLayer.perSecond,
    memory: details.memory.perSecond,
    postgres: details.postgres.perSecond,
    details: { ...details, statistic: 'median of per-second samples (autocannon requests.p50)', duration, connections },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const result = await requestsPerSecond();
  console.log(JSON.stringify({ unit: 'requests/s', ...result, seconds: Math.round((performance.now() - started) / 100) / 10 }, null, 2));
}
