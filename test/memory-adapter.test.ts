// The memory adapter (memoryAdapter): what its CONFLICT says, a batch that writes one record
// twice, and the records it keeps and hands out: frozen ones as they are, others as frozen
// copies (never shared with the caller's own objects, nothing inherited). The
// conformance suite (test/conformance.memory.test.ts) covers the rest of its contract.
import { describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter } from '../src';
import { deepFreeze } from '../src/adapters/freeze';
import { createBatch, planRecord, stepRecord, updateOf } from '../src/testing/conformance/fixtures';


describe('the memory adapter\'s CONFLICT says which version was expected and which was found, "none" for a record that does not exist', () => {
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


describe('the memory adapter refuses a malformed batch', () => {
  it('refuses a batch that writes one record twice, naming it, and stores nothing', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1' });
    const twice = { writes: [...createBatch(['plan', plan]).writes, ...createBatch(['plan', plan]).writes], events: [] };
    await expect(adapter.commit(twice)).rejects.toThrow(/plan "plan-1" twice/);
    expect(await adapter.get('plan', 'plan-1')).toBeUndefined();
  });
});


describe('the memory adapter\'s records: kept frozen, handed out as they are', () => {
  it('a frozen record and event given to commit are kept and handed back as the very same objects', async () => {
    const adapter = memoryAdapter();
    const plan = deepFreeze(planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details: { a: { b: 1 } } })] }));
    const batch = createBatch(['plan', plan]);
    deepFreeze(batch.events);
    await adapter.commit(batch);
    expect(await adapter.get('plan', 'plan-1')).toBe(plan);
    expect((await adapter.list('plan', { where: {}, limit: 1, offset: 0 })).records[0]).toBe(plan);
    expect((await adapter.history('plan-1'))[0]).toBe(batch.events[0]);
  });

  it('a record that is not frozen is kept as a frozen copy: the caller\'s object stays the caller\'s, and mutable', async () => {
    const adapter = memoryAdapter();
    const plan = planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details: { a: { b: 1 } } })] });
    await adapter.commit(createBatch(['plan', plan]));
    const got = (await adapter.get('plan', 'plan-1'))!;
    expect(got).not.toBe(plan);
    expect(got).toEqual(plan);
    expect(Object.isFrozen(got.steps[0]!.details.a)).toBe(true);
    expect(Object.isFrozen(plan)).toBe(false);
    plan.title = 'changed by the caller';
    expect((await adapter.get('plan', 'plan-1'))!.title).toBe('Write the report');
  });

  it('history is handed out as a frozen list: the store\'s own list cannot be emptied through it', async () => {
    const adapter = memoryAdapter();
    await adapter.commit(createBatch(['plan', planRecord({ id: 'plan-1' })]));
    const events = await adapter.history('plan-1');
    expect(Object.isFrozen(events)).toBe(true);
    expect(() => events.pop()).toThrow(TypeError);
    expect(await adapter.history('plan-1')).toHaveLength(1);
  });

  it('a record with an object under "__proto__" is stored and handed out as data, never shared with the caller', async () => {
    const adapter = memoryAdapter();
    const details = JSON.parse('{"__proto__": {"inner": {"n": 1}}, "list": [{"n": 2}]}');
    const plan = planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details })] });
    await adapter.commit(createBatch(['plan', plan]));
    details['__proto__'].inner.n = 99; // an own data property: this changes the caller's object only
    const got = (await adapter.get('plan', 'plan-1'))!.steps[0]!.details as Record<string, { inner: { n: number } }>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ inner: { n: 1 } });
    expect(() => {
      got['__proto__']!.inner.n = 7;
    }).toThrow(TypeError);
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
