// Covers behaviour of the lease code (src/manager/leases.ts, src/manager/fence.ts, the lease guard
// of src/manager/commit.ts, the lease parts of src/manager/plan-manager.ts) that mutation testing
// would otherwise leave unchecked: the ends of ttl_ms and owner, refusals' codes, reasons, details
// and messages, expiry at the exact instant, tokens across holdings, renewals and releases by
// someone who does not hold the lease, what a lease view adopts, and the lease checks of commits.
// Every expectation comes from DESIGN.md ("Leases"), docs/scaling.md, docs/tool.md and the doc
// comments of the lease code.
import { describe, expect, it } from 'vitest';
import {
  InstancePlanError,
  MAX_LEASE_TTL_MS,
  memoryAdapter,
  PlanManager,
  type CommitBatch,
  type CommittedChange,
  type Lease,
  type PlanManagerOptions,
  type StorageAdapter,
} from '../src';
import { expectRejection, snapshotStore } from './support/core-fixtures';
import { iso, leaseWorld, recording, T0 } from './support/lease-world';

const DAY_MS = 24 * 60 * 60 * 1000;

const setup = () => leaseWorld(['One', 'Two']);

/** A well-formed lease the store never handed out (for an instance never leased). */
function unstoredLease(instanceId: string, overrides: Partial<Lease> = {}): Lease {
  return {
    id: instanceId,
    instance_id: instanceId,
    owner: 'worker-a',
    token: 1,
    ttl_ms: 60_000,
    expires_at: iso(T0 + 60_000),
    created_at: iso(T0),
    updated_at: iso(T0),
    version: 1,
    ...overrides,
  };
}

/** The issues of a VALIDATION_ERROR, as `{ path, message }`. */
function issuesOf(error: InstancePlanError): { path: string; message: string }[] {
  return error.details.issues as { path: string; message: string }[];
}

describe('acquireLease and renewLease: the range of ttl_ms and owner', () => {
  it('MAX_LEASE_TTL_MS is one day, and ttl_ms is accepted at both ends: 1 ms and exactly one day', async () => {
    const { a, instance } = await setup();
    expect(MAX_LEASE_TTL_MS).toBe(DAY_MS);
    const shortest = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1 });
    expect(shortest).toMatchObject({ ttl_ms: 1, expires_at: iso(T0 + 1) });
    const longest = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: DAY_MS });
    expect(longest).toMatchObject({ ttl_ms: DAY_MS, expires_at: iso(T0 + DAY_MS) });
    const renewed = await a.renewLease(longest, { ttl_ms: DAY_MS });
    expect(renewed).toMatchObject({ ttl_ms: DAY_MS, expires_at: iso(T0 + DAY_MS) });
    expect((await a.renewLease(renewed, { ttl_ms: 1 })).expires_at).toBe(iso(T0 + 1));
  });

  it('a ttl_ms out of range is refused on the field ttl_ms, saying the bound: at least 1 millisecond, at most one day (renew instead)', async () => {
    const { adapter, a, instance } = await setup();
    const tooShort = await expectRejection(a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 0 }), 'VALIDATION_ERROR');
    expect(issuesOf(tooShort)).toHaveLength(1);
    expect(issuesOf(tooShort)[0]!.path).toBe('ttl_ms');
    expect(issuesOf(tooShort)[0]!.message).toMatch(/at least 1\b/);
    expect(issuesOf(tooShort)[0]!.message).toMatch(/millisecond/);
    const tooLong = await expectRejection(a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: DAY_MS + 1 }), 'VALIDATION_ERROR');
    expect(issuesOf(tooLong)[0]!.path).toBe('ttl_ms');
    expect(issuesOf(tooLong)[0]!.message).toContain(`at most ${DAY_MS}`);
    expect(issuesOf(tooLong)[0]!.message).toMatch(/renew/);
    expect(tooLong.message).toMatch(/acquireLease/);
    expect(await adapter.get('lease', instance.id)).toBeUndefined();
  });

  it('renewLease validates its ttl_ms as acquireLease does (1 to one day, an integer, no other option), and a refused renewal changes nothing', async () => {
    const { adapter, a, instance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 10_000 });
    for (const [options, field, message] of [
      [{ ttl_ms: 0 }, 'ttl_ms', /at least 1\b/],
      [{ ttl_ms: DAY_MS + 1 }, 'ttl_ms', new RegExp(`at most ${DAY_MS}`)],
      [{ ttl_ms: 2.5 }, 'ttl_ms', /integer/],
      [{ ttl_ms: 1_000, owner: 'worker-b' }, undefined, /owner/],
    ] as const) {
      const error = await expectRejection(a.renewLease(lease, options as never), 'VALIDATION_ERROR');
      expect(error.message).toMatch(/renewLease/);
      expect(issuesOf(error)).toHaveLength(1);
      // An unknown option is named in the message; where zod puts its path is its own business.
      if (field) expect(issuesOf(error)[0]!.path).toBe(field);
      expect(issuesOf(error)[0]!.message).toMatch(message);
    }
    expect(await adapter.get('lease', instance.id)).toEqual(lease);
  });

  it('an empty owner is refused on the field owner, saying it must not be empty', async () => {
    const { a, instance } = await setup();
    for (const owner of ['', ' \t ']) {
      const error = await expectRejection(a.acquireLease(instance.id, { owner, ttl_ms: 1_000 }), 'VALIDATION_ERROR');
      expect(issuesOf(error)).toEqual([{ path: 'owner', message: expect.stringMatching(/empty/) }]);
    }
  });

  it('owner is bounded by the manager\'s own maxIdLength, inclusive, and the refusal names the limit', async () => {
    const { a, manager, instance } = await setup();
    const longest = await a.acquireLease(instance.id, { owner: 'w'.repeat(200), ttl_ms: 1_000 });
    expect(longest.owner).toHaveLength(200);
    await a.releaseLease(longest);
    const strict = manager('strict', { limits: { maxIdLength: 40 } });
    const error = await expectRejection(strict.acquireLease(instance.id, { owner: 'w'.repeat(41), ttl_ms: 1_000 }), 'VALIDATION_ERROR');
    expect(issuesOf(error)).toEqual([{ path: 'owner', message: expect.stringMatching(/at most 40 characters.*maxIdLength/) }]);
    expect((await strict.acquireLease(instance.id, { owner: 'w'.repeat(40), ttl_ms: 1_000 })).owner).toHaveLength(40);
    // The default manager keeps its own limit: the strict one's schemas are not shared with it.
    await expectRejection(a.acquireLease(instance.id, { owner: 'w'.repeat(41), ttl_ms: 1_000 }), 'LEASE_HELD');
  });

  it('an instance id that is no valid id is refused as the instance id, and no lease is stored', async () => {
    const { adapter, a } = await setup();
    const id = 'i'.repeat(201);
    const error = await expectRejection(a.acquireLease(id, { owner: 'worker-a', ttl_ms: 1_000 }), 'VALIDATION_ERROR');
    expect(error.message).toMatch(/instance id/);
    expect(await adapter.get('lease', id)).toBeUndefined();
  });
});

describe('acquireLease: holdings, tokens and the instant of expiry', () => {
  it('a millisecond before expires_at the holder keeps its token; at expires_at (exclusive) it starts a new holding with the next token', async () => {
    const { a, instance, advance } = await setup();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(999);
    const extended = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    expect(extended).toEqual({ ...first, expires_at: iso(T0 + 1_999), updated_at: iso(T0 + 999), version: 2 });
    advance(1_000); // now T0 + 1999: exactly the expiry
    const next = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    expect(next).toEqual({ ...first, token: 2, expires_at: iso(T0 + 2_999), updated_at: iso(T0 + 1_999), version: 3 });
  });

  it('a released lease is free at once, also for a manager whose clock is behind the release', async () => {
    const { a, b, instance, advance, step, plan } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    advance(10_000, 'a');
    const released = await a.releaseLease(lease);
    expect(released).toMatchObject({ owner: null, expires_at: iso(T0 + 10_000), updated_at: iso(T0 + 10_000), version: 2 });
    // B's clock reads T0, before the release's expires_at: the lease is still free to it.
    const written = await b.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    expect(written.steps[0]!.status).toBe('in_progress');
    const taken = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(taken).toMatchObject({ owner: 'worker-b', token: 2, version: 3 });
  });

  it('the same owner acquiring twice at once gets the lease both times with one token (a retried acquire must not fail)', async () => {
    const { a, b, batches, instance } = await setup();
    const from = batches.length;
    const [one, two] = await Promise.all([
      a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }),
      b.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }),
    ]);
    // Both read "no lease"; the second commit conflicted on the lease record and was run again.
    expect(batches.length - from).toBe(3);
    expect([one.token, two.token]).toEqual([1, 1]);
    expect([one.version, two.version].sort()).toEqual([1, 2]);
  });

  it('two owners acquiring at once: one holds the lease, the other is LEASE_HELD naming the winner', async () => {
    const { adapter, a, b, instance } = await setup();
    const outcomes = await Promise.allSettled([
      a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }),
      b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 }),
    ]);
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<Lease>).value;
    expect(lost[0]!.reason).toBeInstanceOf(InstancePlanError);
    expect(lost[0]!.reason).toMatchObject({ code: 'LEASE_HELD', details: { owner: winner.owner, token: 1, expires_at: winner.expires_at } });
    expect(await adapter.get('lease', instance.id)).toEqual(winner);
  });
});

describe('renewLease and releaseLease by someone who does not hold the lease', () => {
  it('a lease the store does not hold is LEASE_LOST "missing" for renewLease and releaseLease, naming it and saying to acquire', async () => {
    const { adapter, a, instance } = await setup();
    const lease = unstoredLease(instance.id);
    for (const attempt of [() => a.renewLease(lease), () => a.releaseLease(lease)]) {
      const error = await expectRejection(attempt(), 'LEASE_LOST');
      expect(error.details).toEqual({ reason: 'missing', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: null, current_token: null });
      expect(error.message).toContain('"worker-a"');
      expect(error.message).toContain(JSON.stringify(instance.id));
      expect(error.message).toMatch(/not in the store/);
      expect(error.message).toMatch(/acquire/);
    }
    expect(await adapter.get('lease', instance.id)).toBeUndefined();
  });

  it('an earlier holding of the same owner can neither renew nor release the next one: LEASE_LOST "taken" with the current token', async () => {
    const { adapter, a, instance, advance } = await setup();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(1_000);
    const second = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    expect(second.token).toBe(2);
    for (const attempt of [() => a.renewLease(first), () => a.releaseLease(first)]) {
      const error = await expectRejection(attempt(), 'LEASE_LOST');
      expect(error.details).toEqual({ reason: 'taken', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: 'worker-a', current_token: 2 });
      expect(error.message).toMatch(/stop working on this instance/);
    }
    expect(await adapter.get('lease', instance.id)).toEqual(second);
  });

  it('a lease naming another owner with the holder\'s token can neither renew nor release it (LEASE_LOST "taken", naming the holder), and the holding is untouched', async () => {
    const { adapter, a, b, instance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const notMine = { ...lease, owner: 'worker-b' };
    for (const attempt of [() => b.renewLease(notMine, { ttl_ms: 1_000 }), () => b.releaseLease(notMine)]) {
      const error = await expectRejection(attempt(), 'LEASE_LOST');
      expect(error.details).toMatchObject({ reason: 'taken', instance_id: instance.id, owner: 'worker-b', token: 1, current_owner: 'worker-a', current_token: 1 });
      expect(error.message).toContain('"worker-a" took the instance over');
    }
    expect(await adapter.get('lease', instance.id)).toEqual(lease);
  });

  it('releasing an earlier holding after the next holder released too is LEASE_LOST "taken", saying it was taken over and released since', async () => {
    const { adapter, a, b, instance, advance } = await setup();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(1_000);
    const released = await b.releaseLease(await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 }));
    const error = await expectRejection(a.releaseLease(first), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'taken', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: null, current_token: 2 });
    expect(error.message).toMatch(/took the instance over and released it since/);
    expect(error.message).toContain('token 2');
    expect(await adapter.get('lease', instance.id)).toEqual(released);
  });

  it('the holder may release its lease after expiry while nobody took it', async () => {
    const { a, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(5_000);
    const released = await a.releaseLease(lease);
    expect(released).toEqual({ ...lease, owner: null, expires_at: iso(T0 + 5_000), updated_at: iso(T0 + 5_000), version: 2 });
  });

  it('a manager that cannot see the instance cannot renew or release its lease (NOT_FOUND), and the lease is untouched', async () => {
    const { adapter, a, manager, instance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const elsewhere = manager('elsewhere', { scope: { organization_id: 'org-2' } });
    await expectRejection(elsewhere.renewLease(lease), 'NOT_FOUND');
    await expectRejection(elsewhere.releaseLease(lease), 'NOT_FOUND');
    expect(await adapter.get('lease', instance.id)).toEqual(lease);
  });

  it('a released lease is refused as input on its owner field, saying to acquire again', async () => {
    const { a, instance } = await setup();
    const released = await a.releaseLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    const error = await expectRejection(a.renewLease(released), 'VALIDATION_ERROR');
    expect(issuesOf(error)).toEqual([{ path: 'owner', message: expect.stringMatching(/released.*acquireLease/) }]);
  });

  it('renewals and releases are announced as lease changes without events, and add nothing to the instance\'s history', async () => {
    const { a, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    const history = await a.history(instance.id);
    const heard: CommittedChange[] = [];
    a.subscribe((change) => heard.push(change));
    advance(100);
    const renewed = await a.renewLease(lease);
    await a.releaseLease(renewed);
    expect(heard).toEqual([
      { records: [{ kind: 'lease', id: instance.id, version: 2 }], events: [] },
      { records: [{ kind: 'lease', id: instance.id, version: 3 }], events: [] },
    ]);
    expect(await a.history(instance.id)).toEqual(history);
  });
});

describe('lease views: what they adopt, and why they are refused', () => {
  it('a plain manager has no lease; a view\'s lease is a copy (changing it changes nothing)', async () => {
    const { a, instance, plan, step } = await setup();
    expect(a.lease).toBeUndefined();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    const seen = worker.lease!;
    seen.owner = 'someone-else';
    seen.version = 99;
    expect(worker.lease).toEqual(lease);
    await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
  });

  it('a renewal made through the view is adopted at once: its lease is the renewed one before any write', async () => {
    const { a, instance, advance } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(500);
    const renewed = await worker.renewLease(worker.lease!);
    expect(worker.lease).toEqual(renewed);
    expect(renewed).toMatchObject({ token: 1, version: 2, expires_at: iso(T0 + 1_500) });
  });

  it('a view does not adopt the renewal of another instance\'s lease made through it, even one with the same token', async () => {
    const { a, b, batches, instance } = await setup();
    const other = await b.createInstance({ organization_id: 'org-1', agent_type_id: 'writer' });
    const mine = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const theirs = await b.acquireLease(other.id, { owner: 'worker-a', ttl_ms: 60_000 });
    expect(theirs.token).toBe(mine.token);
    const worker = a.withLease(mine);
    const renewed = await worker.renewLease(theirs);
    expect(renewed).toMatchObject({ instance_id: other.id, version: 2 });
    expect(worker.lease).toEqual(mine);
    await worker.recordTurn(instance.id, { tokens: 1 });
    expect(batches.at(-1)!.checks).toEqual([{ kind: 'lease', id: instance.id, expected_version: mine.version }]);
  });

  it('a stale view (the owner\'s earlier token) does not adopt the newer holding renewed through it, and stays LEASE_LOST "taken"', async () => {
    const { adapter, a, instance, plan, step, advance } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(1_000);
    const second = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const renewed = await worker.renewLease(second);
    expect(worker.lease).toMatchObject({ token: 1, version: 1 });
    const before = await snapshotStore(adapter);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'taken', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: 'worker-a', current_token: 2 });
    expect(await snapshotStore(adapter)).toEqual(before);
    expect(await adapter.get('lease', instance.id)).toEqual(renewed);
  });

  it('a view whose lease is still running by its clock but was taken by the same owner again is LEASE_LOST "taken" (the store\'s check)', async () => {
    const { adapter, a, b, instance, plan, step, advance } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(1_000, 'b'); // only B's clock moves: A's view believes its lease runs
    await b.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const before = await snapshotStore(adapter);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toMatchObject({ reason: 'taken', token: 1, current_token: 2 });
    expect(worker.lease).toMatchObject({ token: 1 });
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('a view whose lease was released through another manager is LEASE_LOST "released" naming its owner, and keeps its lease as it knew it', async () => {
    const { adapter, a, b, instance, plan, step } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    await b.releaseLease(lease);
    const before = await snapshotStore(adapter);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'released', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: null, current_token: 1 });
    expect(error.message).toContain('"worker-a"');
    expect(error.message).toMatch(/was released/);
    expect(error.message).toMatch(/acquire the lease again/);
    expect(worker.lease).toEqual(lease);
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('a view that released its own lease stays refused as "released", also once another owner took the instance', async () => {
    const { a, b, instance, plan, step } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 }));
    await worker.releaseLease(worker.lease!);
    await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 60_000 });
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toMatchObject({ reason: 'released', instance_id: instance.id, token: 1 });
    // The view's lease has no owner any more: the message must not name one ("of null").
    expect(error.message).not.toMatch(/\bnull\b/);
    expect(error.message).toContain(`The lease on instance ${JSON.stringify(instance.id)} (token 1) was released.`);
  });

  it('a view of a lease the store does not hold is LEASE_LOST "missing" and changes nothing', async () => {
    const { adapter, a, instance, plan, step } = await setup();
    const worker = a.withLease(unstoredLease(instance.id));
    const before = await snapshotStore(adapter);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'missing', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: null, current_token: null });
    expect(await snapshotStore(adapter)).toEqual(before);
    expect(await adapter.get('lease', instance.id)).toBeUndefined();
  });

  it('a view refused because its lease expired says when it expired and what time it is now, and to renew it', async () => {
    const { a, instance, plan, step, advance, now } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    const worker = a.withLease(lease);
    advance(1_500);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'expired', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: 'worker-a', current_token: 1 });
    expect(error.message).toContain(lease.expires_at);
    expect(error.message).toContain(now('a'));
    expect(error.message).toMatch(/renewLease/);
  });

  it('a view\'s commits reach its own and its parent\'s subscribers exactly once on an adapter with a change feed', async () => {
    const { a, instance } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 }));
    const parentHeard: CommittedChange[] = [];
    const viewHeard: CommittedChange[] = [];
    a.subscribe((change) => parentHeard.push(change));
    worker.subscribe((change) => viewHeard.push(change));
    const updated = await worker.recordTurn(instance.id, { tokens: 3 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    const expected = [{ kind: 'instance', id: instance.id, version: updated.version }];
    expect(viewHeard.map((change) => change.records)).toEqual([expected]);
    expect(parentHeard.map((change) => change.records)).toEqual([expected]);
  });
});

describe('the lease checks of commits', () => {
  it('creating an instance carries no lease check (a new instance cannot be leased yet)', async () => {
    const { batches, b } = await setup();
    const from = batches.length;
    await b.createInstance({ organization_id: 'org-1', agent_type_id: 'writer' });
    expect(batches.slice(from)).toHaveLength(1);
    expect(batches.at(-1)!.checks).toBeUndefined();
  });

  it('a stale "no lease" check of a lease that is free commits the very same mutation again (not a new attempt on a later clock)', async () => {
    const { adapter, batches } = recording();
    let ticks = 0;
    const manager = new PlanManager({ adapter, clock: () => new Date(T0 + ticks++) }); // moves 1 ms per reading
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const lease = await manager.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1 });
    ticks += 10; // the lease has run out
    const from = batches.length;
    const written = await manager.recordTurn(instance.id, { tokens: 1 });
    const tried = batches.slice(from);
    expect(tried.map((batch) => batch.checks)).toEqual([
      [{ kind: 'lease', id: instance.id, expected_version: null }],
      [{ kind: 'lease', id: instance.id, expected_version: lease.version }],
    ]);
    expect(tried[1]!.writes).toEqual(tried[0]!.writes);
    expect(written).toEqual(tried[0]!.writes[0]!.record);
  });

  it('a view\'s stale check after a renewal made elsewhere commits the very same mutation again (not a new attempt on a later clock)', async () => {
    const { adapter, batches } = recording();
    let ticks = 0;
    const manager = new PlanManager({ adapter, clock: () => new Date(T0 + ticks++) });
    const other = new PlanManager({ adapter, clock: () => new Date(T0 + ticks) });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const lease = await manager.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = manager.withLease(lease);
    const renewed = await other.renewLease(lease);
    const from = batches.length;
    const written = await worker.recordTurn(instance.id, { tokens: 1 });
    const tried = batches.slice(from);
    expect(tried.map((batch) => batch.checks![0]!.expected_version)).toEqual([lease.version, renewed.version]);
    expect(tried[1]!.writes).toEqual(tried[0]!.writes);
    expect(written).toEqual(tried[0]!.writes[0]!.record);
    expect(worker.lease).toEqual(renewed);
  });

  it('a conflict on the instance itself, not its lease, runs the attempt again on fresh data (both writers\' turns count)', async () => {
    const { beforeNextCommit, a, b, instance } = await setup();
    // Without a lease, and under one: the racing write lands between the attempt's read and its commit.
    beforeNextCommit(() => b.recordTurn(instance.id, { tokens: 5 }));
    const plain = await a.recordTurn(instance.id, { tokens: 1 });
    expect(plain).toMatchObject({ turn_count: 2, tokens_total: 6 });
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    const racer = b.withLease(lease);
    beforeNextCommit(() => racer.recordTurn(instance.id, { tokens: 7 }));
    const fenced = await worker.recordTurn(instance.id, { tokens: 1 });
    expect(fenced).toMatchObject({ turn_count: 4, tokens_total: 14 });
  });

  it('re-reading a lease after a stale check counts against retries: with retries 0 it is CONFLICT and changes nothing; with 1 the write lands', async () => {
    const { adapter, a, manager, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(1_000);
    const none = manager('none', { retries: 0 });
    advance(1_000, 'none');
    const before = await snapshotStore(adapter);
    const error = await expectRejection(none.recordTurn(instance.id, { tokens: 1 }), 'CONFLICT');
    expect(error.details).toMatchObject({ kind: 'lease', id: instance.id, attempts: 1 });
    expect(await snapshotStore(adapter)).toEqual(before);
    const once = manager('once', { retries: 1 });
    advance(1_000, 'once');
    expect((await once.recordTurn(instance.id, { tokens: 1 })).turn_count).toBe(1);
    expect(await adapter.get('lease', instance.id)).toEqual(lease);
  });
});
