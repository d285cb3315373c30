// Recovery after a worker died: taking over an abandoned lease settles what its holder left
// half-done in the same commit; a runtime without leases recovers at start; a sweeper finds the
// instances to look at. On the memory adapter with clocks the test moves; the conformance suite
// checks the commit on every adapter, and the crash tests kill real processes.
import { describe, expect, it } from 'vitest';
import { replay, type CommittedChange, type Plan } from '../src';
import { checkInvariants } from '../src/testing/invariants';
import type { StorageAdapter } from '../src/adapter';
import { expectRejection } from './support/core-fixtures';
import { iso, leaseWorld, stored, T0 } from './support/lease-world';

/** Some records as stored, with their histories and leases. */
async function recordsOf(adapter: StorageAdapter, instances: string[], plans: string[]) {
  return {
    instances: await Promise.all(instances.map(async (id) => [await adapter.get('instance', id), await adapter.get('lease', id), await adapter.history(id)])),
    plans: await Promise.all(plans.map(async (id) => [await adapter.get('plan', id), await adapter.history(id)])),
  };
}

describe('acquireLease over an abandoned lease', () => {
  it('fails every step left in_progress, with the new lease, in one commit and one plan.recovered event naming both holdings', async () => {
    const { adapter, batches, a, b, advance, instance, plan, step } = await leaseWorld();
    const dead = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await dead.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    await dead.executeStep({ plan_id: plan.id, step_id: step(1), step_status: 'completed', step_output: 'done' });
    await dead.executeStep({ plan_id: plan.id, step_id: step(2), step_status: 'in_progress' });
    const before = (await b.getPlan(plan.id)) as Plan;
    advance(1_000); // worker-a never renews: at expires_at its lease has run out
    const heard: CommittedChange[] = [];
    b.subscribe((change) => heard.push(change));
    const committed = batches.length;

    const lease = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 5_000 });

    const output = `Interrupted: its worker "worker-a" (lease token 1) stopped before reporting a result; the lease expired at ${iso(T0 + 1_000)}. Execute the step again to retry it.`;
    expect(lease.token).toBe(2);
    expect(lease.recovered).toEqual({
      instance_id: instance.id,
      previous_owner: 'worker-a',
      previous_token: 1,
      expired_at: iso(T0 + 1_000),
      policy: 'fail',
      steps: [
        { plan_id: plan.id, step_id: step(0), title: 'One', status: 'failed' },
        { plan_id: plan.id, step_id: step(2), title: 'Three', status: 'failed' },
      ],
    });
    const after = await b.getPlan(plan.id);
    expect(after.version).toBe(before.version + 1);
    expect(after.status).toBe('in_progress');
    expect(after.steps.map((s) => [s.status, s.output, s.attempts])).toEqual([
      ['failed', output, 1],
      ['completed', 'done', 1],
      ['failed', output, 1],
      ['pending', null, 0],
    ]);
    // One batch: the new lease and the settled plan, checked by the lease write itself.
    expect(batches.length).toBe(committed + 1);
    expect(batches.at(-1)!.writes.map((write) => [write.kind, write.expected_version])).toEqual([
      ['lease', 1],
      ['plan', before.version],
    ]);
    expect(heard).toEqual([
      { records: [{ kind: 'lease', id: instance.id, version: 2 }, { kind: 'plan', id: plan.id, version: after.version }], events: [expect.objectContaining({ type: 'plan.recovered' })] },
    ]);
    const events = await b.history(plan.id);
    expect(events.at(-1)).toMatchObject({
      type: 'plan.recovered',
      seq: after.version,
      from: 'in_progress',
      to: 'in_progress',
      recovery: { previous_owner: 'worker-a', previous_token: 1, owner: 'worker-b', token: 2 },
    });
    expect(replay(events)).toEqual(after);
    expect(await checkInvariants(adapter)).toEqual([]);
  });

  it('the retry is explicit and counted (attempts 2), and the dead holder\'s late write is refused with LEASE_LOST', async () => {
    const { a, b, advance, instance, plan, step } = await leaseWorld();
    const dead = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await dead.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    advance(2_000);
    const worker = b.withLease(await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 5_000 }));
    const retried = await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    expect(retried.steps[0]).toMatchObject({ status: 'in_progress', attempts: 2, started_at: iso(T0 + 2_000) });
    // worker-a wakes up (its clock stopped before expiry) and reports the step it was doing.
    const late = a.withLease(dead.lease!);
    advance(-2_000, 'a');
    const error = await expectRejection(late.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'completed', step_output: 'too late' }), 'LEASE_LOST');
    expect(error.details).toMatchObject({ reason: 'taken', owner: 'worker-a', token: 1, current_owner: 'worker-b', current_token: 2 });
    const done = await worker.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'completed', step_output: 'finished by b' });
    expect(done.steps[0]).toMatchObject({ status: 'completed', output: 'finished by b', attempts: 2 });
  });

  it('with recovery "keep" the steps stay in_progress for the new holder, and nothing but the lease is written', async () => {
    const { a, b, advance, instance, plan, step } = await leaseWorld();
    const dead = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    const started = await dead.executeStep({ plan_id: plan.id, step_id: step(1), step_status: 'in_progress' });
    advance(1_500);
    const lease = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 5_000, recovery: 'keep' });
    expect(lease.recovered).toMatchObject({ policy: 'keep', previous_token: 1, steps: [{ plan_id: plan.id, step_id: step(1), title: 'Two', status: 'in_progress' }] });
    expect(await b.getPlan(plan.id)).toEqual(started);
    const done = await b.withLease(lease).executeStep({ plan_id: plan.id, step_id: step(1), step_status: 'completed', step_output: 'finished' });
    expect(done.steps[1]).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('recovers nothing when the previous holding ended cleanly or there was none: recovered is null and no plan changes', async () => {
    const { a, b, advance, instance, plan, step } = await leaseWorld();
    const first = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 });
    expect(first.recovered).toBeNull();
    // The holder acquiring again while its lease runs keeps its token: no recovery.
    expect((await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 })).recovered).toBeNull();
    const started = await a.withLease(first).executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    await a.releaseLease(first);
    advance(5_000);
    const next = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(next).toMatchObject({ token: 2, recovered: null });
    // A released holder said it was done: its in_progress step is its own report, left as it is.
    expect(await b.getPlan(plan.id)).toEqual(started);
  });

  it('settles every plan of the instance, leaves cancelled plans and other instances alone', async () => {
    const { adapter, a, b, advance, instance, plan, step } = await leaseWorld();
    const other = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(other.id, { status: 'running' });
    const otherPlan = await a.createPlan({ instance_id: other.id, title: 'Other', steps: [{ title: 'Elsewhere', type: 'process' }] });
    await a.executeStep({ plan_id: otherPlan.id, step_id: otherPlan.steps[0]!.id, step_status: 'in_progress' });
    const second = await a.createPlan({ instance_id: instance.id, title: 'Second', steps: [{ title: 'S1', type: 'tool_call' }] });
    const cancelled = await a.createPlan({ instance_id: instance.id, title: 'Cancelled', steps: [{ title: 'C1', type: 'process' }] });
    const worker = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await worker.executeStep({ plan_id: plan.id, step_id: step(3), step_status: 'in_progress' });
    await worker.executeStep({ plan_id: second.id, step_id: second.steps[0]!.id, step_status: 'in_progress' });
    await worker.executeStep({ plan_id: cancelled.id, step_id: cancelled.steps[0]!.id, step_status: 'in_progress' });
    const cancelledNow = await worker.updatePlan({ plan_id: cancelled.id, status: 'cancelled' });
    const untouched = await recordsOf(adapter, [other.id], [otherPlan.id]);
    advance(1_000);
    const lease = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(lease.recovered!.steps.map((s) => [s.title, s.status]).sort()).toEqual([
      ['Four', 'failed'],
      ['S1', 'failed'],
    ]);
    expect((await b.getPlan(second.id)).steps[0]!.status).toBe('failed');
    expect(await b.getPlan(cancelled.id)).toEqual(cancelledNow);
    expect(await recordsOf(adapter, [other.id], [otherPlan.id])).toEqual(untouched);
    expect(await checkInvariants(adapter)).toEqual([]);
  });

  it('a plan changed between the listing and the commit is read again: the commit conflicts, is retried, and settles it', async () => {
    const { a, b, advance, beforeNextCommit, instance, plan, step } = await leaseWorld();
    const dead = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await dead.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    advance(1_000);
    // Someone without a lease appends a step right before the recovery's commit (the lease ran out, so it may).
    beforeNextCommit(() => a.updatePlan({ plan_id: plan.id, steps: [{ title: 'Appended', type: 'review' }] }));
    const lease = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(lease.recovered!.steps.map((s) => s.title)).toEqual(['One']);
    const now = await b.getPlan(plan.id);
    expect(now.steps.map((s) => [s.title, s.status])).toEqual([
      ['One', 'failed'],
      ['Two', 'pending'],
      ['Three', 'pending'],
      ['Four', 'pending'],
      ['Appended', 'pending'],
    ]);
    expect(replay(await b.history(plan.id))).toEqual(now);
  });

  it('a step the old holder starts between the recovery\'s read and its commit is settled too (the plan\'s version is checked)', async () => {
    const { a, b, advance, beforeNextCommit, instance, plan, step } = await leaseWorld();
    const dead = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(1_000, 'b'); // only b's clock moves: worker-a still believes its lease runs
    beforeNextCommit(() => dead.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' }));
    const lease = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(lease.recovered!.steps.map((s) => [s.title, s.status])).toEqual([['One', 'failed']]);
    expect((await b.getPlan(plan.id)).steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
    await expectRejection(dead.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'completed', step_output: 'late' }), 'LEASE_LOST');
  });

  it('a plan the old holder creates and starts after the listing is found by a second look under the new lease, and settled', async () => {
    const { a, b, advance, beforeNextCommit, instance } = await leaseWorld();
    const dead = a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    advance(1_000, 'b');
    let created: Plan | undefined;
    beforeNextCommit(async () => {
      created = await dead.createPlan({ instance_id: instance.id, title: 'Late plan', steps: [{ title: 'Late step', type: 'process' }] });
      await dead.executeStep({ plan_id: created.id, step_id: created.steps[0]!.id, step_status: 'in_progress' });
    });
    const lease = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(lease.recovered!.steps.map((s) => [s.plan_id, s.title, s.status])).toEqual([[created!.id, 'Late step', 'failed']]);
    const settled = await b.getPlan(created!.id);
    expect(settled.steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await b.history(created!.id)).at(-1)).toMatchObject({ type: 'plan.recovered', recovery: { previous_owner: 'worker-a', previous_token: 1, owner: 'worker-b', token: 2 } });
  });

  it('never takes a plan past maxPlanTextLength: where the sentence would, the interrupted steps keep their last output', async () => {
    const { a, b, manager, advance, instance } = await leaseWorld();
    const tight = manager('tight', { limits: { maxPlanTextLength: 300 } });
    const plan = await a.createPlan({ instance_id: instance.id, title: 'P', ordering: 'free', steps: Array.from({ length: 10 }, (_, i) => ({ title: `s${i}`, type: 'process' as const })) });
    const owner = `worker-${'w'.repeat(150)}`;
    const dead = a.withLease(await a.acquireLease(instance.id, { owner, ttl_ms: 1_000 }));
    for (const step of plan.steps) await dead.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
    advance(2_000);
    const lease = await tight.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000 });
    expect(lease.recovered!.steps).toHaveLength(10);
    const settled = await b.getPlan(plan.id);
    expect(settled.steps.every((step) => step.status === 'failed' && step.output === null)).toBe(true);
    expect((await b.history(plan.id)).at(-1)).toMatchObject({ type: 'plan.recovered', recovery: { previous_owner: owner } });
  });

  it('refuses a recovery policy it does not know, naming the policies, and changes nothing', async () => {
    const { adapter, b, instance, plan } = await leaseWorld();
    const before = await recordsOf(adapter, [instance.id], [plan.id]);
    const error = await expectRejection(b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 1_000, recovery: 'retry' as 'keep' }), 'VALIDATION_ERROR');
    expect(error.details.issues).toEqual([{ path: 'recovery', message: 'must be one of: "fail", "keep"' }]);
    expect(await adapter.get('lease', instance.id)).toBeUndefined();
    expect(await recordsOf(adapter, [instance.id], [plan.id])).toEqual(before);
  });
});

describe('recover(): a runtime without leases, at start', () => {
  it('fails the in_progress steps of every non-terminal instance it can see, releases abandoned leases, and skips live holders and terminal instances', async () => {
    const { adapter, a, b, manager, advance, instance, plan, step } = await leaseWorld();
    // instance: left mid-step by a process without a lease.
    await a.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    // abandoned: a holder died mid-step.
    const abandoned = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(abandoned.id, { status: 'running' });
    const abandonedPlan = await a.createPlan({ instance_id: abandoned.id, title: 'A', steps: [{ title: 'A1', type: 'process' }] });
    const dead = a.withLease(await a.acquireLease(abandoned.id, { owner: 'worker-a', ttl_ms: 1_000 }));
    await dead.executeStep({ plan_id: abandonedPlan.id, step_id: abandonedPlan.steps[0]!.id, step_status: 'in_progress' });
    // live: a holder that renews.
    const live = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(live.id, { status: 'running' });
    const livePlan = await a.createPlan({ instance_id: live.id, title: 'L', steps: [{ title: 'L1', type: 'process' }] });
    const liveLease = await a.acquireLease(live.id, { owner: 'worker-live', ttl_ms: 60_000 });
    await a.withLease(liveLease).executeStep({ plan_id: livePlan.id, step_id: livePlan.steps[0]!.id, step_status: 'in_progress' });
    // finished: terminal, its plan's step left in_progress stays (nothing can run it).
    const finished = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(finished.id, { status: 'running' });
    const finishedPlan = await a.createPlan({ instance_id: finished.id, title: 'F', steps: [{ title: 'F1', type: 'process' }] });
    await a.executeStep({ plan_id: finishedPlan.id, step_id: finishedPlan.steps[0]!.id, step_status: 'in_progress' });
    await a.transitionInstance(finished.id, { status: 'stopped' });
    advance(2_000);
    const untouched = await recordsOf(adapter, [live.id, finished.id], [livePlan.id, finishedPlan.id]);

    const restarted = manager('restarted');
    advance(2_000, 'restarted');
    const recovered = await restarted.recover();
    const byInstance = new Map(recovered.map((r) => [r.instance_id, r]));
    expect([...byInstance.keys()].sort()).toEqual([instance.id, abandoned.id].sort());
    expect(byInstance.get(instance.id)).toEqual({
      instance_id: instance.id,
      previous_owner: null,
      previous_token: null,
      expired_at: null,
      policy: 'fail',
      steps: [{ plan_id: plan.id, step_id: step(0), title: 'One', status: 'failed' }],
    });
    expect(byInstance.get(abandoned.id)).toMatchObject({ previous_owner: 'worker-a', previous_token: 1, expired_at: iso(T0 + 1_000), steps: [{ title: 'A1', status: 'failed' }] });
    expect((await b.getPlan(plan.id)).steps[0]).toMatchObject({
      status: 'failed',
      output: 'Interrupted: the process running it stopped before reporting a result. Execute the step again to retry it.',
    });
    expect((await b.history(plan.id)).at(-1)).toMatchObject({ type: 'plan.recovered', recovery: { previous_owner: null, previous_token: null, owner: null, token: null } });
    // The abandoned lease is released in the same commit: the next holder gets a higher token and nothing to recover.
    expect(await adapter.get('lease', abandoned.id)).toMatchObject({ owner: null, token: 1 });
    expect(await b.acquireLease(abandoned.id, { owner: 'worker-b', ttl_ms: 1_000 })).toMatchObject({ token: 2, recovered: null });
    expect(await recordsOf(adapter, [live.id, finished.id], [livePlan.id, finishedPlan.id])).toEqual(untouched);
    // Once recovered, there is nothing left to recover.
    expect(await restarted.recover()).toEqual([]);
    expect(await checkInvariants(adapter)).toEqual([]);
  });

  it('with policy "keep" it reports the steps and releases abandoned leases, changing no plan', async () => {
    const { adapter, a, advance, instance, plan, step } = await leaseWorld();
    const started = await a.withLease(await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 1_000 })).executeStep({ plan_id: plan.id, step_id: step(2), step_status: 'in_progress' });
    advance(1_000);
    expect(await a.recover({ policy: 'keep' })).toEqual([
      { instance_id: instance.id, previous_owner: 'worker-a', previous_token: 1, expired_at: iso(T0 + 1_000), policy: 'keep', steps: [{ plan_id: plan.id, step_id: step(2), title: 'Three', status: 'in_progress' }] },
    ]);
    expect(await a.getPlan(plan.id)).toEqual(started);
    expect(stored((await adapter.get('lease', instance.id))!)).toMatchObject({ owner: null });
  });

  it('sees only its scope: another organization\'s instances are neither read nor changed', async () => {
    const { adapter, a, manager, instance, plan, step } = await leaseWorld();
    await a.executeStep({ plan_id: plan.id, step_id: step(0), step_status: 'in_progress' });
    const before = await recordsOf(adapter, [instance.id], [plan.id]);
    expect(await manager('other-org', { scope: { organization_id: 'org-2' } }).recover()).toEqual([]);
    expect(await recordsOf(adapter, [instance.id], [plan.id])).toEqual(before);
    expect(await manager('same-org', { scope: { organization_id: 'org-1' } }).recover()).toHaveLength(1);
  });

  it('refuses options it does not know, naming what is allowed', async () => {
    const { a } = await leaseWorld();
    expect((await expectRejection(a.recover({ policy: 'retry' as 'fail' }), 'VALIDATION_ERROR')).details.issues).toEqual([{ path: 'policy', message: 'must be one of: "fail", "keep"' }]);
    expect((await expectRejection(a.recover({ sweep: true } as never), 'VALIDATION_ERROR')).details.issues).toEqual([{ path: '(input)', message: 'unknown key: "sweep" (accepted: policy)' }]);
  });
});

describe('findStale(): what a sweeper looks at', () => {
  it('lists abandoned leases, and with idle_ms the instances no live holder has that saw no action for that long', async () => {
    const { a, advance, instance } = await leaseWorld();
    const busy = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(busy.id, { status: 'running' });
    const held = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(held.id, { status: 'running' });
    const done = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await a.transitionInstance(done.id, { status: 'stopped' });
    await a.acquireLease(instance.id, { owner: 'worker-dead', ttl_ms: 1_000 });
    advance(10_000);
    await a.acquireLease(held.id, { owner: 'worker-live', ttl_ms: 60_000 });
    await a.recordTurn(busy.id, { tokens: 5 });
    advance(1_000);

    const abandoned = await a.findStale();
    expect(abandoned.map((s) => [s.instance.id, s.reason, s.lease?.owner])).toEqual([[instance.id, 'lease_expired', 'worker-dead']]);
    // idle for 5 s: instance (abandoned, 11 s), done is terminal, held has a live lease, busy acted 1 s ago.
    const idle = await a.findStale({ idle_ms: 5_000 });
    expect(idle.map((s) => [s.instance.id, s.reason])).toEqual([[instance.id, 'lease_expired']]);
    const idleLong = await a.findStale({ idle_ms: 500 });
    expect(idleLong.map((s) => [s.instance.id, s.reason]).sort()).toEqual([[busy.id, 'idle'], [instance.id, 'lease_expired']].sort());
    expect(await a.findStale({ idle_ms: 500, limit: 1 })).toHaveLength(1);
  });

  it('refuses bad options, naming the bounds', async () => {
    const { a } = await leaseWorld();
    const refusals: [object, string, RegExp][] = [
      [{ idle_ms: 0 }, 'idle_ms', /at least 1/],
      [{ idle_ms: 1.5 }, 'idle_ms', /integer/],
      [{ limit: 0 }, 'limit', /at least 1/],
      [{ limit: 101 }, 'limit', /at most 100/],
      [{ other: 1 }, '(input)', /unknown key: "other" \(accepted: idle_ms, limit\)/],
    ];
    for (const [options, path, message] of refusals) {
      const [issue] = (await expectRejection(a.findStale(options as never), 'VALIDATION_ERROR')).details.issues as { path: string; message: string }[];
      expect(issue!.path, JSON.stringify(options)).toBe(path);
      expect(issue!.message, JSON.stringify(options)).toMatch(message);
    }
  });
});
