// The SQLite adapter's conformance suite on a runtime's own driver, against the built package:
// shared by the Node 22 (node:sqlite) and Bun (bun:sqlite) runs of .ci/runtimes, each
// of which passes its runner's describe/it and a way to open a database file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, sqliteAdapter } from '../../dist/adapters/sqlite.js';
import { adapterConformance } from '../../dist/testing/index.js';

/** Closing twice is closing once (node:sqlite throws on a second close; the suite closes, then disposes). */
const closer = (database) => {
  let closed = false;
  return () => {
    if (!closed) database.close();
    closed = true;
  };
};

export function sqliteConformance({ name, driver, open, describe, it, after }) {
  const folder = mkdtempSync(join(tmpdir(), `instance-plan-${driver.replace(':', '-')}-`));
  after(() => rmSync(folder, { recursive: true, force: true }));
  let files = 0;
  const fileOf = new WeakMap();
  adapterConformance({
    name,
    create() {
      const file = join(folder, `test-${++files}.db`);
      const database = open(file);
      migrate(database);
      const adapter = sqliteAdapter({ database });
      if (adapter.driver !== driver) throw new Error(`the adapter took ${driver} for ${adapter.driver}`);
      fileOf.set(adapter, file);
      return Object.assign(adapter, { close: closer(database) });
    },
    connect(adapter) {
      const database = open(fileOf.get(adapter));
      return Object.assign(sqliteAdapter({ database }), { close: closer(database) });
    },
    changeFeed: false,
    hidesOutOfScope: true,
    describe,
    it,
  });
}

/**
 * A handle closed after its statements were prepared (and so cached by the adapter) must answer
 * `closed` to every call: Bun's closed handle would otherwise keep answering through them.
 */
export function closedHandle({ driver, open, it, after }) {
  const folder = mkdtempSync(join(tmpdir(), `instance-plan-${driver.replace(':', '-')}-closed-`));
  after(() => rmSync(folder, { recursive: true, force: true }));
  it(`${driver}: a handle closed mid-run answers closed to every call`, async () => {
    const database = open(join(folder, 'closed.db'));
    migrate(database);
    const adapter = sqliteAdapter({ database });
    const plan = { id: 'plan-1', instance_id: 'instance-1', site_id: null, user_id: null, agent_id: null, title: 'T', description: null, plan_type: 'objective', ordering: 'strict', status: 'pending', steps: [], summary: null, created_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z', version: 1 };
    await adapter.commit({ writes: [{ kind: 'plan', record: plan, expected_version: null }], events: [] });
    await adapter.get('plan', 'plan-1');
    await adapter.list('plan', { where: {}, limit: 10, offset: 0 });
    await adapter.history('plan-1');
    database.close();
    const calls = {
      get: () => adapter.get('plan', 'plan-1'),
      list: () => adapter.list('plan', { where: {}, limit: 10, offset: 0 }),
      history: () => adapter.history('plan-1'),
      commit: () => adapter.commit({ writes: [{ kind: 'plan', record: { ...plan, id: 'plan-2' }, expected_version: null }], events: [] }),
    };
    for (const [name, call] of Object.entries(calls)) {
      const reason = await call().then(
        () => 'answered',
        (error) => error?.details?.reason,
      );
      if (reason !== 'closed') throw new Error(`${name} on a closed ${driver} handle: expected STORAGE_ERROR closed, got ${reason}`);
    }
  });
}
