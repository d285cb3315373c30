// The change stream, GET /events (Server-Sent Events): each caller hears the commits in its
// scope, in commit order, with ids to resume from; a client that reconnects with Last-Event-ID
// gets exactly what it missed, or `reset` when that is no longer kept; through Node's http too.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PlanManager, type Scope } from 'instance-plan';
import { createFetchHandler, scopedManagers, type FetchHandlerOptions } from 'instance-plan/http';
import { toNodeListener } from 'instance-plan/http/node';
import { sseReader } from './support/sse-reader';

const KEYS: Record<string, Scope> = { acme: { organization_id: 'acme' }, globex: { organization_id: 'globex' }, all: {} };

function setup(options: Partial<FetchHandlerOptions> = {}) {
  const manager = new PlanManager();
  const handler = createFetchHandler(manager, { authenticate: (_request, token) => KEYS[token] ?? null, ...options });
  const open = async (key: string, lastEventId?: string) => {
    const response = await handler(new Request('http://localhost/events', { headers: { authorization: `Bearer ${key}`, ...(lastEventId && { 'last-event-id': lastEventId }) } }));
    return { response, events: response.status === 200 ? sseReader(response.body as ReadableStream<Uint8Array>) : undefined };
  };
  return { manager, handler, open };
}

describe('GET /events', () => {
  it('says where it starts (ready), then one change per commit with its records and history events', async () => {
    const { manager, open } = setup();
    const { response, events } = await open('acme');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const ready = await events!.next();
    expect(ready).toMatchObject({ event: 'ready', id: expect.stringMatching(/^[a-z0-9]+-0$/) });
    expect(ready!.data).toEqual({ last_event_id: ready!.id });

    const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'a' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const created = await events!.next();
    const boot = ready!.id!.split('-')[0];
    expect(created).toMatchObject({ event: 'change', id: `${boot}-1` });
    expect(created!.data.records).toEqual([{ kind: 'instance', id: instance.id, version: 1 }]);
    expect(created!.data.events.map((event: { type: string }) => event.type)).toEqual(['instance.created']);
    const moved = await events!.next();
    expect(moved).toMatchObject({ event: 'change', id: `${boot}-2`, data: { records: [{ kind: 'instance', id: instance.id, version: 2 }] } });
    expect(moved!.data.events[0]).toMatchObject({ type: 'instance.transitioned', from: 'starting', to: 'running' });
    await events!.cancel();
  });

  it('each caller hears exactly the commits in its scope, in commit order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('acme', 'globex'), { minLength: 1, maxLength: 8 }), async (organizations) => {
        const { manager, open } = setup();
        const streams = Object.fromEntries(await Promise.all(Object.keys(KEYS).map(async (key) => [key, (await open(key)).events!] as const)));
        for (const events of Object.values(streams)) expect((await events.next())!.event).toBe('ready');
        const made: { id: string; organization: string }[] = [];
        for (const organization of organizations) {
          const instance = await manager.createInstance({ organization_id: organization, agent_type_id: 'a' });
          made.push({ id: instance.id, organization });
        }
        // A last commit every caller sees the end by: one per organization.
        const ends = { acme: await manager.createInstance({ organization_id: 'acme', agent_type_id: 'end' }), globex: await manager.createInstance({ organization_id: 'globex', agent_type_id: 'end' }) };
        for (const [key, events] of Object.entries(streams)) {
          const expected = made.filter(({ organization }) => key === 'all' || organization === key).map(({ id }) => id);
          const heard: string[] = [];
          const last = key === 'all' ? ends.globex.id : ends[key as 'acme' | 'globex'].id;
          for (;;) {
            const event = (await events.next())!;
            const ids = event.data.records.map((record: { id: string }) => record.id);
            if (ids.includes(last)) break;
            if (!Object.values(ends).some((end) => ids.includes(end.id))) heard.push(...ids);
          }
          expect(heard, key).toEqual(expected);
          await events.cancel();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a client that reconnects with Last-Event-ID gets exactly what it missed, then what follows', async () => {
    const { manager, open } = setup();
    const first = (await open('acme')).events!;
    await first.next();
    const a = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'a' });
    const seen = (await first.next())!;
    expect(seen.data.records[0].id).toBe(a.id);
    await first.cancel();

    const b = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'b' });
    await manager.createInstance({ organization_id: 'globex', agent_type_id: 'not theirs' });
    const c = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'c' });
    const again = (await open('acme', seen.id)).events!;
    // The position stays the client's until what it missed is sent.
    expect(await again.next()).toMatchObject({ event: 'ready', id: seen.id });
    expect((await again.next())!.data.records[0].id).toBe(b.id);
    expect((await again.next())!.data.records[0].id).toBe(c.id);
    const d = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'd' });
    expect((await again.next())!.data.records[0].id).toBe(d.id);
    await again.cancel();
  });

  it('says reset when what a client missed is not kept: another boot, a made-up id, or older than the buffer', async () => {
    const { manager, open } = setup({ events: { buffer: 2 } });
    const first = (await open('acme')).events!;
    const ready = (await first.next())!;
    await first.cancel();
    for (let i = 0; i < 4; i++) await manager.createInstance({ organization_id: 'acme', agent_type_id: `a${i}` });
    const boot = ready.id!.split('-')[0];
    for (const lastEventId of [ready.id!, 'otherboot-1', `${boot}-99`, 'not an id']) {
      const events = (await open('acme', lastEventId)).events!;
      const reset = (await events.next())!;
      expect(reset, lastEventId).toMatchObject({ event: 'reset', id: `${boot}-4`, data: { reason: 'history_gap' } });
      expect(reset.data.message).toContain('read the records again, then follow');
      await events.cancel();
    }
    // Within the buffer, a resume is exact.
    const events = (await open('acme', `${boot}-3`)).events!;
    expect((await events.next())!.event).toBe('ready');
    expect((await events.next())!.id).toBe(`${boot}-4`);
    await events.cancel();
  });

  it('a client that does not read is told so once, and let go', async () => {
    const { manager, open } = setup({ events: { maxPending: 3 } });
    const { events } = await open('all');
    for (let i = 0; i < 10; i++) await manager.createInstance({ organization_id: 'acme', agent_type_id: `a${i}` });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const read: string[] = [];
    for (let event = await events!.next(); event; event = await events!.next()) read.push(event.event);
    expect(read.at(-1)).toBe('reset');
    expect(read.filter((name) => name === 'change').length).toBeLessThan(10);
  });

  it('is bounded, keyed, and only GET', async () => {
    const { open, handler } = setup({ events: { maxStreamsPerCaller: 2 } });
    const one = await open('acme');
    const two = await open('acme');
    const three = await open('acme');
    expect(three.response.status).toBe(429);
    expect(((await three.response.json()) as any).error.message).toContain('2 change streams open already');
    expect((await open('globex')).response.status).toBe(200);
    // A stream that ends frees its place.
    await one.events!.cancel();
    const again = await open('acme');
    expect(again.response.status).toBe(200);
    await Promise.all([two.events!.cancel(), again.events!.cancel()]);
    expect((await handler(new Request('http://localhost/events'))).status).toBe(401);
    expect((await handler(new Request('http://localhost/events', { method: 'POST', headers: { authorization: 'Bearer acme' } }))).status).toBe(405);
    const perCaller = createFetchHandler(scopedManagers(), { authenticate: () => ({ organization_id: 'acme' }) });
    const missing = await perCaller(new Request('http://localhost/events', { headers: { authorization: 'Bearer k' } }));
    expect(missing.status).toBe(404);
  });
});

describe('GET /events through Node\'s http (toNodeListener)', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('streams each change as it is committed, and frees the stream when the client goes', async () => {
    const manager = new PlanManager();
    const handler = createFetchHandler(manager, { authenticate: () => ({ organization_id: 'acme' }), events: { maxStreamsPerCaller: 1 } });
    server = createServer(toNodeListener(handler));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    for (let round = 0; round < 3; round++) {
      const abort = new AbortController();
      const response = await fetch(url, { headers: { authorization: 'Bearer k' }, signal: abort.signal });
      expect(response.status).toBe(200);
      const events = sseReader(response.body!);
      expect((await events.next())!.event).toBe('ready');
      const instance = await manager.createInstance({ agent_type_id: `round-${round}`, organization_id: 'acme' });
      expect((await events.next())!.data.records[0].id).toBe(instance.id);
      abort.abort();
      // The server hears the client go, and its one stream is free again for the next round.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    server.closeAllConnections();
  });

  /** A raw client: sends a GET of /events and then does nothing (reads nothing) until destroyed. */
  const rawStream = (port: number) => {
    const socket = connect(port, '127.0.0.1');
    socket.write('GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n');
    socket.pause();
    return socket;
  };
  const opens = async (url: string) => {
    const response = await fetch(url, { headers: { authorization: 'Bearer k' } });
    await response.body?.cancel();
    return response.status;
  };

  it('a client that goes while the request is still being authenticated does not keep its stream', async () => {
    const handler = createFetchHandler(new PlanManager(), {
      authenticate: async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return { organization_id: 'acme' };
      },
      events: { maxStreamsPerCaller: 2 },
    });
    server = createServer(toNodeListener(handler));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    for (let i = 0; i < 3; i++) {
      const socket = rawStream(port);
      await new Promise((resolve) => setTimeout(resolve, 30));
      socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await opens(`http://127.0.0.1:${port}/events`)).toBe(200);
    expect(await opens(`http://127.0.0.1:${port}/events`)).toBe(200);
    server.closeAllConnections();
  });

  it('a client that reads nothing is let go once it falls behind, and holds its place no more', async () => {
    const manager = new PlanManager();
    const handler = createFetchHandler(manager, { authenticate: () => ({ organization_id: 'acme' }), events: { maxStreamsPerCaller: 1, maxPending: 50 } });
    server = createServer(toNodeListener(handler));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const socket = rawStream(port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Large changes, so that the socket's buffers fill and the stream's own queue grows.
    const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'slow' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    let freed = false;
    for (let i = 0; i < 2_000 && !freed; i++) {
      await manager.createPlan({ instance_id: instance.id, title: `plan ${i}`, description: 'x'.repeat(8_000), steps: [] });
      if (i % 100 === 99) freed = (await opens(`http://127.0.0.1:${port}/events`)) === 200;
    }
    expect(freed, 'the slow client was let go and its stream freed').toBe(true);
    socket.destroy();
    server.closeAllConnections();
  }, 60_000);
});
