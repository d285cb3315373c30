// Leases through the manager: acquiring, renewing, releasing, and writing under a lease
// (fencing), on the memory adapter with a clock the test moves. The conformance suite checks the
// same through every adapter; test/postgres.server.test.ts races several processes. Further down:
// the ends of ttl_ms and owner, the codes, reasons, details and messages of every refusal, expiry
// at the exact instant, tokens across holdings, renewals and releases by someone who does not hold
// the lease, what a lease view adopts, and the lease checks of commits. The expectations come from
// docs/scaling.md, docs/tool.md and the documentation of the lease API.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InstancePlanError, Lease, MAX_LEASE_TTL_MS, memoryAdapter, PlanManager, type CommittedChange, type StorageAdapter } from '../src';
import { type CommitBatch } from '../src/adapter';
import { checkInvariants } from '../src/testing/invariants';
import { expectRejection, snapshotStore } from './support/core-fixtures';
import { iso, leaseWorld, recording, stored, T0 } from './support/lease-world';


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
      recovered: null,
    });
    expect(Lease.safeParse(stored(lease)).success).toBe(true);
    expect(await adapter.get('lease', instance.id)).toEqual(stored(lease));
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
    expect(await adapter.get('lease', instance.id)).toEqual(stored(lease));
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
    expect(await adapter.get('lease', instance.id)).toEqual(stored(taken));
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
    expect(await adapter.get('lease', instance.id)).toEqual(stored(taken));
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
  it('every write of the holder carries the lease check: steps, plan updates, new plans, the instance, its budget, the tool', async () => {
    const { batches, a, instance, plan, step } = await setup();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    expect(worker.lease).toEqual(stored(lease));
    const from = batches.length;
    await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    await worker.updatePlan({ plan_id: plan.id, title: 'Research, fenced' });
    await worker.createPlan({ instance_id: instance.id, title: 'Another', steps: [{ title: 'Only', type: 'review' }] });
    await worker.recordTurn(instance.id, { tokens: 10 });
    await worker.setCurrentStep(instance.id, 'Thinking');
    await worker.transitionInstance(instance.id, { status: 'paused' });
    await worker.setBudget(instance.id, { max_turns: 50 });
    const answer = await worker.forInstance(instance.id).handle({ action: 'execute_step', plan_id: plan.id, step_id: step(1), step_status: 'completed', step_output: 'ok' });
    expect(answer.success).toBe(true);
    const written = batches.slice(from);
    expect(written).toHaveLength(8);
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
        // The model: the stored holding, as the lease rules say it moves.
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

const DAY_MS = 24 * 60 * 60 * 1000;

/** A running instance with a free-ordering plan of two steps. */
const twoStepWorld = () => leaseWorld(['One', 'Two']);

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
    const { a, instance } = await twoStepWorld();
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
    const { adapter, a, instance } = await twoStepWorld();
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
    const { adapter, a, instance } = await twoStepWorld();
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
    expect(await adapter.get('lease', instance.id)).toEqual(stored(lease));
  });

  it('an empty owner is refused on the field owner, saying it must not be empty', async () => {
    const { a, instance } = await twoStepWorld();
    for (const owner of ['', ' \t ']) {
      const error = await expectRejection(a.acquireLease(instance.id, { owner, ttl_ms: 1_000 }), 'VALIDATION_ERROR');
      expect(issuesOf(error)).toEqual([{ path: 'owner', message: expect.stringMatching(/empty/) }]);
    }
  });

  it('owner is bounded by the manager\'s own maxIdLength, inclusive, and the refusal names the limit', async () => {
    const { a, manager, instance } = await twoStepWorld();
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
    const { adapter, a } = await twoStepWorld();
    const id = 'i'.repeat(201);
    const error = await expectRejection(a.acquireLease(id, { owner: 'worker-a', ttl_ms: 1_000 }), 'VALIDATION_ERROR');
    expect(error.message).toMatch(/instance id/);
    expect(await adapter.get('lease', id)).toBeUndefined();
  });
});


describe('acquireLease: holdings, tokens and the instant of expiry', () => {
  it('a millisecond before expires_at the holder keeps its token; at expires_at (exclusive) it starts a new holding with the next token', async () => {
    const { a, instance, advance } = await twoStepWorld();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(999);
    const extended = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    expect(extended).toEqual({ ...first, expires_at: iso(T0 + 1_999), updated_at: iso(T0 + 999), version: 2 });
    advance(1_000); // now T0 + 1999: exactly the expiry
    const next = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    expect(stored(next)).toEqual({ ...stored(first), token: 2, expires_at: iso(T0 + 2_999), updated_at: iso(T0 + 1_999), version: 3 });
    // The same owner after its own lease ran out unreleased: a new holding, recovering the old (nothing was in progress).
    expect(next.recovered).toEqual({ instance_id: instance.id, previous_owner: 'worker-a', previous_token: 1, expired_at: iso(T0 + 1_999), policy: 'fail', steps: [] });
  });

  it('a released lease is free at once, also for a manager whose clock is behind the release', async () => {
    const { a, b, instance, advance, step, plan } = await twoStepWorld();
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
    const { a, b, batches, instance } = await twoStepWorld();
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
    const { adapter, a, b, instance } = await twoStepWorld();
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
    expect(await adapter.get('lease', instance.id)).toEqual(stored(winner));
  });
});


describe('renewLease and releaseLease by someone who does not hold the lease', () => {
  it('a lease the store does not hold is LEASE_LOST "missing" for renewLease and releaseLease, naming it and saying to acquire', async () => {
    const { adapter, a, instance } = await twoStepWorld();
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
    const { adapter, a, instance, advance } = await twoStepWorld();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(1_000);
    const second = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    expect(second.token).toBe(2);
    for (const attempt of [() => a.renewLease(first), () => a.releaseLease(first)]) {
      const error = await expectRejection(attempt(), 'LEASE_LOST');
      expect(error.details).toEqual({ reason: 'taken', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: 'worker-a', current_token: 2 });
      expect(error.message).toMatch(/stop working on this instance/);
    }
    expect(await adapter.get('lease', instance.id)).toEqual(stored(second));
  });

  it('a lease naming another owner with the holder\'s token can neither renew nor release it (LEASE_LOST "taken", naming the holder), and the holding is untouched', async () => {
    const { adapter, a, b, instance } = await twoStepWorld();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const notMine = { ...lease, owner: 'worker-b' };
    for (const attempt of [() => b.renewLease(notMine, { ttl_ms: 1_000 }), () => b.releaseLease(notMine)]) {
      const error = await expectRejection(attempt(), 'LEASE_LOST');
      expect(error.details).toMatchObject({ reason: 'taken', instance_id: instance.id, owner: 'worker-b', token: 1, current_owner: 'worker-a', current_token: 1 });
      expect(error.message).toContain('"worker-a" took the instance over');
    }
    expect(await adapter.get('lease', instance.id)).toEqual(stored(lease));
  });

  it('releasing an earlier holding after the next holder released too is LEASE_LOST "taken", saying it was taken over and released since', async () => {
    const { adapter, a, b, instance, advance } = await twoStepWorld();
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
    const { a, instance, advance } = await twoStepWorld();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    advance(5_000);
    const released = await a.releaseLease(lease);
    expect(released).toEqual({ ...stored(lease), owner: null, expires_at: iso(T0 + 5_000), updated_at: iso(T0 + 5_000), version: 2 });
  });

  it('a manager that cannot see the instance cannot renew or release its lease (NOT_FOUND), and the lease is untouched', async () => {
    const { adapter, a, manager, instance } = await twoStepWorld();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const elsewhere = manager('elsewhere', { scope: { organization_id: 'org-2' } });
    await expectRejection(elsewhere.renewLease(lease), 'NOT_FOUND');
    await expectRejection(elsewhere.releaseLease(lease), 'NOT_FOUND');
    expect(await adapter.get('lease', instance.id)).toEqual(stored(lease));
  });

  it('a released lease is refused as input on its owner field, saying to acquire again', async () => {
    const { a, instance } = await twoStepWorld();
    const released = await a.releaseLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    const error = await expectRejection(a.renewLease(released), 'VALIDATION_ERROR');
    expect(issuesOf(error)).toEqual([{ path: 'owner', message: expect.stringMatching(/released.*acquireLease/) }]);
  });

  it('renewals and releases are announced as lease changes without events, and add nothing to the instance\'s history', async () => {
    const { a, instance, advance } = await twoStepWorld();
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
    const { a, instance, plan, step } = await twoStepWorld();
    expect(a.lease).toBeUndefined();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    const seen = worker.lease!;
    seen.owner = 'someone-else';
    seen.version = 99;
    expect(worker.lease).toEqual(stored(lease));
    await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
  });

  it('a renewal made through the view is adopted at once: its lease is the renewed one before any write', async () => {
    const { a, instance, advance } = await twoStepWorld();
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(500);
    const renewed = await worker.renewLease(worker.lease!);
    expect(worker.lease).toEqual(renewed);
    expect(renewed).toMatchObject({ token: 1, version: 2, expires_at: iso(T0 + 1_500) });
  });

  it('a view does not adopt the renewal of another instance\'s lease made through it, even one with the same token', async () => {
    const { a, b, batches, instance } = await twoStepWorld();
    const other = await b.createInstance({ organization_id: 'org-1', agent_type_id: 'writer' });
    const mine = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const theirs = await b.acquireLease(other.id, { owner: 'worker-a', ttl_ms: 60_000 });
    expect(theirs.token).toBe(mine.token);
    const worker = a.withLease(mine);
    const renewed = await worker.renewLease(theirs);
    expect(renewed).toMatchObject({ instance_id: other.id, version: 2 });
    expect(worker.lease).toEqual(stored(mine));
    await worker.recordTurn(instance.id, { tokens: 1 });
    expect(batches.at(-1)!.checks).toEqual([{ kind: 'lease', id: instance.id, expected_version: mine.version }]);
  });

  it('a stale view (the owner\'s earlier token) does not adopt the newer holding renewed through it, and stays LEASE_LOST "taken"', async () => {
    const { adapter, a, instance, plan, step, advance } = await twoStepWorld();
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
    const { adapter, a, b, instance, plan, step, advance } = await twoStepWorld();
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
    const { adapter, a, b, instance, plan, step } = await twoStepWorld();
    const lease = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const worker = a.withLease(lease);
    await b.releaseLease(lease);
    const before = await snapshotStore(adapter);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'released', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: null, current_token: 1 });
    expect(error.message).toContain('"worker-a"');
    expect(error.message).toMatch(/was released/);
    expect(error.message).toMatch(/acquire the lease again/);
    expect(worker.lease).toEqual(stored(lease));
    expect(await snapshotStore(adapter)).toEqual(before);
  });

  it('a view that released its own lease stays refused as "released", also once another owner took the instance', async () => {
    const { a, b, instance, plan, step } = await twoStepWorld();
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
    const { adapter, a, instance, plan, step } = await twoStepWorld();
    const worker = a.withLease(unstoredLease(instance.id));
    const before = await snapshotStore(adapter);
    const error = await expectRejection(worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }), 'LEASE_LOST');
    expect(error.details).toEqual({ reason: 'missing', instance_id: instance.id, owner: 'worker-a', token: 1, current_owner: null, current_token: null });
    expect(await snapshotStore(adapter)).toEqual(before);
    expect(await adapter.get('lease', instance.id)).toBeUndefined();
  });

  it('a view refused because its lease expired says when it expired and what time it is now, and to renew it', async () => {
    const { a, instance, plan, step, advance, now } = await twoStepWorld();
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
    const { a, instance } = await twoStepWorld();
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
    const { batches, b } = await twoStepWorld();
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
    const { beforeNextCommit, a, b, instance } = await twoStepWorld();
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
    const { adapter, a, manager, instance, advance } = await twoStepWorld();
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
    expect(await adapter.get('lease', instance.id)).toEqual(stored(lease));
  });
});
