// What one client can hold of a server behind the Node bridge: bodies in flight, bytes of body
// held in all, the time a body may take, and (through nodeServerOptions) the time its headers
// may take. Each bound answers with its own refusal, frees what it held, and leaves the server
// serving others; an upload the client aborts is not the server's fault (no onError). Real
// servers on 127.0.0.1, raw sockets where a client must stall.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PlanManager, type StorageAdapter } from '../src';
import { createFetchHandler } from '../src/http';
import { nodeServerOptions, toNodeListener, type NodeListenerOptions } from '../src/http/node';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(listener: NodeListenerOptions = {}, server: Parameters<typeof createServer>[0] = {}) {
  const onError = vi.fn();
  const handler = createFetchHandler(new PlanManager(), { authenticate: () => ({ organization_id: 'acme' }), onError });
  const http = createServer(server, toNodeListener(handler, { onError, ...listener }));
  servers.push(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { port: (http.address() as AddressInfo).port, onError, http };
}

const LIST = '/api/instance-plan/instances/list';
const head = (length: number) =>
  `POST ${LIST} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

/** A raw connection: what it has received so far, and whether the server closed it. */
async function open(port: number) {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const state = { received: '', closed: false };
  socket.on('data', (chunk) => (state.received += chunk.toString('utf8')));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => undefined);
  return { socket, state };
}

/** Waits until `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) expect.fail('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const answerOf = (raw: string) => ({ status: Number(raw.split(' ')[1]), body: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { success: boolean; error?: Record<string, unknown> } });

async function list(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}${LIST}`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{}' });
  return response.status;
}

describe('the Node bridge bounds what clients hold', () => {
  it('bodies in flight: one past maxBodiesInFlight is 503 SERVER_BUSY at once, with retry-after; the slot frees when a body ends', async () => {
    const { port, onError } = await serve({ maxBodiesInFlight: 2 });
    const stalled = [await open(port), await open(port)];
    for (const { socket } of stalled) socket.write(`${head(10)}{`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await open(port);
    third.socket.write(`${head(2)}{}`);
    await until(() => third.state.closed);
    const answer = answerOf(third.state.received);
    expect(answer.status).toBe(503);
    expect(third.state.received.toLowerCase()).toContain('retry-after: 1');
    expect(answer.body.error).toMatchObject({ code: 'SERVER_BUSY' });
    expect(answer.body.error!.message).toContain('too many request bodies are being received at once');
    // One stalled body ends (and is answered): its slot is free again.
    stalled[0]!.socket.write('"a":1}'.padEnd(9, ' '));
    await until(() => stalled[0]!.state.received.includes('\r\n\r\n'));
    expect(await list(port)).toBe(200);
    expect(onError).not.toHaveBeenCalled();
  });

  it('bytes held in all: the body whose bytes would pass maxBufferedBytes is 503, the others go on, and bytes are given back after each answer', async () => {
    const { port, onError } = await serve({ maxBufferedBytes: 1_000 });
    const first = await open(port);
    first.socket.write(`${head(700)}${'{}'.padEnd(600, ' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await open(port);
    second.socket.write(`${head(700)}${'{}'.padEnd(600, ' ')}`);
    await until(() => second.state.closed);
    expect(answerOf(second.state.received).status).toBe(503);
    expect(answerOf(second.state.received).body.error!.message).toContain('too many bytes of request bodies are held at once');
    // The first is still being received, and finishes.
    expect(first.state.received).toBe('');
    first.socket.write(' '.repeat(100));
    await until(() => first.state.received.includes('\r\n\r\n'));
    expect(answerOf(first.state.received).status).toBe(200);
    // Bytes are given back: many bodies of 900 bytes, one after another, all fit under 1,000.
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`http://127.0.0.1:${port}${LIST}`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{}'.padEnd(900, ' ') });
      expect(response.status).toBe(200);
    }
    expect(onError).not.toHaveBeenCalled();
  });

  it('a body slower than bodyTimeoutMs is 408 REQUEST_TIMEOUT naming the limit, and the connection is closed', async () => {
    const { port, onError } = await serve({ bodyTimeoutMs: 200 });
    const slow = await open(port);
    const started = Date.now();
    slow.socket.write(`${head(100)}{`);
    await until(() => slow.state.closed);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const answer = answerOf(slow.state.received);
    expect(answer.status).toBe(408);
    expect(answer.body.error).toEqual({
      code: 'REQUEST_TIMEOUT',
      limit: 200,
      message: 'The request body did not arrive within 200 ms (the bodyTimeoutMs limit); nothing was changed. Send it again, at once.',
    });
    expect(await list(port)).toBe(200);
    expect(onError).not.toHaveBeenCalled();
  });

  it("an upload the client aborts is not reported as the server's fault, and frees its slot and bytes", async () => {
    const { port, onError } = await serve({ maxBodiesInFlight: 1, maxBufferedBytes: 1_000 });
    for (let i = 0; i < 5; i++) {
      const aborted = await open(port);
      aborted.socket.write(`${head(5_000)}${' '.repeat(900)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      aborted.socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // One body in flight and 1,000 bytes at most: the aborted one must have given both back.
      expect(await list(port)).toBe(200);
    }
    expect(onError).not.toHaveBeenCalled();
  });

  it('nodeServerOptions: slow headers are cut within a second of the deadline (Node checks every 30 s unless told)', async () => {
    expect(nodeServerOptions).toEqual({ headersTimeout: 10_000, requestTimeout: 60_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 });
    const { port, http } = await serve({}, { ...nodeServerOptions, headersTimeout: 300, requestTimeout: 600 });
    expect([http.headersTimeout, http.requestTimeout, http.keepAliveTimeout]).toEqual([300, 600, 5_000]);
    const slow = await open(port);
    slow.socket.write(`POST ${LIST} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    // Closed by the 300 ms deadline, checked every second: well before the 30 s Node checks at by default.
    await until(() => slow.state.closed, 3_000);
    expect(slow.state.received).toContain('408');
  });

  it('a refused body is read no further than 64 KiB past the refusal: the client still gets its answer, and the rest of a 1 MiB upload is left unread', async () => {
    let read = 0;
    const onError = vi.fn();
    const handler = createFetchHandler(new PlanManager(), { authenticate: () => ({ organization_id: 'acme' }), onError });
    // Answered 200 ms after the refusal, as a busy server would: the client goes on sending meanwhile.
    const listener = toNodeListener(async (request) => {
      const response = await handler(request);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return response;
    }, { onError });
    const http = createServer((req, res) => {
      req.on('data', (chunk: Buffer) => (read += chunk.byteLength));
      listener(req, res);
    });
    servers.push(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { socket, state } = await open((http.address() as AddressInfo).port);
    const MiB = 1024 * 1024;
    // 1,001 keys in the first bytes (past maxKeys), then spaces up to 1 MiB (the maxBodyBytes limit), sent as fast as the server takes them.
    const start = `{${Array.from({ length: 1_001 }, (_, i) => `"k${i}":0`).join(',')}`;
    socket.write(head(MiB) + start);
    let sent = start.length;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!state.closed && sent < MiB - chunk.length) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
    await until(() => state.received.includes('\r\n\r\n') && state.received.endsWith('}'));
    const answer = answerOf(state.received);
    expect([answer.status, answer.body.error!.limit]).toEqual([400, 1_000]);
    expect(state.received.toLowerCase()).toContain('connection: close');
    await until(() => state.closed);
    // What the server read: the keys up to the refusal, at most 64 KiB dropped after it, and the
    // read under way when reading stopped; not the rest of the megabyte.
    expect(read).toBeLessThan(512 * 1024);
    expect(onError).not.toHaveBeenCalled();
  });

  it('a large answer (a plan of 200 steps, about 1 MB) arrives whole, with its length, while small requests are answered beside it', async () => {
    const { port, onError } = await serve();
    const call = async (path: string, body: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, length: response.headers.get('content-length'), text: await response.text() };
    };
    const instance = JSON.parse((await call('/api/instance-plan/instances/create', { organization_id: 'acme', agent_type_id: 'a' })).text).instance;
    const steps = Array.from({ length: 200 }, (_, i) => ({ title: `step ${i}`, type: 'process', details: { notes: `${i}`.padEnd(4_800, 'x') } }));
    const [created, ...small] = await Promise.all([call('/api/agents/tools/instance_plan/create', { instance_id: instance.id, title: 'big', steps }), ...Array.from({ length: 5 }, () => call(LIST, {}))]);
    expect(created.status).toBe(200);
    expect(created.text.length).toBeGreaterThan(960_000);
    expect(Number(created.length)).toBe(new TextEncoder().encode(created.text).byteLength);
    const plan = JSON.parse(created.text).plan;
    expect(plan.steps.map((step: { details: { notes: string } }) => step.details.notes)).toEqual(steps.map((step) => step.details.notes));
    expect(small.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(onError).not.toHaveBeenCalled();
  });

  it('an answer over 64 KiB is written a turn of the event loop after it is ready (what was read meanwhile goes first); a small one at once', async () => {
    const written = async (size: number) => {
      const listener = toNodeListener(async () => new Response(new Uint8Array(size), { status: 200 }));
      let ended = false;
      const req = { method: 'GET', url: '/x', headers: {}, on: () => req, pause: () => req, resume: () => req };
      const res = { statusCode: 0, setHeader: () => res, end: () => (ended = true), write: () => true, on: () => res };
      listener(req, res);
      for (let i = 0; i < 100; i++) await Promise.resolve();
      const atOnce = ended;
      await new Promise((resolve) => setImmediate(resolve));
      return { atOnce, afterATurn: ended };
    };
    expect(await written(64 * 1024)).toEqual({ atOnce: true, afterATurn: true });
    expect(await written(64 * 1024 + 1)).toEqual({ atOnce: false, afterATurn: true });
  });

  it('the bounds are checked when the listener is made', () => {
    const handler = async () => new Response('');
    expect(() => toNodeListener(handler, { maxBodiesInFlight: 0 })).toThrow('maxBodiesInFlight must be a positive integer, got 0');
    expect(() => toNodeListener(handler, { maxBufferedBytes: 1.5 })).toThrow('maxBufferedBytes must be a positive integer, got 1.5');
    expect(() => toNodeListener(handler, { bodyTimeoutMs: -1 })).toThrow('bodyTimeoutMs must be a positive integer, got -1');
  });
});

describe('one caller cannot take the handler from the others', () => {
  it('past maxRequestsPerCaller in flight, a key is answered 429 before its body is read; other keys go on; the count frees as answers go out', async () => {
    const gate: { open?: () => void } = {};
    const opened = new Promise<void>((resolve) => (gate.open = resolve));
    // An adapter whose lists wait for the gate: requests stay in flight until it opens.
    const { memoryAdapter } = await import('../src');
    const inner = memoryAdapter();
    const adapter: StorageAdapter = { ...inner, list: async (kind, query) => (await opened, inner.list(kind, query)) };
    const onError = vi.fn();
    const handler = createFetchHandler(new PlanManager({ adapter }), { authenticate: (_request, token) => ({ organization_id: token }), maxRequestsPerCaller: 2, onError });
    const list = (key: string) => handler(new Request(`http://localhost${LIST}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' }));
    const held = [list('a'), list('a')];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await list('a');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      success: false,
      error: { code: 'TOO_MANY_REQUESTS', limit: 2, message: 'This API key has 2 requests in flight already (the maxRequestsPerCaller limit); nothing was changed. Wait for one to be answered.' },
    });
    // Another key is not held up by the first one's count.
    const other = list('b');
    gate.open!();
    expect((await other).status).toBe(200);
    expect((await Promise.all(held)).map((response) => response.status)).toEqual([200, 200]);
    // Answered: the key's count is free again, also after refusals and failures.
    expect((await list('a')).status).toBe(200);
    const bad = await handler(new Request(`http://localhost${LIST}`, { method: 'POST', headers: { authorization: 'Bearer a', 'content-type': 'application/json' }, body: 'not json' }));
    expect(bad.status).toBe(400);
    expect((await Promise.all([list('a'), list('a')])).map((response) => response.status)).toEqual([200, 200]);
    expect(onError).not.toHaveBeenCalled();
    expect(() => createFetchHandler(new PlanManager(), { authenticate: () => null, maxRequestsPerCaller: 0 })).toThrow('maxRequestsPerCaller must be a positive integer, got 0');
  });
});
