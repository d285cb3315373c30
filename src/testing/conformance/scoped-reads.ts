import type { Scope, StorageAdapter } from '../../adapters/contract';
import { planInScopeWith, instanceInScope } from '../../adapters/in-scope';
import type { Instance, Plan } from '../../schemas/records';
import { check, checkEqual } from './assert';
import { createBatch, instanceRecord, leaseRecord, planRecord, type Entry } from './fixtures';
import type { Harness } from './harness';

/** Every scope over two organizations, one site and one user (each field named or not). */
const SCOPES: Scope[] = [];
for (const organization_id of [undefined, 'org-1', 'org-2']) {
  for (const site_id of [undefined, 'site-1']) {
    for (const user_id of [undefined, 'user-1']) {
      const scope: Scope = {};
      if (organization_id !== undefined) scope.organization_id = organization_id;
      if (site_id !== undefined) scope.site_id = site_id;
      if (user_id !== undefined) scope.user_id = user_id;
      SCOPES.push(scope);
    }
  }
}

/** Instances of two organizations, and plans of each, of neither (no instance stored), on every site and user or none. */
function world(): { instances: Instance[]; plans: Plan[] } {
  const instances = [instanceRecord({ id: 'instance-1', organization_id: 'org-1' }), instanceRecord({ id: 'instance-2', organization_id: 'org-2' })];
  const plans: Plan[] = [];
  for (const instance_id of ['instance-1', 'instance-2', 'instance-missing']) {
    for (const site_id of [null, 'site-1', 'site-2']) {
      for (const user_id of [null, 'user-1']) plans.push(planRecord({ id: `plan-${plans.length}`, instance_id, site_id, user_id }));
    }
  }
  return { instances, plans };
}

/**
 * Reads given a scope (`get(kind, id, scope)`, `getPlanWithInstance(id, scope)`): a record the
 * scope can see is always returned; one it cannot see is absent where the adapter filters in
 * the store (`hides`), and may come back otherwise (the manager checks it either way).
 */
export function scopedReads(h: Harness, hides: boolean): void {
  h.describe(`reads given a scope: what the scope sees always comes back${hides ? ', the rest is absent' : ''}`, () => {
    h.it('every record against every scope over two organizations, a site and a user', async ({ adapter }) => {
      const { instances, plans } = world();
      await adapter.commit(createBatch(...instances.map((instance): Entry => ['instance', instance]), ...plans.map((plan): Entry => ['plan', plan])));
      const byId = new Map(instances.map((instance) => [instance.id, instance]));
      for (const scope of SCOPES) {
        const where = `scope ${JSON.stringify(scope)}`;
        for (const instance of instances) {
          await expectScoped(await adapter.get('instance', instance.id, scope), instance, instanceInScope(scope, instance), hides, `instance ${instance.id}, ${where}`);
        }
        for (const plan of plans) {
          const visible = planInScopeWith(scope, plan, byId.get(plan.instance_id));
          await expectScoped(await adapter.get('plan', plan.id, scope), plan, visible, hides, `plan ${plan.id} (${plan.instance_id}, ${plan.site_id}, ${plan.user_id}), ${where}`);
          if (!adapter.getPlanWithInstance) continue;
          const both = await adapter.getPlanWithInstance(plan.id, scope);
          await expectScoped(both, { plan, instance: byId.get(plan.instance_id) }, visible, hides, `getPlanWithInstance ${plan.id}, ${where}`);
        }
        checkEqual(await adapter.get('instance', 'instance-unknown', scope), undefined, `an unknown instance, ${where}`);
        checkEqual(await adapter.get('plan', 'plan-unknown', scope), undefined, `an unknown plan, ${where}`);
      }
    });

    h.it('a lease is read whatever the scope (leases have none)', async ({ adapter }) => {
      const lease = leaseRecord({ id: 'instance-1' });
      await adapter.commit(createBatch(['instance', instanceRecord({ id: 'instance-1', organization_id: 'org-1' })]));
      await adapter.commit({ writes: [{ kind: 'lease', record: lease, expected_version: null }], events: [] });
      checkEqual(await adapter.get('lease', 'instance-1', { organization_id: 'org-2' }), lease, 'a lease read with another scope');
    });

    h.it('a scope naming a value no store can hold (U+0000, a lone surrogate) sees nothing, and is no fault', async ({ adapter }) => {
      await adapter.commit(createBatch(['instance', instanceRecord({ id: 'instance-1', organization_id: 'org-1' })], ['plan', planRecord({ id: 'plan-1' })]));
      for (const odd of ['org\u0000', 'org\ud800']) {
        const got = await adapter.get('instance', 'instance-1', { organization_id: odd });
        check(got === undefined || !hides, `instance-1 read with organization ${JSON.stringify(odd)}: expected nothing`);
        const plan = await adapter.get('plan', 'plan-1', { site_id: odd });
        check(plan === undefined || !hides, `plan-1 read with site ${JSON.stringify(odd)}: expected nothing`);
      }
    });
  });
}

async function expectScoped(got: unknown, stored: unknown, visible: boolean, hides: boolean, what: string): Promise<void> {
  if (visible) return checkEqual(got, stored, `${what}: in scope, so it must come back`);
  if (hides) return checkEqual(got, undefined, `${what}: out of scope, so it must be absent`);
  if (got !== undefined) checkEqual(got, stored, `${what}: out of scope, absent or as stored`);
}
