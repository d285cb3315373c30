import type { JsonObject } from '../../schemas/records';
import type { Entry } from './fixtures';
import { check, checkEqual } from './assert';
import { createBatch, instanceRecord, planRecord, stepRecord, updateOf } from './fixtures';
import type { Harness } from './harness';

/** Names that turn a store keyed by plain object properties into a prototype bug. */
export const AWKWARD_IDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'length', '0', ' '];

/** Object.prototype must look exactly as it did: a store must not write through a "__proto__" key. */
function checkPrototypeClean(what: string) {
  const probe = {} as Record<string, unknown>;
  for (const key of ['id', 'version', 'status', 'record', 'title', 'steps']) {
    check(!(key in probe), `${what}: Object.prototype gained "${key}" (a store wrote through a "__proto__" key)`);
  }
}

export function awkwardIds(h: Harness): void {
  h.describe('awkward ids', () => {
    for (const kind of ['instance', 'plan'] as const) {
      h.it(`${kind}s with ids like "__proto__" and "constructor" are stored, listed, updated and kept apart`, async ({ adapter }) => {
        const records = AWKWARD_IDS.map((id, i) =>
          kind === 'instance'
            ? instanceRecord({ id, organization_id: id, created_at: `2025-03-01T09:${String(i).padStart(2, '0')}:00.000Z` })
            : planRecord({ id, instance_id: id, steps: [stepRecord({ id })], created_at: `2025-03-01T09:${String(i).padStart(2, '0')}:00.000Z` }),
        );
        await adapter.commit(createBatch(...records.map((record) => [kind, record] as Entry)));
        for (const record of records) {
          checkEqual(await adapter.get(kind, record.id), record, `get(${kind}, ${JSON.stringify(record.id)})`);
          checkEqual((await adapter.history(record.id)).map((event) => event.record_id), [record.id], `history(${JSON.stringify(record.id)})`);
          const field = kind === 'instance' ? 'organization_id' : 'instance_id';
          checkEqual(await adapter.list(kind, { where: { [field]: record.id }, limit: 10, offset: 0 }), { records: [record], total: 1 }, `list by ${field} ${JSON.stringify(record.id)}`);
        }
        checkEqual((await adapter.list(kind, { where: {}, limit: 100, offset: 0 })).total, records.length, 'all are listed');
        const next = updateOf(kind, records[0]!);
        await adapter.commit(next.batch);
        checkEqual(await adapter.get(kind, '__proto__'), next.record, 'the "__proto__" record after an update');
        checkEqual(await adapter.get(kind, 'constructor'), records[1], 'its neighbour "constructor", untouched');
        checkPrototypeClean(`${kind} ids`);
      });
    }

    h.it('a "__proto__" key inside a record is data, kept as an own key', async ({ adapter }) => {
      const details = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "normal": 1}') as JsonObject;
      const plan = planRecord({ id: 'plan-1', steps: [stepRecord({ id: 'step-1', details })] });
      await adapter.commit(createBatch(['plan', plan]));
      const stored = (await adapter.get('plan', 'plan-1'))!;
      const got = stored.steps[0]!.details;
      check(Object.hasOwn(got, '__proto__'), 'the "__proto__" key must come back as an own key');
      check(Object.getPrototypeOf(got) === Object.prototype, 'the details object must keep the ordinary prototype');
      checkEqual(got, details, 'the details');
      checkEqual(await adapter.history('plan-1'), createBatch(['plan', plan]).events, 'the creation event, "__proto__" key included');
      checkPrototypeClean('a "__proto__" key in details');
      check(!('polluted' in ({} as object)), 'Object.prototype must not be polluted');
    });
  });
}
