// A store that fails: every manager operation answers STORAGE_ERROR naming the store operation
// that failed, with the fault as its cause, and changes nothing stored.
import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type Lease, type PlanManagerOptions } from '../src';
import { storageError } from '../src/adapter';
import { expectRejection, snapshotStore } from './support/core-fixtures';
import { faulty, managerOn, runningInstance } from './support/manager-doubles';


describe('storage faults are STORAGE_ERROR naming the operation, with the fault as cause, and change nothing', () => {
  const fault = new Error('disk on fire');
  type Case = [label: string, failing: string, operation: string, scope: PlanManagerOptions['scope'], call: (m: PlanManager, ids: { instance: string; plan: string; step: string }) => Promise<unknown>];
  const cases: Case[] = [
    ['getInstance', 'get:instance', 'get', undefined, (m, ids) => m.getInstance(ids.instance)],
    ['getPlan', 'get:plan', 'get', undefined, (m, ids) => m.getPlan(ids.plan)],
    ['getPlan in an organization scope (its instance)', 'get:instance', 'get', { organization_id: 'org-1' }, (m, ids) => m.getPlan(ids.plan)],
    ['listInstances', 'list:instance', 'list', undefined, (m) => m.listInstances()],
    ['listPlans', 'list:plan', 'list', undefined, (m) => m.listPlans()],
    ['listPlans in an organization scope (its instance)', 'get:instance', 'get', { organization_id: 'org-1' }, (m, ids) => m.listPlans({ instance_id: ids.instance })],
    ['createPlan (its instance)', 'get:instance', 'get', undefined, (m, ids) => m.createPlan({ instance_id: ids.instance, title: 'Q', steps: [] })],
    ['executeStep (its instance)', 'get:instance', 'get', undefined, (m, ids) => m.executeStep({ plan_id: ids.plan, step_id: ids.step, step_status: 'in_progress' })],
    ['history of an instance', 'get:instance', 'get', undefined, (m, ids) => m.history(ids.instance)],
    ['history of a plan', 'get:plan', 'get', undefined, (m, ids) => m.history(ids.plan)],
    ['history itself', 'history', 'history', undefined, (m, ids) => m.history(ids.plan)],
    ['a commit', 'commit', 'commit', undefined, (m, ids) => m.updatePlan({ plan_id: ids.plan, title: 'Q' })],
    ['acquireLease', 'get:lease', 'get', undefined, (m, ids) => m.acquireLease(ids.instance, { owner: 'worker-a', ttl_ms: 1_000 })],
    ['renewLease', 'get:lease', 'get', undefined, (m, ids) => m.renewLease(leaseOf(ids.instance), { ttl_ms: 1_000 })],
    ['releaseLease', 'get:lease', 'get', undefined, (m, ids) => m.releaseLease(leaseOf(ids.instance))],
  ];
  /** A well-formed lease on the instance, as a holder would pass it back (never read: the read fails). */
  const leaseOf = (instanceId: string): Lease => ({
    id: instanceId,
    instance_id: instanceId,
    owner: 'worker-a',
    token: 1,
    ttl_ms: 1_000,
    expires_at: '2030-01-01T00:00:01.000Z',
    created_at: '2030-01-01T00:00:00.000Z',
    updated_at: '2030-01-01T00:00:00.000Z',
    version: 1,
  });

  it('a write to a leased instance whose lease cannot be read (the fence reads it after its check failed)', async () => {
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await runningInstance(setup);
    const plan = await setup.createPlan({ instance_id: instance.id, title: 'P', steps: [] });
    await setup.acquireLease(instance.id, { owner: 'worker-a', ttl_ms: 60_000 });
    const { adapter, fail } = faulty(store, fault);
    const before = await snapshotStore(store);
    fail('get:lease');
    const error = await expectRejection(managerOn(adapter).updatePlan({ plan_id: plan.id, title: 'Q' }), 'STORAGE_ERROR');
    expect(error.message).toMatch(/^Storage get failed: disk on fire\./);
    expect(error.cause).toBe(fault);
    expect(await snapshotStore(store)).toEqual(before);
  });

  it.each(cases)('%s', async (_, failing, operation, scope, call) => {
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await runningInstance(setup);
    const plan = await setup.createPlan({ instance_id: instance.id, title: 'P', steps: [{ title: 'A', type: 'process' }] });
    const { adapter, fail } = faulty(store, fault);
    const manager = managerOn(adapter, scope ? { scope } : {});
    const before = await snapshotStore(store);
    fail(failing);
    const error = await expectRejection(call(manager, { instance: instance.id, plan: plan.id, step: plan.steps[0]!.id }), 'STORAGE_ERROR');
    expect(error.message).toMatch(new RegExp(`^Storage ${operation} failed: disk on fire\\.`));
    expect(error.cause).toBe(fault);
    expect(await snapshotStore(store)).toEqual(before);
  });
});

describe('a failed commit says whether the change may have landed', () => {
  it.each([
    ['a fault without a reason', new Error('socket hang up'), { may_have_landed: true }],
    ['a dropped connection', { reason: 'connection' }, { reason: 'connection', may_have_landed: true }],
    ['a store that says it stored nothing', { reason: 'read_only' }, { reason: 'read_only', may_have_landed: false }],
    // An adapter that knows better says so itself, and is believed over the reason's default.
    ['an adapter that says so itself', { reason: 'connection', may_have_landed: false }, { reason: 'connection', may_have_landed: false }],
  ] as const)('%s', async (_, thrown, expected) => {
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await runningInstance(setup);
    const fault = thrown instanceof Error ? thrown : storageError('the store refused the batch', null, { ...thrown });
    const { adapter, fail } = faulty(store, fault);
    fail('commit');
    const error = await expectRejection(managerOn(adapter).transitionInstance(instance.id, { status: 'paused' }), 'STORAGE_ERROR');
    expect(error.details).toMatchObject(expected);
    expect(error.details.may_have_landed).toBe(expected.may_have_landed);
  });
});

