// Leases through the manager: acquiring, renewing, releasing, and writing under a lease
// (fencing), on the memory adapter with a clock the test moves. The conformance suite checks the
// same through every adapter; test/postgres.server.test.ts races several processes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InstancePlanError,
  Lease,
  MAX_LEASE_TTL_MS,
  memoryAdapter,
  PlanManager,
  type CommitBatch,
  type CommittedChange,
  type StorageAdapter,
} from '../src';
import { checkInvariants } from '../src/testing/invariants';
import { expectRejection, snapshotStore } from './support/core-fixtures';
import { iso, leaseWorld, recording, T0 } from './support/lease-world';


const setup = () => leaseWorld();

describe('acquireLease', () => {
  it('stores a lease under the instance id with token 1 and the expiry from the clock, announced but without history', async () => {
    const { adapter, a, instance } = await setup();
    const heard: CommittedChange[] = [];
    a.subscribe((change) => heard.push(change));
    const before = await a.history(instance.id);
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 30_000 });
    expect(lease).toEqual({
      id: instance.id,
      instance_id: instance.id,
      owner: 'worker-a',
      token: 1,
      ttl_ms: 30_000,
      expires_at: iso(T0 + 30_000),
      created_at: iso(T0),
      updated_at: iso(T0),
      version: 1,
    });
    expect(Lease.safeParse(lease).success).toBe(true);
    expect(await adapter.get('lease', instance.id)).toEqual(lease);
    expect(await a.history(instance.id)).toEqual(before);
    expect(heard).toEqual([{ records: [{ kind: 'lease', id: instance.id, version: 1 }], events: [] }]);
  });

  it('refuses another owner while the lease runs (LEASE_HELD, saying who and until when), and changes nothing', async () => {
    const { adapter, a, b, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 30_000 });
    advance(29_999);
    const error = await expectRejection(b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 30_000 }), 'LEASE_HELD');
    expect(error.details).toEqual({ instance_id: instance.id, owner: 'worker-a', token: 1, expires_at: lease.expires_at });
    expect(error.message).toContain('"worker-a"');
    expect(error.message).toContain(lease.expires_at);
    expect(await adapter.get('lease', instance.id)).toEqual(lease);
  });

  it('the holder acquiring again extends its lease and keeps the token (a safe retry)', async () => {
    const { a, instance, advance } = await setup();
    await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 30_000 });
    advance(10_000);
    const again = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 5_000 });
    expect(again).toMatchObject({ owner: 'worker-a', token: 1, ttl_ms: 5_000, expires_at: iso(T0 + 15_000), created_at: iso(T0), version: 2 });
  });

  it('every new holding gets the next token: after expiry, after release, and for the same owner coming back', async () => {
    const { a, b, instance, advance } = await setup();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(1_000); // expires_at is exclusive: at that instant the lease has run out
    const second = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    const released = await b.releaseLease(second);
    const third = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(5_000);
    const fourth = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    expect([first, second, released, third, fourth].map((lease) => [lease.owner, lease.token])).toEqual([
      ['worker-a', 1],
      ['worker-b', 2],
      [null, 2],
      ['worker-a', 3],
      ['worker-a', 4],
    ]);
    expect(fourth.created_at).toBe(first.created_at);
  });

  it('needs an instance the manager can see', async () => {
    const { a, manager, instance } = await setup();
    await expectRejection(a.acquireLease('no-such-instance', { owner: 'worker-a', ttl_ms: 1_000 }), 'NOT_FOUND');
    const elsewhere = manager('other-org', { scope: { organization_id: 'org-2' } });
    await expectRejection(elsewhere.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }), 'NOT_FOUND');
  });

  it.each([
    ['an empty owner', { owner: '', ttl_ms: 1_000 }, 'owner'],
    ['a blank owner', { owner: '  ', ttl_ms: 1_000 }, 'owner'],
    ['an owner over maxIdLength', { owner: 'x'.repeat(201), ttl_ms: 1_000 }, 'owner'],
    ['no ttl_ms', { owner: 'worker-a' }, 'ttl_ms'],
    ['a ttl_ms of 0', { owner: 'worker-a', ttl_ms: 0 }, 'ttl_ms'],
    ['a fractional ttl_ms', { owner: 'worker-a', ttl_ms: 1.5 }, 'ttl_ms'],
    ['a ttl_ms over a day', { owner: 'worker-a', ttl_ms: MAX_LEASE_TTL_MS + 1 }, 'ttl_ms'],
    ['an unknown option', { owner: 'worker-a', ttl_ms: 1_000, steal: true }, 'steal'],
  ])('refuses %s with VALIDATION_ERROR naming the field, and stores nothing', async (_name, options, field) => {
    const { adapter, a, instance } = await setup();
    const error = await expectRejection(a.acquireLease(instance.id, options as never), 'VALIDATION_ERROR');
    expect(JSON.stringify(error.details.issues)).toContain(field);
    expect(await adapter.get('lease', instance.id)).toBeUndefined();
  });
});

describe('renewLease and releaseLease', () => {
  it('renewing extends from now by the lease\'s own ttl (or the one given), keeping the token', async () => {
    const { a, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 10_000 });
    advance(4_000);
    const renewed = await a.renewLease(lease);
    expect(renewed).toMatchObject({ token: 1, ttl_ms: 10_000, expires_at: iso(T0 + 14_000), version: 2 });
    const longer = await a.renewLease(renewed, { ttl_ms: 60_000 });
    expect(longer).toMatchObject({ token: 1, ttl_ms: 60_000, expires_at: iso(T0 + 64_000), version: 3 });
  });

  it('an expired lease nobody took can still be renewed; one taken over cannot (LEASE_LOST "taken"), and nothing changes', async () => {
    const { adapter, a, b, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(5_000);
    const renewed = await a.renewLease(lease);
    expect(renewed).toMatchObject({ owner: 'worker-a', token: 1, expires_at: iso(T0 + 6_000) });
    advance(1_000);
    const taken = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    const error = await expectRejection(a.renewLease(renewed), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'taken', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: 'worker-b', current_token: 2 });
    expect(await adapter.get('lease', instance.id)).toEqual(taken);
  });

  it('releasing keeps the lease stored without owner; releasing again is a no-op; a released lease cannot be renewed or used', async () => {
    const { adapter, batches, a, instance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 10_000 });
    const released = await a.releaseLease(lease);
    expect(released).toMatchObject({ owner: null, token: 1, expires_at: iso(T0), version: 2 });
    const commits = batches.length;
    expect(await a.releaseLease(lease)).toEqual(released);
    expect(batches.length).toBe(commits);
    const lost = await expectRejection(a.renewLease(lease), 'LEASE_LOST');
    expect(lost.details.reason).toBe('released');
    for (const use of [() => a.renewLease(released), () => a.releaseLease(released), async () => a.withLease(released)]) {
      const error = await expectRejection(use(), 'VALIDATION_ERROR');
      expect(error.message).toMatch(/released/);
    }
    expect(await adapter.get('lease', instance.id)).toEqual(released);
  });

  it('releasing a lease another owner took is LEASE_LOST and leaves their lease alone', async () => {
    const { adapter, a, b, instance, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(2_000);
    const taken = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    await expectRejection(a.releaseLease(lease), 'LEASE_LOST');
    expect(await adapter.get('lease', instance.id)).toEqual(taken);
  });

  it('refuses a malformed lease with VALIDATION_ERROR', async () => {
    const { a, instance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    for (const bad of [{ ...lease, token: 0 }, { ...lease, extra: 1 }, { ...lease, owner: 5 }, null, 'lease']) {
      await expectRejection(a.renewLease(bad as never), 'VALIDATION_ERROR');
      expect(() => a.withLease(bad as never)).toThrow(InstancePlanError);
    }
    await expectRejection(a.renewLease(lease, { ttl_ms: -1 }), 'VALIDATION_ERROR');
  });
});

describe('writing under a lease (withLease)', () => {
  it('every write of the holder carries the lease check: steps, plan updates, new plans, the instance, the tool', async () => {
    const { batches, a, instance, plan, step } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    expect(worker.lease).toEqual(lease);
    const from = batches.length;
    await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    await worker.updatePlan({ plan_id: plan.id, title: 'Research, fenced' });
    await worker.createPlan({ instance_id: instance.id, title: 'Another', steps: [{ title: 'Only', type: 'review' }] });
    await worker.recordTurn(instance.id, { tokens: 10 });
    await worker.setCurrentStep(instance.id, 'Thinking');
    await worker.transitionInstance(instance.id, { status: 'waiting' });
    const answer = await worker.forInstance(instance.id).handle({ action: 'execute_step', plan_id: plan.id, step_id: step(1), step_status: 'completed', step_output: 'ok' });
    expect(answer.success).toBe(true);
    const written = batches.slice(from);
    expect(written).toHaveLength(7);
    for (const batch of written) expect(batch.checks).toEqual([{ kind: 'lease', id: instance.id, expected_version: lease.version }]);
  });

  it('a holder whose lease ran out by its own clock is refused with LEASE_LOST "expired" before anything is sent; renewing lets it write again', async () => {
    const { adapter, batches, a, instance, plan, step, advance } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(1_000);
    const before = await snapshotStore(adapter);
    const commits = batches.length;
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details.reason).toBe('expired');
    expect(error.message).toMatch(/expired at .*renew it/);
    expect(batches.length).toBe(commits);
    expect(await snapshotStore(adapter)).toEqual(before);
    await worker.renewLease(worker.lease!);
    await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
  });

  it('a renewal made through another manager is picked up: the stale check is read again and the same write committed', async () => {
    const { batches, a, instance, plan, step, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    const worker = a.withLease(lease);
    advance(500);
    const renewed = await a.renewLease(lease); // the heartbeat, through the plain manager
    advance(900); // past the first expiry, within the renewed one
    const from = batches.length;
    const done = await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    expect(done.version).toBe(plan.version + 1);
    // Read again at once (the clock said "expired"), so the first commit already carried the renewal.
    expect(batches.slice(from).map((batch) => batch.checks)).toEqual([[{ kind: 'lease', id: instance.id, expected_version: renewed.version }]]);
    expect(worker.lease).toEqual(renewed);

    const again = await a.renewLease(renewed); // a renewal the worker does not know of, its clock still within both
    const next = batches.length;
    await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'completed', step_output: 'done' });
    const tried = batches.slice(next);
    expect(tried.map((batch) => batch.checks![0]!.expected_version)).toEqual([renewed.version, again.version]);
    expect(tried[0]!.writes).toEqual(tried[1]!.writes);
  });

  it('a holder whose lease was taken over is refused with LEASE_LOST "taken", through its methods and its tool, and nothing changes', async () => {
    const { adapter, a, b, instance, plan, step, advance } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(1_000, 'b'); // only B's clock moves: A believes its lease still runs
    await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    const before = await snapshotStore(adapter);
    const writes = [
      () => worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }),
      () => worker.updatePlan({ plan_id: plan.id, status: 'paused' }),
      () => worker.createPlan({ instance_id: instance.id, title: 'Late', steps: [] }),
      () => worker.transitionInstance(instance.id, { status: 'stopped' }),
    ];
    for (const write of writes) {
      const error = await expectRejection(write(), 'LEASE_LOST');
      expect(error.details).toMatchObject({ reason: 'taken', owner: 'worker-a', current_owner: 'worker-b', current_token: 2 });
    }
    const answer = await worker.forInstance(instance.id).handle({ action: 'update', plan_id: plan.id, title: 'Late' });
    expect(answer).toMatchObject({ success: false, error: { code: 'LEASE_LOST', reason: 'taken' } });
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('writes to another instance are checked as any manager\'s: free ones go through, leased ones are LEASE_HELD', async () => {
    const { a, b, instance } = await setup();
    const other = await b.createInstance({ organization_id: 'org-1', agent_type_id: 'writer' });
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 }));
    await worker.transitionInstance(other.id, { status: 'running' });
    await b.acquireLease(other.id, { owner: 'worker-b', ttl_ms: 60_000 });
    await expectRejection(worker.transitionInstance(other.id, { status: 'paused' }), 'LEASE_HELD');
  });

  it('a release through the view ends its writes (LEASE_LOST "released")', async () => {
    const { a, instance, plan, step } = await setup();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 }));
    await worker.releaseLease(worker.lease!);
    expect(worker.lease?.owner).toBeNull();
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details.reason).toBe('released');
  });

  it('the view\'s commits reach the parent\'s subscribers on an adapter without a change feed', async () => {
    const inner = memoryAdapter();
    const adapter: StorageAdapter = { get: inner.get, list: inner.list, history: inner.history, commit: inner.commit };
    const manager = new PlanManager({ adapter });
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    const heard: CommittedChange[] = [];
    manager.subscribe((change) => heard.push(change));
    const worker = manager.withLease(await manager.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 }));
    const viewHeard: CommittedChange[] = [];
    worker.subscribe((change) => viewHeard.push(change));
    await worker.transitionInstance(instance.id, { status: 'running' });
    expect(heard.map((change) => change.records[0]!.kind)).toEqual(['lease', 'instance']);
    expect(viewHeard.map((change) => change.records[0]!.kind)).toEqual(['instance']);
  });
});

describe('writing without a lease', () => {
  it('an instance leased by someone is LEASE_HELD for every write of a manager without the lease, its own acquirer included', async () => {
    const { adapter, a, b, instance, plan, step } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const before = await snapshotStore(adapter);
    for (const manager of [a, b]) {
      const writes = [
        () => manager.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }),
        () => manager.updatePlan({ plan_id: plan.id, title: 'Unfenced' }),
        () => manager.createPlan({ instance_id: instance.id, title: 'Unfenced', steps: [] }),
        () => manager.recordTurn(instance.id, { tokens: 1 }),
      ];
      for (const write of writes) {
        const error = await expectRejection(write(), 'LEASE_HELD');
        expect(error.details).toEqual({ instance_id: instance.id, owner: 'worker-a', token: 1, expires_at: lease.expires_at });
        expect(error.message).toMatch(/withLease/);
      }
    }
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('once the lease expired or was released, anyone writes again; the stale "no lease" check is read and the same write committed', async () => {
    const { batches, a, b, instance, plan, step, advance } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(1_000);
    const from = batches.length;
    await b.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    expect(batches.slice(from).map((batch) => batch.checks)).toEqual([
      [{ kind: 'lease', id: instance.id, expected_version: null }],
      [{ kind: 'lease', id: instance.id, expected_version: lease.version }],
    ]);
    const released = await a.releaseLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await b.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'completed', step_output: 'done' });
    expect(batches.at(-1)!.checks).toEqual([{ kind: 'lease', id: instance.id, expected_version: released.version }]);
  });

  it('an instance never leased costs nothing more than a check that no lease exists', async () => {
    const { batches, b, instance, plan, step } = await setup();
    const from = batches.length;
    await b.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    expect(batches.slice(from).map((batch) => batch.checks)).toEqual([[{ kind: 'lease', id: instance.id, expected_version: null }]]);
  });
});

describe('leases over random histories (property)', () => {
  type Op =
    | { kind: 'acquire'; owner: number; ttl: number }
    | { kind: 'renew'; owner: number }
    | { kind: 'release'; owner: number }
    | { kind: 'write'; owner: number }
    | { kind: 'wait'; ms: number };
  const owner = fc.integer({ min: 0, max: 2 });
  // Weighted towards acquiring and writing, so that histories reach writes that land.
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('acquire' as const), owner, ttl: fc.integer({ min: 1, max: 3_000 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('renew' as const), owner }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), owner }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), owner }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2_000 }) }) },
  );

  it('at most one owner holds at a time, tokens grow exactly with new holdings, and a write lands only under the current holding', async () => {
    // Across all runs: the histories must reach every outcome, or the property proves little.
    const seen = { writes: 0, held: 0, lost: 0, tokens: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60, size: 'max' }), async (ops) => {
        const adapter = memoryAdapter();
        let now = T0;
        const manager = new PlanManager({ adapter, clock: () => new Date(now) });
        const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
        await manager.transitionInstance(instance.id, { status: 'running' });
        const held: (Lease | undefined)[] = [undefined, undefined, undefined];
        // The model: the stored holding, as DESIGN of leases says it moves.
        let model: { owner: number | null; token: number; expires: number } = { owner: null, token: 0, expires: 0 };
        let writes = 0;
        for (const step of ops) {
          const active = model.owner !== null && model.expires > now;
          if (step.kind === 'wait') {
            now += step.ms;
            continue;
          }
          const mine = held[step.owner];
          try {
            if (step.kind === 'acquire') {
              const lease = await manager.acquireLease(instance.id, { owner: `w${step.owner}`, ttl_ms: step.ttl });
              expect(active && model.owner !== step.owner).toBe(false);
              const token = active ? model.token : model.token + 1;
              expect(lease.token).toBe(token);
              model = { owner: step.owner, token, expires: now + step.ttl };
              held[step.owner] = lease;
            } else if (step.kind === 'renew' && mine) {
              const lease = await manager.renewLease(mine);
              expect(model.owner === step.owner && model.token === mine.token).toBe(true);
              model.expires = now + mine.ttl_ms;
              held[step.owner] = lease;
            } else if (step.kind === 'release' && mine) {
              await manager.releaseLease(mine);
              expect(mine.token === model.token && (model.owner === step.owner || model.owner === null)).toBe(true);
              model.owner = null;
            } else if (step.kind === 'write' && mine) {
              await manager.withLease(mine).recordTurn(instance.id, { tokens: 1 });
              expect(model.owner === step.owner && model.token === mine.token && model.expires > now).toBe(true);
              writes++;
            }
          } catch (error) {
            if (!InstancePlanError.is(error)) throw error;
            if (error.code === 'LEASE_HELD') seen.held++;
            if (error.code === 'LEASE_LOST') seen.lost++;
            // Refused exactly when the model says the holding does not allow it.
            if (step.kind === 'acquire') expect([error.code, active && model.owner !== step.owner]).toEqual(['LEASE_HELD', true]);
            else if (step.kind === 'release' && mine) expect([error.code, mine.token !== model.token || (model.owner !== step.owner && model.owner !== null)]).toEqual(['LEASE_LOST', true]);
            else expect([error.code, model.owner === step.owner && model.token === mine!.token && (step.kind === 'renew' || model.expires > now)]).toEqual(['LEASE_LOST', false]);
          }
        }
        expect((await manager.getInstance(instance.id)).turn_count).toBe(writes);
        seen.writes += writes;
        seen.tokens = Math.max(seen.tokens, model.token);
        expect(await checkInvariants(adapter)).toEqual([]);
      }),
      { numRuns: 150 },
    );
    expect(seen.writes).toBeGreaterThan(100);
    expect(seen.held).toBeGreaterThan(100);
    expect(seen.lost).toBeGreaterThan(100);
    expect(seen.tokens).toBeGreaterThan(3);
  });
});
