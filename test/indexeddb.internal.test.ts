// The IndexedDB adapter's internals over fake-indexeddb: how storageFault (src/adapters/indexeddb/
// faults.ts) classifies and explains a fault, and what opening a database does against migrations
// this release does not ship (createAdapter with a list of migrations longer or broken): a newer
// database, an upgrade blocked by an open connection, a migration that throws.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { InstancePlanError } from '../src';
import { indexedDBAdapter } from '../src/adapters/indexeddb';
import { createAdapter } from '../src/adapters/indexeddb/adapter';
import { storageFault as rawStorageFault } from '../src/adapters/indexeddb/faults';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from '../src/adapters/indexeddb/schema';
import { expectFault } from './support/idb-behaviour';
import { expectNamed, withDatabase } from './support/idb-harness';

/** storageFault returns what it is given when that is already one of our errors: typed here as ours. */
const storageFault = (...args: Parameters<typeof rawStorageFault>) => rawStorageFault(...args) as InstancePlanError;


describe('faults: classified in details.reason and explained, the telling cause attached', () => {
  const named = (name: string, message = `${name} happened`) => new DOMException(message, name);

  it.each([
    // the cause: 0 the transaction's error, 1 the error, 2 the error's own cause
    ['a QuotaExceededError on the transaction', named('AbortError'), named('QuotaExceededError'), 'quota_exceeded', 0],
    ['a QuotaExceededError thrown', named('QuotaExceededError'), undefined, 'quota_exceeded', 1],
    ['a QuotaExceededError as the cause', Object.assign(new Error('wrapped'), { cause: named('QuotaExceededError') }), undefined, 'quota_exceeded', 2],
    ['an InvalidStateError', named('InvalidStateError'), undefined, 'closed', 1],
    ['an AbortError', named('AbortError'), undefined, 'aborted', 1],
    ['a TransactionInactiveError', named('TransactionInactiveError'), undefined, 'aborted', 1],
    ['an error of a request the transaction aborted for', named('ConstraintError'), named('AbortError'), 'aborted', 1],
    ['any other error', named('DataError'), undefined, 'failed', 1],
  ] as const)('%s', (_, error, transactionError, reason, causeIndex) => {
    const fault = storageFault('commit', error, transactionError);
    expect(InstancePlanError.is(fault, 'STORAGE_ERROR')).toBe(true);
    expect(fault.details).toEqual({ reason });
    expect(fault.cause).toBe([transactionError, error, (error as { cause?: unknown }).cause][causeIndex]);
    expect(fault.message).toMatch(new RegExp(`^IndexedDB commit failed: `));
  });

  it('says what the cause was: its name and message, its name alone, or the value', () => {
    expect(storageFault('get', named('DataError', 'bad key')).message).toMatch(/ \(DataError: bad key\)$/);
    expect(storageFault('get', named('DataError', '')).message).toMatch(/ \(DataError\)$/);
    expect(storageFault('get', 'a thrown string').message).toMatch(/ \(a thrown string\)$/);
    expect(storageFault('get', 42).message).toMatch(/ \(42\)$/);
    for (const nothing of [null, undefined]) {
      const fault = storageFault('get', nothing);
      expect(fault.details).toEqual({ reason: 'failed' });
      expect(fault.message).toMatch(/ \(no error given\)$/);
    }
  });

  it('passes errors of ours through untouched', () => {
    const conflict = new InstancePlanError('CONFLICT', 'changed');
    expect(storageFault('commit', conflict, named('AbortError'))).toBe(conflict);
  });
});

describe('opening a database against migrations this release does not ship', () => {
  it('a newer database: the message names the database and both versions', async () => {
    // test/support/idb-behaviour.ts checks the details; this checks the message a person reads.
    await withDatabase('newer', async (name) => {
      const addIndex: Migration = (_db, transaction) => {
        (transaction.objectStore('plans') as unknown as IDBObjectStore).createIndex('by_title', 'record.title');
      };
      const newer = createAdapter({ name }, [...MIGRATIONS, addIndex]);
      await newer.get('plan', 'plan-1');
      await newer.close();
      const older = indexedDBAdapter({ name });
      const error = await expectFault(older.get('plan', 'plan-1'), 'version_too_new');
      expectNamed(error.message, name, [SCHEMA_VERSION + 1, SCHEMA_VERSION]);
      await older.close();
    });
  });

  it('a connection that arrives after "upgrade_blocked" was answered is closed, not left open', async () => {
    await withDatabase('late', async (name) => {
      const first = indexedDBAdapter({ name });
      await first.get('plan', 'plan-1');
      await first.close();
      const stubborn = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const requests: { version: number | undefined; request: IDBOpenDBRequest }[] = [];
      const factory = {
        open: (dbName: string, version?: number) => {
          const request = indexedDB.open(dbName, version);
          requests.push({ version, request });
          return request;
        },
        cmp: (a: unknown, b: unknown) => indexedDB.cmp(a, b),
      };
      const addIndex: Migration = (_db, transaction) => {
        (transaction.objectStore('plans') as unknown as IDBObjectStore).createIndex('by_title', 'record.title');
      };
      const newer = createAdapter({ name, indexedDB: factory }, [...MIGRATIONS, addIndex]);
      const error = await expectFault(newer.get('plan', 'plan-1'), 'upgrade_blocked');
      expectNamed(error.message, name, [SCHEMA_VERSION, SCHEMA_VERSION + 1]);
      stubborn.close();
      // the blocked upgrade: the open request that asked for the new version
      const late = requests.find((entry) => entry.version === SCHEMA_VERSION + 1)!.request;
      await expect.poll(() => late.readyState, { timeout: 5_000 }).toBe('done');
      expect(() => late.result.transaction('plans')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
      expect(await newer.get('plan', 'plan-1')).toBeUndefined();
      await newer.close();
    });
  });

  it('a failing migration names the database and the version it aimed at', async () => {
    await withDatabase('migration', async (name) => {
      const broken: Migration = () => {
        throw new Error('bad migration');
      };
      const adapter = createAdapter({ name }, [...MIGRATIONS, broken]);
      const error = await expectFault(adapter.get('plan', 'plan-1'), 'upgrade_failed');
      expect(error.details).toEqual({ reason: 'upgrade_failed', database: name, code_version: SCHEMA_VERSION + 1 });
      await adapter.close();
    });
  });
});
