// Change notifications: PlanManager.subscribe. A subscriber hears each committed change once, with
// the records and versions it wrote, whether or not the adapter has a change feed of its own;
// the manager holds the adapter's feed only while someone listens; a scoped subscriber hears only
// what it may see, and nothing when visibility cannot be read.
import { describe, expect, it } from 'vitest';
import { memoryAdapter, type CommittedChange, type StorageAdapter } from '../src';
import { faulty, feedless, managerOn } from './support/manager-doubles';


describe('change notifications', () => {
  it('without an adapter feed, a subscriber hears each of its manager\'s commits once, with the records and versions', async () => {
    const manager = managerOn(feedless());
    const heard: CommittedChange[] = [];
    const stop = manager.subscribe((change) => heard.push(change));
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    const running = await manager.transitionInstance(instance.id, { status: 'running' });
    expect(heard.map((change) => change.records)).toEqual([
      [{ kind: 'instance', id: instance.id, version: 1 }],
      [{ kind: 'instance', id: instance.id, version: 2 }],
    ]);
    expect(heard.map((change) => change.events.map((event) => [event.type, event.seq]))).toEqual([
      [['instance.created', 1]],
      [['instance.transitioned', 2]],
    ]);
    expect(heard[1]!.events[0]).toEqual((await manager.history(instance.id))[1]);
    stop();
    await manager.recordTurn(running.id, { tokens: 5 });
    expect(heard).toHaveLength(2);
    // subscribing again works as the first time
    const again: CommittedChange[] = [];
    manager.subscribe((change) => again.push(change))();
    const later = manager.subscribe((change) => again.push(change));
    await manager.recordTurn(running.id, { tokens: 1 });
    later();
    expect(again.map((change) => change.records)).toEqual([[{ kind: 'instance', id: instance.id, version: 4 }]]);
  });

  it('with an adapter feed, every listener hears each change once, and the others keep hearing when one leaves', async () => {
    const store = memoryAdapter();
    const writer = managerOn(store);
    const reader = managerOn(store);
    const first: string[] = [];
    const second: string[] = [];
    const witness: string[] = [];
    const stopFirst = reader.subscribe((change) => first.push(...change.events.map((event) => event.type)));
    const stopSecond = reader.subscribe((change) => second.push(...change.events.map((event) => event.type)));
    reader.subscribe((change) => witness.push(...change.events.map((event) => event.type)));
    const instance = await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await expect.poll(() => first).toEqual(['instance.created']);
    await expect.poll(() => second).toEqual(['instance.created']);
    stopFirst();
    await writer.transitionInstance(instance.id, { status: 'running' });
    await expect.poll(() => second).toEqual(['instance.created', 'instance.transitioned']);
    expect(first).toEqual(['instance.created']);
    stopSecond();
    await writer.transitionInstance(instance.id, { status: 'waiting' });
    // the listener still subscribed has heard the change: one that left hears it no more
    await expect.poll(() => witness).toHaveLength(3);
    expect(second).toHaveLength(2);
  });

  it('when its last listener leaves, the manager lets go of the adapter feed, and takes it again for a new one', async () => {
    const store = memoryAdapter();
    let active = 0;
    const watched: StorageAdapter = {
      ...store,
      subscribe(listener) {
        active++;
        const stop = store.subscribe!(listener);
        let stopped = false;
        return () => {
          if (!stopped) active--;
          stopped = true;
          stop();
        };
      },
    };
    const manager = managerOn(watched);
    const stopA = manager.subscribe(() => {});
    const stopB = manager.subscribe(() => {});
    expect(active).toBeGreaterThan(0);
    stopA();
    expect(active).toBeGreaterThan(0);
    stopB();
    expect(active).toBe(0);
    const heard: string[] = [];
    const stopC = manager.subscribe((change) => heard.push(change.records[0]!.id));
    expect(active).toBeGreaterThan(0);
    const instance = await managerOn(store).createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await expect.poll(() => heard).toEqual([instance.id]);
    stopC();
    expect(active).toBe(0);
  });

  it('a scoped subscriber hears nothing whose visibility cannot be read (fail closed), and hears again once the store answers', async () => {
    const store = memoryAdapter();
    const { adapter, failures, fail, heal } = faulty(store, new Error('disk on fire'));
    const scoped = managerOn(adapter, { scope: { organization_id: 'org-1' } });
    const writer = managerOn(store);
    const heard: string[] = [];
    scoped.subscribe((change) => heard.push(...change.records.map((record) => record.id)));
    fail('get:instance');
    await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    // the scoped manager has tried to read the instance, and failed
    await expect.poll(() => failures).toContain('get:instance');
    heal();
    const visible = await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    // changes are delivered in order (docs/semantics.md): the first was decided before this one
    await expect.poll(() => heard).toEqual([visible.id]);
  });
});
