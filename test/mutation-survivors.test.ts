// Behaviour that the second Stryker run (docs/testing.md, "Mutation testing") found unchecked
// after the first round of tests: conflict messages, malformed batches, what a store announces,
// and a database that is not ours at our own schema version.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { checkBatch, instanceLogic, InstancePlanError, memoryAdapter, PlanManager, type CommittedChange } from '../src';
import { indexedDBAdapter } from '../src/adapters/indexeddb';
import { SCHEMA_VERSION } from '../src/adapters/indexeddb/schema';
import { createBatch, planRecord, stepRecord, updateOf } from '../src/testing/conformance/fixtures';
import { rawOpen } from './support/idb-behaviour';
import { deleteDatabase, freshName } from './support/idb-harness';

describe('CONFLICT says which version was expected and which was found, "none" for a record that does not exist', () => {
  it('creating a record that already exists', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    await adapter.commit(createBatch(['plan', plan]));
    const error = await adapter.commit(createBatch(['plan', plan])).catch((e: unknown) => e);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    expect((error as InstancePlanError).message).toContain('expected version none (new record), found 1');
    expect((error as InstancePlanError).details).toMatchObject({ kind: 'plan', id: 'plan-1', expected_version: null, actual_version: 1 });
  });

  it('updating a record that does not exist', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    const error = await adapter.commit(updateOf('plan', plan, { title: 'changed' }).batch).catch((e: unknown) => e);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    expect((error as InstancePlanError).message).toContain(`expected version ${plan.version}, found none`);
  });
});

describe('the memory store', () => {
  it('refuses a batch that writes one record twice, naming it, and stores nothing', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    const twice = { writes: [...createBatch(['plan', plan]).writes, ...createBatch(['plan', plan]).writes], events: [] };
    await expect(adapter.commit(twice)).rejects.toThrow(/plan "plan-1" twice/);
    expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
  });
});

describe('IndexedDB: a database that is not ours', () => {
  it('at our own schema version (no upgrade runs) is refused naming each store it lacks, and left as it was', async () => {
    const name = freshName('foreign-same-version');
    try {
      (await rawOpen(name, SCHEMA_VERSION, (db) => db.createObjectStore('plans'))).close();
      const adapter = indexedDBAdapter({ name });
      const error = await adapter.get('plan', 'plan-1').catch((e: unknown) => e);
      expect(InstancePlanError.is(error, 'STORAGE_ERROR')).toBe(true);
      const details = (error as InstancePlanError).details as { reason: string; stored_version: number; missing_stores: string[] };
      expect(details.reason).toBe('not_an_instance_plan_database');
      expect(details.stored_version).toBe(SCHEMA_VERSION);
      expect(new Set(details.missing_stores)).toEqual(new Set(['instances', 'events', 'leases', 'counts']));
      for (const store of details.missing_stores) expect((error as Error).message).toContain(store);
      expect((error as Error).message).toMatch(/has no (\w+, ){3}\w+ store/);
      await adapter.close();
      const db = await rawOpen(name);
      expect([db.version, Array.from(db.objectStoreNames)]).toEqual([SCHEMA_VERSION, ['plans']]);
      db.close();
    } finally {
      await deleteDatabase(name);
    }
  });
});

describe('IndexedDB: kinds and platforms', () => {
  it('a wrong kind names the kinds each method takes: get takes leases, list does not', async () => {
    const adapter = indexedDBAdapter({ name: freshName('kinds') });
    try {
      await expect(adapter.get('user' as never, 'x')).rejects.toThrow('the kind must be "instance" or "plan" (records) or "lease", got "user"');
      await expect(adapter.list('lease' as never, { where: {}, limit: 1, offset: 0 })).rejects.toThrow('the kind must be "instance" or "plan", got "lease"');
    } finally {
      await adapter.close();
      await deleteDatabase(adapter.name);
    }
  });

  it('without BroadcastChannel, commits work and this adapter\'s subscribers still hear them', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const adapter = indexedDBAdapter({ name: freshName('no-channel') });
    try {
      const heard: CommittedChange[] = [];
      adapter.subscribe((change) => heard.push(change));
      await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
      expect(heard.map((change) => change.records)).toEqual([[{ kind: 'plan', id: 'plan-1', version: 1 }]]);
      expect(await adapter.get('plan', 'plan-1')).toEqual(planRecord({ id: 'plan-1' }));
    } finally {
      vi.unstubAllGlobals();
      await adapter.close();
      await deleteDatabase(adapter.name);
    }
  });

  it('closing twice is closing once', async () => {
    const adapter = indexedDBAdapter({ name: freshName('close-twice') });
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    await adapter.close();
    await adapter.close();
    const error = await adapter.get('plan', 'plan-1').catch((e: unknown) => e);
    expect((error as InstancePlanError).details).toMatchObject({ reason: 'closed' });
    await deleteDatabase(adapter.name);
  });
});

describe('copies of records', () => {
  it('a record with an object under "__proto__" is stored and handed out as data, never shared with the caller', async () => {
    const adapter = memoryAdapter();
    const details = JSON.parse('{"__proto__": {"inner": {"n": 1}}, "list": [{"n": 2}]}');
    const plan = planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details })] });
    await adapter.commit(createBatch(['plan', plan]));
    details['__proto__'].inner.n = 99; // an own data property: this changes the caller's object only
    const got = (await adapter.get('plan', 'plan-1'))!.steps[0]!.details as Record<string, { inner: { n: number } }>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ inner: { n: 1 } });
    got['__proto__']!.inner.n = 7;
    expect(((await adapter.get('plan', 'plan-1'))!.steps[0]!.details as typeof got)['__proto__']!.inner.n).toBe(1);
  });

  it('enumerable keys someone added to Object.prototype never find their way into a copy', async () => {
    const adapter = memoryAdapter();
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details: { a: { b: 1 } } })] })]));
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.injected = { evil: true };
    try {
      const got = (await adapter.get('plan', 'plan-1'))!;
      expect(Object.hasOwn(got, 'injected')).toBe(false);
      expect(Object.hasOwn(got.steps[0]!.details, 'injected')).toBe(false);
      expect(Object.hasOwn(got.steps[0]!.details.a as object, 'injected')).toBe(false);
    } finally {
      delete prototype.injected;
    }
  });
});

describe('limits', () => {
  it('each limit must be a positive integer: 1 is the least, and a refusal names the limit and the value', () => {
    expect(() => new PlanManager({ limits: { maxSteps: 1, maxIdLength: 1 } })).not.toThrow();
    for (const bad of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => new PlanManager({ limits: { maxSteps: bad } })).toThrow(new TypeError(`limits.maxSteps must be a positive integer, got ${String(bad)}`));
    }
    expect(() => new PlanManager({ limits: { maxTitleLength: '10' as never } })).toThrow('limits.maxTitleLength must be a positive integer, got 10');
  });
});

describe('wording of refusals', () => {
  it('a VALIDATION_ERROR message starts by naming the input that was refused (docs/tool.md)', async () => {
    const manager = new PlanManager();
    const lease = { id: 'i', instance_id: 'i', owner: 'w', token: 1, ttl_ms: 1, expires_at: 'x', created_at: 'x', updated_at: 'x', version: 1, extra: true };
    const cases: [string, () => Promise<unknown>][] = [
      ['Invalid createInstance input: ', () => manager.createInstance({ agent_type_id: '' })],
      ['Invalid instance id: ', () => manager.getInstance('')],
      ['Invalid instance id: ', () => manager.transitionInstance('', { status: 'running' })],
      ['Invalid transition input: ', () => manager.transitionInstance('i', { status: 'done' as never })],
      ['Invalid instance id: ', () => manager.recordTurn('', { tokens: 1 })],
      ['Invalid recordTurn input: ', () => manager.recordTurn('i', { tokens: -1 })],
      ['Invalid createPlan input: ', () => manager.createPlan({ instance_id: 'i', title: '', steps: [] })],
      ['Invalid plan id: ', () => manager.getPlan('')],
      ['Invalid updatePlan input: ', () => manager.updatePlan({ plan_id: '' })],
      ['Invalid executeStep input: ', () => manager.executeStep({ plan_id: 'p', step_id: 's', step_status: 'done' as never })],
      ['Invalid record id: ', () => manager.history('')],
      ['Invalid listInstances input: ', () => manager.listInstances({ limit: 0 })],
      ['Invalid listPlans input: ', () => manager.listPlans({ limit: 0 })],
      ['Invalid instance id: ', () => manager.setCurrentStep('', 'step')],
      ['Invalid current step: ', () => manager.setCurrentStep('i', ' ')],
      ['Invalid lease: ', () => manager.renewLease(lease as never, { ttl_ms: 1_000 })],
      ['Invalid lease: ', () => manager.releaseLease(lease as never)],
      ['Invalid lease: ', async () => manager.withLease(lease as never)],
    ];
    for (const [prefix, call] of cases) {
      const error = await call().then(
        () => expect.fail(`${prefix} expected a refusal`),
        (caught: unknown) => caught as InstancePlanError,
      );
      expect(error.code, prefix).toBe('VALIDATION_ERROR');
      expect(error.message.startsWith(prefix), `${error.message} starts with ${prefix}`).toBe(true);
    }
  });

  it('checkBatch says what each malformed part must be', () => {
    const write = createBatch(['plan', planRecord({ id: 'plan-1' })]).writes[0]!;
    const refusal = (batch: unknown) => {
      try {
        checkBatch(batch as never);
      } catch (error) {
        return (error as TypeError).message;
      }
      return expect.fail('expected a TypeError');
    };
    const record = (changes: object) => ({ writes: [{ ...write, record: { ...write.record, ...changes } }], events: [] });
    expect(refusal({ writes: [7], events: [] })).toBe('commit: writes[0] must be an object');
    expect(refusal({ writes: [{ ...write, record: null }], events: [] })).toBe('commit: writes[0].record must be an object');
    expect(refusal(record({ id: 1 }))).toBe('commit: writes[0].record.id must be a string');
    expect(refusal(record({ created_at: 1 }))).toBe('commit: writes[0].record.created_at must be a string');
    expect(refusal(record({ version: '1' }))).toBe('commit: writes[0].record.version must be an integer');
    expect(refusal({ writes: [], events: [], checks: 'x' })).toBe('commit: checks must be an array');
    expect(refusal({ writes: [], events: [], checks: [null] })).toBe('commit: checks[0] must be an object');
    expect(refusal({ writes: [], events: [], checks: [{ kind: 'step', id: 'x', expected_version: null }] })).toBe('commit: checks[0].kind must be "instance", "plan" or "lease", got "step"');
    expect(refusal({ writes: [], events: [], checks: [{ kind: 'plan', id: 'x', expected_version: 0.5 }] })).toBe('commit: checks[0].expected_version must be an integer or null');
  });

  it('a list query that is not an object is refused by checkListQuery, saying what it must be', async () => {
    await expect(memoryAdapter().list('plan', null as never)).rejects.toThrow(new TypeError('list: the query must be an object { where, limit, offset }'));
  });
});

describe('an action the state does not take', () => {
  it('names the instance, the action, its status and every status that takes it, quoted and comma-separated', async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    await manager.transitionInstance(instance.id, { status: 'completed' });
    const error = await manager.recordTurn(instance.id, { tokens: 1 }).then(
      () => expect.fail('expected a refusal'),
      (caught: unknown) => caught as InstancePlanError,
    );
    const takesTurns = instanceLogic.states.filter((state) => instanceLogic.resolve(state, { type: 'recordTurn' }));
    expect(takesTurns.length).toBeGreaterThan(1);
    expect(error.message).toContain(`on instance ${JSON.stringify(instance.id)} while it is "completed"; allowed while: ${takesTurns.map((s) => `"${s}"`).join(', ')}`);
  });
});
