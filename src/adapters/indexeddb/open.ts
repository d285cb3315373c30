import { wrap } from 'idb';
import { fault, storageFault } from './faults';
import type { IndexedDBFactory } from './platform';
import { COUNT_STORE, EVENT_STORE, RECORD_STORES, STORES, type Database, type Migration } from './schema';

// The raw IndexedDB objects met while opening, typed by the little used of them (see platform.ts).
interface RawDatabase {
  version: number;
  objectStoreNames: { contains(name: string): boolean };
  close(): void;
  addEventListener(type: 'versionchange' | 'close', listener: () => void): void;
}
interface RawOpenRequest {
  result: RawDatabase;
  transaction: { abort(): void } | null;
  error: unknown;
  addEventListener(type: 'upgradeneeded' | 'blocked', listener: (event: { oldVersion: number; newVersion: number | null }) => void): void;
  addEventListener(type: 'success' | 'error', listener: () => void): void;
}

export interface OpenOptions {
  factory: IndexedDBFactory;
  name: string;
  migrations: readonly Migration[];
  /**
   * Called when the connection closes without our asking: another connection wants to upgrade or
   * delete the database (we close so it can), or the browser closed it (site data cleared).
   */
  onClose(): void;
}

/**
 * Opens the database at the version the migrations lead to, running the missing ones in the
 * upgrade transaction. Never hangs on a blocked upgrade: it rejects with a `STORAGE_ERROR`
 * saying what blocks it (and closes the connection if it arrives later, as nobody holds it).
 */
export function openDatabase({ factory, name, migrations, onClose }: OpenOptions): Promise<Database> {
  const version = migrations.length;
  return new Promise<Database>((resolve, reject) => {
    let answered = false;
    const answer = (settle: () => void) => {
      if (answered) return;
      answered = true;
      settle();
    };
    let request: RawOpenRequest;
    try {
      request = factory.open(name, version) as RawOpenRequest;
    } catch (error) {
      reject(storageFault(`open of database ${JSON.stringify(name)}`, error));
      return;
    }
    let upgradeError: unknown;
    let foreign: { stored: number; missing: string[] } | undefined;

    // We open at `version`, so an upgrade always goes there.
    request.addEventListener('upgradeneeded', ({ oldVersion }) => {
      const db = wrap(request.result as never) as never;
      const transaction = wrap(request.transaction as never) as unknown as { done: Promise<void> };
      // idb gives every wrapped transaction a `done` promise; an aborted upgrade is reported
      // through the open request below, so this one is only silenced.
      transaction.done.catch(() => undefined);
      const fail = (error: unknown) => {
        // Aborting the upgrade fails the open request and leaves the stored version as it was.
        upgradeError = error;
        try {
          request.transaction!.abort();
        } catch {
          // already aborted (a failed request of the step aborts the upgrade by itself) or over
        }
      };
      // A database someone else made under our name is left exactly as it was: refused before
      // any step of ours adds a store to it (our version 1 always made these three).
      const missing = oldVersion > 0 ? missingStores(request.result, [...Object.values(RECORD_STORES), EVENT_STORE]) : [];
      if (missing.length > 0) {
        foreign = { stored: oldVersion, missing };
        request.transaction!.abort();
        return;
      }
      // Steps run in order; one that returns a promise (it reads rows) holds the next back until
      // it is done, so each step sees the database exactly as the previous one left it.
      const runFrom = (first: number): void | Promise<void> => {
        for (let step = first; step < version; step++) {
          const pending = migrations[step]!(db, transaction as never);
          if (pending) return pending.then(() => runFrom(step + 1));
        }
      };
      try {
        runFrom(oldVersion)?.catch(fail);
      } catch (error) {
        fail(error);
      }
    });

    request.addEventListener('blocked', ({ oldVersion }) => {
      answer(() =>
        reject(
          fault(
            'upgrade_blocked',
            `Cannot upgrade IndexedDB database ${JSON.stringify(name)} from version ${oldVersion} to ${version}: ` +
              'another connection to it is open and did not close when asked (an older copy of this code in another tab or ' +
              'worker, or code that is not instance-plan). Close or reload the other tabs and try again.',
            undefined,
            { database: name, stored_version: oldVersion, code_version: version },
          ),
        ),
      );
    });

    request.addEventListener('success', () => {
      const raw = request.result;
      if (answered) {
        // We already answered "blocked"; this late connection belongs to nobody.
        raw.close();
        return;
      }
      const missing = missingStores(raw, [...Object.values(STORES), EVENT_STORE, COUNT_STORE]);
      if (missing.length > 0) {
        raw.close();
        answer(() => reject(notOurs(name, raw.version, missing)));
        return;
      }
      // Someone wants to upgrade or delete the database: step aside at once (running
      // transactions still finish), or we would block them, as `blocked` above reports.
      raw.addEventListener('versionchange', () => {
        raw.close();
        onClose();
      });
      raw.addEventListener('close', onClose);
      answer(() => resolve(wrap(raw as never) as Database));
    });

    request.addEventListener('error', () => {
      const error = request.error as { name?: string } | null;
      if (foreign) {
        answer(() => reject(notOurs(name, foreign!.stored, foreign!.missing)));
      } else if (upgradeError !== undefined) {
        answer(() =>
          reject(
            fault(
              'upgrade_failed',
              `Upgrading IndexedDB database ${JSON.stringify(name)} to version ${version} failed, so it stays at its previous version: ${String(upgradeError)}`,
              upgradeError,
              { database: name, code_version: version },
            ),
          ),
        );
      } else if (error?.name === 'VersionError') {
        void storedVersion(factory, name).then((stored) => answer(() => reject(tooNew(name, stored, version, error))));
      } else {
        answer(() => reject(storageFault(`open of database ${JSON.stringify(name)}`, error)));
      }
    });
  });
}

const missingStores = (db: RawDatabase, stores: string[]) => stores.filter((store) => !db.objectStoreNames.contains(store));

function notOurs(name: string, stored: number, missing: string[]) {
  return fault(
    'not_an_instance_plan_database',
    `IndexedDB database ${JSON.stringify(name)} (version ${stored}) has no ${missing.join(', ')} store: ` +
      'it was not created by instance-plan, and it was left as it was. Give the adapter another `name`.',
    undefined,
    { database: name, stored_version: stored, missing_stores: missing },
  );
}

function tooNew(name: string, stored: number | undefined, version: number, cause: unknown) {
  return fault(
    'version_too_new',
    `IndexedDB database ${JSON.stringify(name)} is at schema version ${stored ?? '(unknown)'}, but this code knows versions up to ${version}: ` +
      'a newer version of the app has upgraded it. Update this code (reload the extension or page); it cannot read a newer schema.',
    cause,
    { database: name, stored_version: stored ?? null, code_version: version },
  );
}

/** The version a database is stored at: opening without a version opens it as it is. */
function storedVersion(factory: IndexedDBFactory, name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    try {
      const request = factory.open(name) as RawOpenRequest;
      request.addEventListener('success', () => {
        const version = request.result.version;
        request.result.close();
        resolve(version);
      });
      request.addEventListener('error', () => resolve(undefined));
    } catch {
      resolve(undefined);
    }
  });
}
