// npx instance-plan: the stores of instance-plan on the command line. Exit codes: 0 done,
// 1 the store refused or failed (the message says why), 2 the command was not understood.
import { createInterface } from 'node:readline';
import { InstancePlanError } from '../errors';
import { copyStore } from '../stores/copy';
import { dumpStore, loadDump } from '../stores/dump';
import { copyProgress } from './progress';
import { serveInspector } from './inspect';
import { openStore, UsageError, type OpenStore } from './stores';

export const USAGE = `Usage: instance-plan <command> [arguments]

Commands:
  inspect <store> [--port N]
                         serve the inspector over the store on 127.0.0.1 (default port 4477),
                         with a fresh key for this run; Ctrl-C stops it
  migrate <store>        create or upgrade the store's tables
  copy <from> <to>       copy every record, its history and its lease (run again to resume)
  export <store>         write the store as JSON lines to standard output
  import <store>         read JSON lines (an export) from standard input into the store
  help                   show this

A store is sqlite:<file> (sqlite:./plans.db; better-sqlite3, or node:sqlite on Node 22.5+)
or a PostgreSQL URL (postgres://user@host:5432/database?schema=instance_plan; needs pg).

Options: -h, --help   show this;   -v, --version   show the version.
Exit codes: 0 done, 1 the store refused or failed, 2 the command was not understood.`;

export interface Io {
  stdin: AsyncIterable<string | Uint8Array> & { isTTY?: boolean };
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  version: string;
}

/** Runs one command; answers the exit code. */
export async function run(args: string[], io: Io): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '-h' || command === '--help') {
    (command === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    io.stdout.write(`${io.version}\n`);
    return 0;
  }
  const opened: OpenStore[] = [];
  const open = async (url: string | undefined, what: string, options: { create?: boolean; listen?: boolean } = {}) => {
    if (url === undefined) throw new UsageError(`${command} needs ${what}`);
    const store = await openStore(url, options);
    opened.push(store);
    return store;
  };
  const arity = { inspect: 3, migrate: 1, copy: 2, export: 1, import: 1 } as Record<string, number>;
  try {
    if (!(command in arity)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    if (rest.length > arity[command]!) throw new UsageError(`${command} takes ${arity[command]} argument${arity[command] === 1 ? '' : 's'}, got ${rest.length}: ${rest.join(' ')}`);
    switch (command) {
      case 'inspect': {
        const [url, flag, portText] = rest;
        if (flag !== undefined && flag !== '--port') throw new UsageError(`inspect takes a store and --port N, got ${flag}`);
        const port = portText === undefined ? 4477 : Number(portText);
        if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0 to 65535), got ${String(portText)}`);
        const store = await open(url, 'a store (sqlite:<file> or postgres://...)', { listen: true });
        const served = await serveInspector(store, port);
        io.stdout.write(`inspecting ${store.name} at ${served.url}/inspector\nkey: ${served.key}\n`);
        await served.closed;
        return 0;
      }
      case 'migrate': {
        const store = await open(rest[0], 'a store (sqlite:<file> or postgres://...)', { create: true });
        io.stdout.write(`${await store.migrate()}\n`);
        return 0;
      }
      case 'copy': {
        const from = await open(rest[0], 'the store to copy from, and the one to copy to');
        const to = await open(rest[1], 'the store to copy to', { create: true });
        await to.migrate();
        const progress = copyProgress(io.stderr);
        const report = await copyStore(from.adapter, to.adapter, { onProgress: progress.onProgress });
        progress.done();
        const line = (name: string, { written, updated, skipped }: { written: number; updated: number; skipped: number }) => `${name} ${written} written, ${updated} updated, ${skipped} already there`;
        io.stdout.write(`copied ${from.name} to ${to.name}: ${line('instances', report.instances)}; ${line('plans', report.plans)}; ${line('leases', report.leases)}; ${report.events} events\n`);
        return 0;
      }
      case 'export': {
        const store = await open(rest[0], 'a store');
        for await (const line of dumpStore(store.adapter)) io.stdout.write(`${line}\n`);
        return 0;
      }
      case 'import': {
        const store = await open(rest[0], 'a store', { create: true });
        await store.migrate();
        if (io.stdin.isTTY) throw new UsageError('import reads an export from standard input: instance-plan import <store> < plans.jsonl');
        const lines = createInterface({ input: io.stdin as never, crlfDelay: Infinity });
        await loadDump(lines, store.adapter);
        io.stdout.write(`imported into ${store.name}\n`);
        return 0;
      }
    }
    return 2;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`instance-plan: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    // The library's refusals say what was wrong and what to do; anything else, its message.
    const message = InstancePlanError.is(error) ? error.message : error instanceof Error ? error.message : String(error);
    io.stderr.write(`instance-plan ${command}: ${message}\n`);
    return 1;
  } finally {
    for (const store of opened) await store.close().catch(() => undefined);
  }
}
