import type { StorageAdapter } from '../../adapters/contract';
import { memoryAdapter } from '../../adapters/memory';
import { PlanManager } from '../../manager/plan-manager';
import { canonicalJson } from '../../stores/canonical';
import { copyStore } from '../../stores/copy';
import { dumpStore } from '../../stores/dump';
import { checkEqual } from './assert';
import { T0 } from './fixtures';
import type { Harness } from './harness';

/** Everything a store holds, as its dump's lines (records newest first, each with its events and lease). */
async function contentOf(adapter: StorageAdapter): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of dumpStore(adapter)) lines.push(canonicalJson(JSON.parse(line)));
  return lines;
}

/** A store with instances, plans, a lease, and a history pruned by retention. */
async function filled(adapter: StorageAdapter): Promise<void> {
  let now = Date.parse(T0);
  const manager = new PlanManager({ adapter, retention: { events: 4 }, clock: () => new Date((now += 1_000)) });
  for (let i = 0; i < 3; i++) {
    const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: `agent-${i}` });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: `Plan ${i}`, ordering: 'free', steps: [{ title: 'One', type: 'process' }, { title: 'Two', type: 'tool_call', details: { tool: 'search' } }] });
    for (let n = 0; n < 3 + i * 4; n++) await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: n % 2 === 0 ? 'in_progress' : 'failed', ...(n % 2 === 1 && { step_output: `try ${n}` }) });
    if (i === 1) await manager.acquireLease(instance.id, { owner: 'worker-1', ttl_ms: 60_000 });
  }
}

export function copying(h: Harness): void {
  h.describe('copying between stores (copyStore)', () => {
    h.it('a store copied into this adapter and back out holds the same records, histories and leases', async ({ adapter }) => {
      const source = memoryAdapter();
      await filled(source);
      const into = await copyStore(source, adapter);
      checkEqual([into.instances.written, into.plans.written, into.leases.written], [3, 3, 1], 'records written into this adapter');
      checkEqual(await contentOf(adapter), await contentOf(source), 'this adapter after the copy, as a dump');
      const back = memoryAdapter();
      await copyStore(adapter, back);
      checkEqual(await contentOf(back), await contentOf(source), 'a copy out of this adapter, as a dump');
      const again = await copyStore(source, adapter);
      checkEqual([again.instances.skipped, again.plans.skipped, again.leases.skipped, again.events], [3, 3, 1, 0], 'a second copy: everything skipped');
    });
  });
}
