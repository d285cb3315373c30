import { describe, expect, it } from 'vitest';
import { memoryAdapter, PlanManager, type CommittedChange } from 'instance-plan';
import { adapterConformance } from 'instance-plan/testing';

adapterConformance({ name: 'memory adapter', create: () => memoryAdapter(), hidesOutOfScope: true, describe, it });

describe('memory adapter change feed between managers', () => {
  it('a manager hears the commits another manager makes on the same memory adapter, with ids and versions', async () => {
    const adapter = memoryAdapter();
    const writer = new PlanManager({ adapter });
    const reader = new PlanManager({ adapter });
    const heard: CommittedChange[] = [];
    const stop = reader.subscribe((change) => heard.push(change));
    const instance = await writer.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    await writer.transitionInstance(instance.id, { status: 'running' });
    stop();
    await writer.transitionInstance(instance.id, { status: 'waiting' });
    expect(heard.map((change) => change.records)).toEqual([
      [{ kind: 'instance', id: instance.id, version: 1 }],
      [{ kind: 'instance', id: instance.id, version: 2 }],
    ]);
    expect(heard.map((change) => change.events.map((event) => event.type))).toEqual([['instance.created'], ['instance.transitioned']]);
  });
});
