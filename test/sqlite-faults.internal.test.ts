// How the SQLite adapter reads a driver's error (src/adapters/sqlite/faults.ts, internal): the
// `reason` of every STORAGE_ERROR it throws, which says whether to retry (busy), to fix the
// file or folder (read_only, full, corrupt), or to migrate. The three drivers say it differently:
// better-sqlite3 and Bun name the code (`code: 'SQLITE_BUSY'`), node:sqlite numbers it (`errcode`,
// an extended code keeping its primary one in the low byte), and some faults only have a message.
import { describe, expect, it } from 'vitest';
import { InstancePlanError } from '../src/errors';
import { reasonOf, storageFault } from '../src/adapters/sqlite/faults';

describe('reasonOf', () => {
  it.each([
    [{ code: 'SQLITE_BUSY' }, 'busy'],
    [{ code: 'SQLITE_BUSY_SNAPSHOT' }, 'busy'],
    [{ code: 'SQLITE_LOCKED' }, 'busy'],
    [{ code: 'SQLITE_READONLY' }, 'read_only'],
    [{ code: 'SQLITE_READONLY_DIRECTORY' }, 'read_only'],
    [{ code: 'SQLITE_CANTOPEN' }, 'read_only'],
    [{ code: 'SQLITE_FULL' }, 'full'],
    [{ code: 'SQLITE_CORRUPT' }, 'corrupt'],
    [{ code: 'SQLITE_NOTADB' }, 'not_an_instance_plan_database'],
    // A named code that says nothing of these: the number or the message decides, else failed.
    [{ code: 'SQLITE_CONSTRAINT', errno: 5 }, 'busy'],
    [{ code: 'SQLITE_ERROR' }, 'failed'],
    [{ code: 'ERR_SQLITE_ERROR', errcode: 5 }, 'busy'],
    [{ code: 'ERR_SQLITE_ERROR', errcode: 517 }, 'busy'], // SQLITE_BUSY_SNAPSHOT: 5 | (2 << 8)
    [{ errcode: 6 }, 'busy'],
    [{ errcode: 8 }, 'read_only'],
    [{ errcode: 1032 }, 'read_only'], // SQLITE_READONLY_DBMOVED: 8 | (4 << 8)
    [{ errcode: 14 }, 'read_only'],
    [{ errcode: 13 }, 'full'],
    [{ errcode: 11 }, 'corrupt'],
    [{ errcode: 26 }, 'not_an_instance_plan_database'],
    [{ errno: 13 }, 'full'],
    // errcode first, errno when there is no errcode.
    [{ errcode: 13, errno: 5 }, 'full'],
    [{ errcode: 1 }, 'failed'],
    [{ errcode: '5' }, 'failed'],
    [{ errcode: 1, message: 'database is locked' }, 'busy'],
    [{ message: 'The database connection is not open' }, 'closed'],
    [{ message: 'Cannot use a closed database' }, 'closed'],
    [{ message: 'statement has been finalized' }, 'closed'],
    [{ message: 'database table is locked' }, 'busy'],
    [{ message: 'attempt to write a readonly database' }, 'read_only'],
    [{ message: 'unable to open database file' }, 'read_only'],
    [{ message: 'database or disk is full' }, 'full'],
    [{ message: 'database disk image is malformed' }, 'corrupt'],
    [{ message: 'file is not a database' }, 'not_an_instance_plan_database'],
    [{ message: 'no such table: ip_plans' }, 'failed'],
    [{ message: 42 }, 'failed'],
    [{}, 'failed'],
    [null, 'failed'],
    [undefined, 'failed'],
    ['SQLITE_BUSY', 'failed'],
  ])('%j is %s', (error, reason) => {
    expect(reasonOf(error)).toBe(reason);
  });
});

describe('storageFault', () => {
  it("is STORAGE_ERROR with the reason and the adapter's words for it, the driver's error kept as the cause", () => {
    const driver = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const error = storageFault('commit', driver) as InstancePlanError;
    expect(error).toBeInstanceOf(InstancePlanError);
    expect([error.code, error.details.reason, error.message, error.cause]).toEqual([
      'STORAGE_ERROR',
      'busy',
      'SQLite commit failed: the database stayed locked by another connection past the busy timeout and the retries. Nothing was written; retry later.',
      driver,
    ]);
    expect((storageFault('get', new Error('boom')) as InstancePlanError).message).toBe('SQLite get failed: SQLite reported an error.');
  });

  it("passes the library's own errors through as they are", () => {
    const own = new InstancePlanError('CONFLICT', 'changed meanwhile', {});
    expect(storageFault('commit', own)).toBe(own);
    expect((storageFault('commit', null) as InstancePlanError).details.reason).toBe('failed');
  });
});
