// Listing instances and plans: every filter alone and together, the default page of 20, newest
// first, and only the filters that apply handed to the adapter.
import { describe, expect, it } from 'vitest';
import { listSpy, managerOn, runningInstance } from './support/manager-doubles';


describe('listing instances and plans: filters, a default limit of 20, newest first', () => {
  it('filters by status, agent_type_id and task_id, together or alone, and pages 20 by default', async () => {
    const manager = managerOn();
    const made: { id: string; agent: string; task: string | null; running: boolean }[] = [];
    for (let i = 0; i < 25; i++) {
      const agent = i % 2 === 0 ? 'researcher' : 'writer';
      const task = i % 3 === 0 ? 'task-a' : null;
      const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: agent, task_id: task });
      const running = i % 5 === 0;
      if (running) await manager.transitionInstance(instance.id, { status: 'running' });
      made.push({ id: instance.id, agent, task, running });
    }
    const newestFirst = [...made].reverse();
    const ids = (list: { instances: { id: string }[] }) => list.instances.map((instance) => instance.id);

    const all = await manager.listInstances();
    expect(all.total).toBe(25);
    expect(ids(all)).toEqual(newestFirst.slice(0, 20).map((m) => m.id));

    const running = await manager.listInstances({ status: 'running' });
    expect(ids(running)).toEqual(newestFirst.filter((m) => m.running).map((m) => m.id));
    const writers = await manager.listInstances({ agent_type_id: 'writer', limit: 100 });
    expect(ids(writers)).toEqual(newestFirst.filter((m) => m.agent === 'writer').map((m) => m.id));
    const taskA = await manager.listInstances({ task_id: 'task-a' });
    expect(ids(taskA)).toEqual(newestFirst.filter((m) => m.task === 'task-a').map((m) => m.id));
    const both = await manager.listInstances({ agent_type_id: 'researcher', task_id: 'task-a', status: 'running' });
    expect(ids(both)).toEqual(newestFirst.filter((m) => m.agent === 'researcher' && m.task === 'task-a' && m.running).map((m) => m.id));
    expect(both.total).toBe(both.instances.length);
  });

  it('hands the adapter only the filters that apply: never a key whose value is undefined (ListQuery.where)', async () => {
    const { adapter, queries } = listSpy();
    const manager = managerOn(adapter);
    const scoped = managerOn(adapter, { scope: { organization_id: 'org-1' } });
    const noUndefinedKey = () => {
      for (const query of queries) {
        for (const [field, value] of Object.entries(query.where)) expect(value, `${query.kind} filter ${field}`).not.toBeUndefined();
      }
    };
    const asked = async (kind: string, call: () => Promise<unknown>, where: Record<string, string>) => {
      const before = queries.length;
      await call();
      const sent = queries.slice(before).filter((query) => query.kind === kind);
      expect(sent.length, `a ${kind} list query`).toBeGreaterThan(0);
      for (const query of sent) expect(query.where).toMatchObject(where);
      noUndefinedKey();
    };
    await asked('instance', () => manager.listInstances(), {});
    await asked('instance', () => manager.listInstances({ status: 'running' }), { status: 'running' });
    await asked('plan', () => manager.listPlans(), {});
    await asked('plan', () => manager.listPlans({ agent_id: 'agent-1', limit: 5, offset: 2 }), { agent_id: 'agent-1' });
    await asked('instance', () => scoped.listInstances({ task_id: 'task-1' }), { task_id: 'task-1', organization_id: 'org-1' });
  });

  it('an unscoped manager filters plans by site_id and user_id like any other field', async () => {
    const manager = managerOn();
    const instance = await runningInstance(manager);
    const a = await manager.createPlan({ instance_id: instance.id, title: 'A', steps: [], site_id: 'site-1', user_id: 'user-1' });
    const b = await manager.createPlan({ instance_id: instance.id, title: 'B', steps: [], site_id: 'site-2', user_id: 'user-1' });
    expect((await manager.listPlans({ site_id: 'site-1' })).plans.map((plan) => plan.id)).toEqual([a.id]);
    expect((await manager.listPlans({ user_id: 'user-1' })).plans.map((plan) => plan.id)).toEqual([b.id, a.id]);
    expect((await manager.listPlans({ site_id: 'site-2', user_id: 'user-1' })).plans.map((plan) => plan.id)).toEqual([b.id]);
  });
});
