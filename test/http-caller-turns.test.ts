// One caller's large requests take turns: while one of them is doing its work (parsing, the
// manager's call, the answer), the caller's next large one waits, and other callers' requests go
// on. So a key holder with many large requests ready cannot have them all run before another
// caller's small one (the hostile load measured by `npm run load:hostile`). Small requests, the
// ordinary ones, run side by side as before, also while the store is slow to answer.
import { describe, expect, it, vi } from 'vitest';
import { memoryAdapter, PlanManager, type StorageAdapter } from 'instance-plan';
import { createFetchHandler } from 'instance-plan/http';
import { CallerTurns } from '../src/http/turns';

/** A memory adapter whose `get` waits for the test to let each call through, and says who called. */
function gatedAdapter() {
  const base = memoryAdapter();
  const waiting: { id: string; go: () => void }[] = [];
  let gated = false;
  const adapter: StorageAdapter = {
    ...base,
    get: async (kind, id, scope) => {
      if (gated) await new Promise<void>((go) => waiting.push({ id, go }));
      return base.get(kind, id, scope);
    },
  } as StorageAdapter;
  /** Lets the waiting calls for `id` through. */
  const release = (id: string) => {
    for (const call of waiting.filter((each) => each.id === id)) {
      waiting.splice(waiting.indexOf(call), 1);
      call.go();
    }
  };
  return { adapter, waiting, release, gate: (on: boolean) => (gated = on) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function setUp() {
  const { adapter, waiting, release, gate } = gatedAdapter();
  const manager = new PlanManager({ adapter });
  const handler = createFetchHandler(manager, { authenticate: (_request, token) => (token === 'a' || token === 'b' ? { organization_id: 'acme' } : null) });
  const one = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'one' });
  const two = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'two' });
  /** Reads an instance; `large` pads the body with whitespace past 64 KiB (valid JSON all the same). */
  const get = (token: string, id: string, large = false) =>
    handler(new Request('http://localhost/api/instance-plan/instances/get', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ instance_id: id }) + (large ? ' '.repeat(70_000) : '') }));
  return { waiting, release, gate, one, two, get };
}

describe("one caller's large requests take turns over HTTP", () => {
  it("a caller's second large request waits for its first to be answered; another caller's goes on meanwhile", async () => {
    const { waiting, release, gate, one, two, get } = await setUp();
    gate(true);
    const first = get('a', one.id, true);
    const second = get('a', two.id, true);
    const other = get('b', two.id, true);
    // Caller a's first and caller b's request reach the store (however long their bodies take to
    // arrive); a's second has not begun, and a moment later still has not.
    await vi.waitFor(() => expect(waiting.map((call) => call.id).sort()).toEqual([one.id, two.id].sort()), { timeout: 5_000 });
    await settle();
    expect(waiting.map((call) => call.id).sort()).toEqual([one.id, two.id].sort());
    release(two.id);
    expect((await (await other).json()).instance.id).toBe(two.id);
    await settle();
    // b's answer changes nothing for a: its second still waits for its first.
    expect(waiting.map((call) => call.id)).toEqual([one.id]);
    release(one.id);
    expect((await (await first).json()).instance.id).toBe(one.id);
    // Now a's second does its work.
    await vi.waitFor(() => expect(waiting.map((call) => call.id)).toEqual([two.id]), { timeout: 5_000 });
    release(two.id);
    expect((await (await second).json()).instance.id).toBe(two.id);
  });

  it("a caller's small requests wait on the store side by side: one the store holds up delays none of the others", async () => {
    const { waiting, release, gate, one, two, get } = await setUp();
    gate(true);
    const stuck = get('a', one.id);
    const others = [get('a', two.id), get('a', two.id), get('a', two.id, true)];
    // All four reach the store at once (the large one too: no other large request of a holds the
    // turn), however long the large body takes to arrive.
    await vi.waitFor(() => expect(waiting.map((call) => call.id).sort()).toEqual([one.id, two.id, two.id, two.id].sort()), { timeout: 5_000 });
    release(two.id);
    for (const answer of await Promise.all(others)) expect((await answer.json()).instance.id).toBe(two.id);
    release(one.id);
    expect((await stuck).status).toBe(200);
  });

  it('a large request rests after its pieces only while small requests are being served (the rest follows what a piece took, a store wait included)', async () => {
    // The store holds each read 25 ms: the manager's piece of the large request takes that long.
    const slowRead = async () => {
      const base = memoryAdapter();
      const adapter = { ...base, get: async (...args: Parameters<StorageAdapter['get']>) => (await new Promise((resolve) => setTimeout(resolve, 25)), base.get(...args)) } as StorageAdapter;
      const manager = new PlanManager({ adapter });
      const handler = createFetchHandler(manager, { authenticate: () => ({ organization_id: 'acme' }) });
      const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'a' });
      const get = (token: string, large: boolean) =>
        handler(new Request('http://localhost/api/instance-plan/instances/get', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ instance_id: instance.id }) + (large ? ' '.repeat(70_000) : '') }));
      return get;
    };
    const timed = async (answer: Promise<Response>) => {
      const started = performance.now();
      expect((await answer).status).toBe(200);
      return performance.now() - started;
    };
    const alone = await slowRead();
    // Warmed up, then the quickest of three: 25 ms in the store and the handler's own work.
    await timed(alone('a', true));
    const fullSpeed = Math.min(await timed(alone('a', true)), await timed(alone('a', true)), await timed(alone('a', true)));
    const shared = await slowRead();
    // Another caller's small request: large ones share the time for the next second.
    expect((await shared('b', false)).status).toBe(200);
    const resting = await timed(shared('a', true));
    // 25 ms in the store, then a rest of eight times that, cut to 50 ms (the most a rest lasts), before the answer.
    expect(resting).toBeGreaterThanOrEqual(74);
    expect(fullSpeed).toBeLessThan(74);
  });

  it('a refused request ends its turn too: the caller is not left waiting', async () => {
    const handler = createFetchHandler(new PlanManager(), { authenticate: () => ({ organization_id: 'acme' }) });
    const post = (body: string) =>
      handler(new Request('http://localhost/api/instance-plan/instances/get', { method: 'POST', headers: { authorization: 'Bearer a', 'content-type': 'application/json' }, body: body + ' '.repeat(70_000) }));
    const answers = await Promise.all([post('{"instance_id": 1}'), post('not json'), post('{"instance_id": "nope"}')]);
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 404]);
    expect((await post('{"instance_id": "nope"}')).status).toBe(404);
  });
});

describe('CallerTurns', () => {
  const microtasks = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  const aTurn = () => new Promise((resolve) => setTimeout(resolve, 5));

  it("starts a caller's next request only after a turn of the event loop, in the order asked; other callers do not wait", async () => {
    const turns = new CallerTurns();
    const log: string[] = [];
    const a1 = await turns.take('a');
    const a2 = turns.take('a').then((turn) => (log.push('a2'), turn));
    const a3 = turns.take('a').then((turn) => (log.push('a3'), turn));
    const b = await turns.take('b');
    log.push('b');
    b.end();
    a1.end();
    a1.end(); // twice is once
    await microtasks();
    expect(log).toEqual(['b']);
    await aTurn();
    expect(log).toEqual(['b', 'a2']);
    (await a2).end();
    await microtasks();
    expect(log).toEqual(['b', 'a2']);
    await aTurn();
    expect(log).toEqual(['b', 'a2', 'a3']);
    (await a3).end();
  });

  it("pause() lets the event loop turn (what is queued for it runs first) and keeps the caller's turn", async () => {
    const turns = new CallerTurns();
    const turn = await turns.take('a');
    let paused = false;
    const pause = turn.pause().then(() => (paused = true));
    await microtasks();
    expect(paused).toBe(false);
    let other = false;
    const next = turns.take('a').then((nextTurn) => ((other = true), nextTurn));
    await pause;
    expect([paused, other]).toEqual([true, false]);
    turn.end();
    await aTurn();
    expect(other).toBe(true);
    (await next).end();
  });

  it('a request that comes within the turn after the last one ended waits for it too', async () => {
    const turns = new CallerTurns();
    (await turns.take('a')).end();
    let started = false;
    const next = turns.take('a').then((turn) => ((started = true), turn));
    await microtasks();
    expect(started).toBe(false);
    await aTurn();
    expect(started).toBe(true);
    (await next).end();
  });

  it('while small requests are about, a large request rests eight times as long as each piece of its work took; with none about (or a second after the last), a turn', async () => {
    let now = 0;
    const turns = new CallerTurns(() => now);
    const resolvedWithin = async (promise: Promise<unknown>, ms: number) => {
      let done = false;
      void promise.then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, ms));
      return done;
    };
    // No small request yet: a piece of 40 ms is followed by a turn only.
    const turn = await turns.take('a');
    now += 40;
    expect(await resolvedWithin(turn.pause(), 15)).toBe(true);
    // A small request came: the next piece of 5 ms is followed by a rest of 40 ms.
    turns.noteSmall();
    now += 5;
    const pause = turn.pause();
    expect(await resolvedWithin(pause, 25)).toBe(false);
    expect(await resolvedWithin(pause, 150)).toBe(true);
    // The caller's next request rests after its last one's last piece too (4 ms: 32 ms).
    now += 4;
    turn.end();
    const next = turns.take('a');
    expect(await resolvedWithin(next, 15)).toBe(false);
    expect(await resolvedWithin(next, 150)).toBe(true);
    // A rest is at most 50 ms, however long the piece took (a piece's time includes its wait on the store).
    const longPiece = await next;
    now += 5_000;
    turns.noteSmall();
    const capped = longPiece.pause();
    expect(await resolvedWithin(capped, 30)).toBe(false);
    expect(await resolvedWithin(capped, 150)).toBe(true);
    // Pieces under half a millisecond rest a turn only.
    const nextTurn = await next;
    now += 0.4;
    expect(await resolvedWithin(nextTurn.pause(), 15)).toBe(true);
    // A second after the last small request, large requests run at full speed again.
    now += 1_000;
    const late = nextTurn.pause();
    now += 40;
    expect(await resolvedWithin(late, 15)).toBe(true);
    now += 40;
    expect(await resolvedWithin(nextTurn.pause(), 15)).toBe(true);
    nextTurn.end();
  });
});
