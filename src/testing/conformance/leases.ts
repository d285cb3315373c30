import type { CommitBatch, CommittedChange, StorageAdapter } from '../../adapters/contract';
import { InstancePlanError } from '../../errors';
import { PlanManager } from '../../manager/plan-manager';
import type { Lease } from '../../schemas/records';
import { check, checkEqual, checkRejects, eventually, tryChange } from './assert';
import { createBatch, instanceRecord, leaseRecord, planRecord, T0, updateOf } from './fixtures';
import { checkUnchanged, snapshot, type ConformanceContext, type Harness } from './harness';

/** A batch writing a lease record (leases have no history events). */
const leaseWrite = (record: Lease, expected: number | null): CommitBatch => ({
  writes: [{ kind: 'lease', record, expected_version: expected }],
  events: [],
});

/** Expects a CONFLICT naming this record and versions. */
async function checkConflict(promise: Promise<unknown>, what: string, expected: { kind: string; id: string; expected: number | null; actual: number | null }) {
  const error = (await checkRejects(promise, what, 'CONFLICT')) as InstancePlanError;
  checkEqual(
    { kind: error.details.kind, id: error.details.id, expected: error.details.expected_version, actual: error.details.actual_version },
    expected,
    `${what}: the CONFLICT details`,
  );
}

/** An instance, one of its plans and its lease, all at version 1. */
async function leasedStore(adapter: StorageAdapter) {
  const instance = instanceRecord({ id: 'instance-1' });
  const plan = planRecord({ id: 'plan-1', instance_id: 'instance-1' });
  const lease = leaseRecord({ id: 'instance-1' });
  const batch = createBatch(['instance', instance], ['plan', plan]);
  batch.writes.push({ kind: 'lease', record: lease, expected_version: null });
  await adapter.commit(batch);
  return { instance, plan, lease };
}

/** The store as far as these tests touch it: records, histories, lists, and the lease. */
async function state(adapter: StorageAdapter) {
  return { ...(await snapshot(adapter, { instance: ['instance-1'], plan: ['plan-1', 'plan-2'] })), lease: await adapter.get('lease', 'instance-1') };
}

export function leases(h: Harness): void {
  h.describe('lease records and checks', () => {
    h.it('a lease is stored and read under its own kind: the instance of the same id, lists and history do not see it', async ({ adapter }) => {
      const { instance, plan, lease } = await leasedStore(adapter);
      checkEqual(await adapter.get('lease', 'instance-1'), lease, 'get(lease)');
      checkEqual(await adapter.get('instance', 'instance-1'), instance, 'get(instance) of the same id');
      checkEqual(await adapter.get('lease', 'plan-1'), undefined, 'get(lease) of a plan id');
      checkEqual(await adapter.list('instance', { where: {}, limit: 10, offset: 0 }), { records: [instance], total: 1 }, 'list(instance)');
      checkEqual(await adapter.list('plan', { where: {}, limit: 10, offset: 0 }), { records: [plan], total: 1 }, 'list(plan)');
      checkEqual((await adapter.history('instance-1')).map((event) => event.type), ['instance.created'], 'history of the instance id');
      const got = (await adapter.get('lease', 'instance-1'))!;
      tryChange(() => (got.owner = 'scribbled'));
      checkEqual(await adapter.get('lease', 'instance-1'), lease, 'get(lease) after the caller changed a returned lease');
    });

    h.it('leases are compare-and-set like every record: a stale version or a second creation is a CONFLICT naming the lease', async ({ adapter }) => {
      const { lease } = await leasedStore(adapter);
      const taken = { ...lease, owner: 'worker-b', token: 2, version: 2 };
      await adapter.commit(leaseWrite(taken, 1));
      await checkConflict(adapter.commit(leaseWrite({ ...lease, owner: 'worker-c', token: 2, version: 2 }, 1)), 'a lease update over version 1 of a version-2 lease', {
        kind: 'lease',
        id: 'instance-1',
        expected: 1,
        actual: 2,
      });
      await checkConflict(adapter.commit(leaseWrite(leaseRecord({ id: 'instance-1', owner: 'worker-d' }), null)), 'a second creation of the lease', {
        kind: 'lease',
        id: 'instance-1',
        expected: null,
        actual: 2,
      });
      checkEqual(await adapter.get('lease', 'instance-1'), taken, 'the lease after the refusals');
    });

    h.it('a batch whose checks hold lands whole, and the checked records are neither written nor announced', async ({ adapter }) => {
      const { instance, plan, lease } = await leasedStore(adapter);
      const heard: CommittedChange[] = [];
      const stop = h.changeFeed ? adapter.subscribe!((change) => heard.push(change)) : () => undefined;
      const next = updateOf('plan', plan, { status: 'in_progress' });
      await adapter.commit({
        ...next.batch,
        checks: [
          { kind: 'lease', id: 'instance-1', expected_version: 1 },
          { kind: 'instance', id: 'instance-1', expected_version: 1 },
          { kind: 'plan', id: 'plan-1', expected_version: 1 },
          { kind: 'lease', id: 'no-such-lease', expected_version: null },
        ],
      });
      checkEqual(await adapter.get('plan', 'plan-1'), next.record, 'the written plan');
      checkEqual(await adapter.get('lease', 'instance-1'), lease, 'the checked lease, unchanged');
      checkEqual(await adapter.get('instance', 'instance-1'), instance, 'the checked instance, unchanged');
      checkEqual(await adapter.get('lease', 'no-such-lease'), undefined, 'a lease checked as absent, still absent');
      checkEqual((await adapter.history('instance-1')).length, 1, 'events of the checked instance');
      if (h.changeFeed) {
        await eventually(() => heard.length >= 1, 5_000, 'the change');
        checkEqual(heard.map((change) => change.records), [[{ kind: 'plan', id: 'plan-1', version: 2 }]], 'records announced: the written plan only');
      }
      stop();
    });

    h.it('a batch of checks only stores nothing and announces nothing; a stale one is a CONFLICT', async ({ adapter }) => {
      const { plan } = await leasedStore(adapter);
      const heard: CommittedChange[] = [];
      const stop = h.changeFeed ? adapter.subscribe!((change) => heard.push(change)) : () => undefined;
      const before = await state(adapter);
      await adapter.commit({ writes: [], events: [], checks: [{ kind: 'lease', id: 'instance-1', expected_version: 1 }] });
      checkEqual(await state(adapter), before, 'the store after a batch of checks that hold');
      await checkConflict(
        adapter.commit({ writes: [], events: [], checks: [{ kind: 'instance', id: 'instance-1', expected_version: 7 }] }),
        'a batch of one stale check',
        { kind: 'instance', id: 'instance-1', expected: 7, actual: 1 },
      );
      checkEqual(await state(adapter), before, 'the store after a batch of one stale check');
      if (h.changeFeed) {
        // Changes arrive in commit order: once the next real change is heard, anything announced
        // for the checks would have been heard before it.
        const next = updateOf('plan', plan, { title: 'after the checks' });
        await adapter.commit(next.batch);
        await eventually(() => heard.length >= 1, 5_000, 'the change after the checks');
        checkEqual(heard.map((change) => change.records), [[{ kind: 'plan', id: 'plan-1', version: 2 }]], 'changes announced: the real one only');
      }
      stop();
    });

    h.it('a stale check refuses the whole batch with a CONFLICT naming the checked record, and stores nothing', async ({ adapter }) => {
      const { instance, plan } = await leasedStore(adapter);
      await adapter.commit(leaseWrite(leaseRecord({ id: 'instance-1', owner: 'worker-b', token: 2, version: 2 }), 1));
      const before = await state(adapter);
      const instanceNext = updateOf('instance', instance, { current_step: 'Summarise' });
      const planNext = updateOf('plan', plan, { status: 'in_progress' });
      const created = createBatch(['plan', planRecord({ id: 'plan-2' })]);
      const batch: CommitBatch = {
        writes: [...instanceNext.batch.writes, ...created.writes, ...planNext.batch.writes],
        events: [...instanceNext.batch.events, ...created.events, ...planNext.batch.events],
        // The holder of token 1 read version 1 of its lease; another owner has taken it since.
        checks: [
          { kind: 'plan', id: 'plan-1', expected_version: 1 },
          { kind: 'lease', id: 'instance-1', expected_version: 1 },
        ],
      };
      await checkConflict(adapter.commit(batch), 'a batch checking a lease taken over', { kind: 'lease', id: 'instance-1', expected: 1, actual: 2 });
      checkEqual(await state(adapter), before, 'a batch refused for a stale check must leave the store unchanged');
    });

    h.it('a check of a missing record holds only for null; a check for null fails once the record exists', async ({ adapter }) => {
      const plan = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', plan]));
      const before = await snapshot(adapter, { plan: ['plan-1'] });
      const next = updateOf('plan', plan, { title: 'changed' });
      await checkConflict(adapter.commit({ ...next.batch, checks: [{ kind: 'lease', id: 'instance-1', expected_version: 1 }] }), 'a check of a lease never stored', {
        kind: 'lease',
        id: 'instance-1',
        expected: 1,
        actual: null,
      });
      await checkUnchanged(adapter, before, { plan: ['plan-1'] }, 'a batch checking a lease never stored');
      await adapter.commit(leaseWrite(leaseRecord({ id: 'instance-1' }), null));
      await checkConflict(adapter.commit({ ...next.batch, checks: [{ kind: 'lease', id: 'instance-1', expected_version: null }] }), 'a check for no lease, now that there is one', {
        kind: 'lease',
        id: 'instance-1',
        expected: null,
        actual: 1,
      });
      await checkUnchanged(adapter, before, { plan: ['plan-1'] }, 'a batch checking for no lease');
    });

    h.it('a check sees what another handle committed: a lease taken over there fails the check here', async ({ adapter, connect }) => {
      const other = await connect();
      const { lease, plan } = await leasedStore(adapter);
      await other.commit(leaseWrite({ ...lease, owner: 'worker-b', token: 2, version: 2 }, 1));
      const before = await state(adapter);
      const next = updateOf('plan', plan, { status: 'in_progress' });
      await checkConflict(adapter.commit({ ...next.batch, checks: [{ kind: 'lease', id: 'instance-1', expected_version: 1 }] }), 'a stale check after the other handle took the lease', {
        kind: 'lease',
        id: 'instance-1',
        expected: 1,
        actual: 2,
      });
      checkEqual(await state(adapter), before, 'the store after the refused batch');
    });

    h.it('two managers on two handles: a holder whose lease was taken over is refused with LEASE_LOST, even by a clock that says its lease still runs', async (context) => {
      await staleHolder(context);
    });
  });
}

/**
 * Worker A holds the instance; its clock stops (a paused process). Worker B's clock moves past
 * A's expiry and B takes the instance over. A still believes it holds the lease, so only the
 * store's check can refuse its writes.
 */
async function staleHolder({ adapter, connect }: ConformanceContext) {
  let bNow = Date.parse(T0);
  const a = new PlanManager({ adapter, clock: () => new Date(T0) });
  const b = new PlanManager({ adapter: await connect(), clock: () => new Date(bNow) });
  const instance = await a.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
  await a.transitionInstance(instance.id, { status: 'running' });
  const plan = await a.createPlan({ instance_id: instance.id, title: 'Fenced', steps: [{ title: 'One', type: 'process' }, { title: 'Two', type: 'process' }] });
  const [one, two] = plan.steps;

  const leaseA = await a.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 10_000 });
  const workerA = a.withLease(leaseA);
  await workerA.executeStep({ plan_id: plan.id, step_id: one!.id, step_status: 'completed', step_output: 'done by A' });
  await checkRejects(b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 10_000 }), 'B acquiring while A holds the lease', 'LEASE_HELD');
  await checkRejects(b.executeStep({ plan_id: plan.id, step_id: two!.id, step_status: 'in_progress' }), 'B writing without the lease A holds', 'LEASE_HELD');

  bNow += 10_001;
  const leaseB = await b.acquireLease(instance.id, { owner: 'worker-b', ttl_ms: 10_000 });
  check(leaseB.token === leaseA.token + 1, `the new owner's token must be the next one: ${leaseA.token} then ${leaseB.token}`);
  const before = { plan: await b.getPlan(plan.id), instance: await b.getInstance(instance.id), history: await b.history(plan.id) };
  const lost = (await checkRejects(
    workerA.executeStep({ plan_id: plan.id, step_id: two!.id, step_status: 'in_progress' }),
    'A writing under the lease B took over',
    'LEASE_LOST',
  )) as InstancePlanError;
  checkEqual([lost.details.reason, lost.details.current_owner, lost.details.current_token], ['taken', 'worker-b', leaseB.token], 'the LEASE_LOST details');
  await checkRejects(a.renewLease(leaseA), 'A renewing the lease B took over', 'LEASE_LOST');
  checkEqual(
    { plan: await b.getPlan(plan.id), instance: await b.getInstance(instance.id), history: await b.history(plan.id) },
    before,
    'the plan, its instance and its history after the refused writes',
  );
  const done = await b.withLease(leaseB).executeStep({ plan_id: plan.id, step_id: two!.id, step_status: 'in_progress' });
  checkEqual(done.steps.map((step) => step.status), ['completed', 'in_progress'], 'the steps after B wrote under its lease');
}
